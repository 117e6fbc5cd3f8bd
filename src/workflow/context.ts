import { ExpressionError } from '../expressions/evaluator.js';
import type { EvaluationResult, ExpressionEvaluator } from '../expressions/evaluator.js';
import { evaluatePath, evaluatePaths } from '../expressions/fast-path.js';
import { toPlainJson } from '../expressions/plain-json.js';
import type { Mapping, StepPlan } from './plan.js';

/*
 * What a step's expressions see and make, shared by the engine (which decides), the worker (which maps
 * outputs) and the verifier (which replays): so "what would have happened" means exactly what did. Plain
 * paths are looked up in-process; every other expression goes to the evaluator, a sandbox.
 */

/** What an expression sees of one upstream step. */
export interface StepView {
  /** completed, skipped, … as the engine (or a receipt) records it. */
  status: string;
  output?: unknown;
}

export interface EvaluationContext {
  inputs: unknown;
  steps: Record<string, StepView>;
}

/** `{ inputs, steps: { <id>: { output, status } } }` restricted to the steps `reads` names. */
export function evaluationContext(
  inputs: unknown,
  reads: readonly string[],
  views: ReadonlyMap<string, StepView>,
): EvaluationContext {
  const steps: Record<string, StepView> = {};
  for (const id of reads) {
    const view = views.get(id);
    if (view) steps[id] = view;
  }
  return { inputs, steps };
}

/** An expression failed; `key` names the mapping or output it belongs to, when it has one. */
export class MappingError extends ExpressionError {
  constructor(
    readonly key: string | undefined,
    result: Extract<EvaluationResult, { ok: false }>,
  ) {
    super({ ...result.error, message: key === undefined ? result.error.message : `${key}: ${result.error.message}` });
  }
}

/** The step's `when` decided in-process (no condition, or a plain path), or undefined when it must be evaluated. */
export function conditionLocally(step: StepPlan, context: EvaluationContext): boolean | undefined {
  if (step.when === undefined) return true;
  const found = evaluatePath(step.when, context);
  return found.hit ? truthy(found.value) : undefined;
}

/** Whether the step's `when` holds (true without one). Throws MappingError when the condition fails. */
export async function evaluateCondition(
  step: StepPlan,
  context: EvaluationContext,
  evaluator: ExpressionEvaluator,
): Promise<boolean> {
  const local = conditionLocally(step, context);
  if (local !== undefined) return local;
  const [result] = await evaluator.evaluate([step.when!], context);
  if (!result!.ok) throw new MappingError(undefined, result!);
  return truthy(result!.value);
}

/** The step's input resolved in-process (no mappings, or only plain paths), or undefined when it must be evaluated. */
export function inputLocally(step: StepPlan, context: EvaluationContext): { input: unknown } | undefined {
  if (!step.inputMappings) return { input: defaultInput(step, context) };
  const values = evaluatePaths(
    step.inputMappings.map(([, source]) => source),
    context,
  );
  return values && { input: assemble(step.inputMappings, values) };
}

/**
 * A step's input: its input mappings evaluated over the context, or, when it has none, the workflow inputs
 * (no dependencies), its one dependency's output, or an object of its dependencies' outputs by id.
 * Throws MappingError naming the mapping that failed.
 */
export async function resolveInput(
  step: StepPlan,
  context: EvaluationContext,
  evaluator: ExpressionEvaluator,
): Promise<unknown> {
  const local = inputLocally(step, context);
  if (local) return local.input;
  return evaluateMappings(step.inputMappings!, context, evaluator);
}

/** An object of each mapping's value over the input (a mapping with no value is left out). */
export async function evaluateMappings(
  mappings: readonly Mapping[],
  input: unknown,
  evaluator: ExpressionEvaluator,
  timeoutMs?: number,
): Promise<Record<string, unknown>> {
  const local = evaluatePaths(
    mappings.map(([, source]) => source),
    input,
  );
  if (local) return assemble(mappings, local);
  const results = await evaluator.evaluate(
    mappings.map(([, source]) => source),
    input,
    timeoutMs === undefined ? {} : { timeoutMs },
  );
  const values = results.map((result, i) => {
    if (!result.ok) throw new MappingError(mappings[i]![0], result);
    return result.value;
  });
  return assemble(mappings, values);
}

function assemble(mappings: readonly Mapping[], values: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  mappings.forEach(([key], i) => {
    if (values[i] !== undefined) out[key] = values[i];
  });
  return out;
}

function defaultInput(step: StepPlan, context: EvaluationContext): unknown {
  if (step.deps.length === 0) return context.inputs;
  if (step.deps.length === 1) return context.steps[step.deps[0]!]?.output ?? null;
  return Object.fromEntries(step.deps.map((id) => [id, context.steps[id]?.output ?? null]));
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
export async function evaluateStepExpression(
  source: string,
  input: unknown,
  evaluator: ExpressionEvaluator,
  timeoutMs?: number,
): Promise<unknown> {
  const [result] = await evaluator.evaluate([source], input, timeoutMs === undefined ? {} : { timeoutMs });
  if (!result!.ok) throw new MappingError(undefined, result!);
  return result!.value ?? null;
}

/**
 * A step's output from an executor's raw result: the result as plain JSON, or, with output mappings, an
 * object of each mapping evaluated over it. Throws MappingError naming the mapping that failed.
 */
export async function applyOutputMappings(
  mappings: Record<string, string> | undefined,
  result: unknown,
  evaluator: ExpressionEvaluator,
  timeoutMs?: number,
): Promise<unknown> {
  const raw = toPlainJson(result) ?? null;
  if (!mappings) return raw;
  return evaluateMappings(Object.entries(mappings), raw, evaluator, timeoutMs);
}

/** The execution's result: its outputs mapping over every step's view, or the last step's output. */
export async function computeResult(
  outputs: readonly Mapping[] | undefined,
  lastStepId: string,
  inputs: unknown,
  views: ReadonlyMap<string, StepView>,
  evaluator: ExpressionEvaluator,
): Promise<unknown> {
  if (!outputs) return views.get(lastStepId)?.output ?? null;
  return evaluateMappings(outputs, { inputs, steps: Object.fromEntries(views) }, evaluator);
}
