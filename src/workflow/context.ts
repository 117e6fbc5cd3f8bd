import { describeError } from '../errors.js';
import { compileExpression, toPlainJson } from './expression.js';
import type { CompiledExpression } from './expression.js';
import type { StepPlan } from './plan.js';

/** What an expression sees of one upstream step. */
export interface StepView {
  /** completed, skipped, … as the engine (or a receipt) records it. */
  status: string;
  output?: unknown;
}

/** `{ inputs, steps: { <id>: { output, status } } }` restricted to the steps `reads` names. */
export function evaluationContext(
  inputs: unknown,
  reads: readonly string[],
  views: ReadonlyMap<string, StepView>,
): { inputs: unknown; steps: Record<string, StepView> } {
  const steps: Record<string, StepView> = {};
  for (const id of reads) {
    const view = views.get(id);
    if (view) steps[id] = view;
  }
  return { inputs, steps };
}

/**
 * A step's input: its input mappings evaluated over the context, or, when it has none, the workflow inputs
 * (no dependencies), its one dependency's output, or an object of its dependencies' outputs by id.
 */
export async function resolveInput(
  step: StepPlan,
  context: { inputs: unknown; steps: Record<string, StepView> },
): Promise<unknown> {
  if (step.inputMappings) {
    const input: Record<string, unknown> = {};
    for (const [key, expr] of step.inputMappings) {
      const value = toPlainJson(await expr.evaluate(context));
      if (value !== undefined) input[key] = value;
    }
    return input;
  }
  if (step.deps.length === 0) return context.inputs;
  if (step.deps.length === 1) return context.steps[step.deps[0]!]?.output ?? null;
  return Object.fromEntries(step.deps.map((id) => [id, context.steps[id]?.output ?? null]));
}

export async function evaluateCondition(expr: CompiledExpression, context: unknown): Promise<boolean> {
  return truthy(await expr.evaluate(context));
}

/** JSONata's $boolean: empty strings, 0, null, empty arrays and empty objects are false. */
export function truthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'function') return false;
  if (Array.isArray(value)) return value.some(truthy);
  return Object.keys(value).length > 0;
}

/** A data_processing step's raw result: its expression over its input, as plain JSON (no match = null). */
export async function evaluateStepExpression(source: string, input: unknown): Promise<unknown> {
  return toPlainJson(await compileExpression(source).evaluate(input)) ?? null;
}

/**
 * A step's output from an executor's raw result: the result as plain JSON, or, with output mappings, an
 * object of each mapping evaluated over it. Throws `{ key, cause }` when a mapping fails.
 */
export async function applyOutputMappings(mappings: Record<string, string> | undefined, result: unknown): Promise<unknown> {
  const raw = toPlainJson(result) ?? null;
  if (!mappings) return raw;
  const out: Record<string, unknown> = {};
  for (const [key, source] of Object.entries(mappings)) {
    let value: unknown;
    try {
      value = toPlainJson(await compileExpression(source).evaluate(raw));
    } catch (cause) {
      throw new OutputMappingError(key, cause);
    }
    if (value !== undefined) out[key] = value;
  }
  return out;
}

export class OutputMappingError extends Error {
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(`output mapping ${key} failed: ${describeError(cause)}`, { cause });
  }
}

/** Functions whose results change from one evaluation to the next: an expression using them cannot be re-run to check it. */
export function isDeterministic(source: string): boolean {
  return !/\$(now|millis|random)\s*\(/.test(source);
}
