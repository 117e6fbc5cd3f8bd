import type { z } from 'zod';
import { jsonDigest } from '../attest/digest.js';
import { analyzeExpression } from './expression.js';
import type { StepReferences } from './expression.js';
import { dagShape, findCycles } from './graph.js';
import { exceedsDepth } from './json-depth.js';
import { DEFAULTS, LIMITS } from './limits.js';
import { compileInputSchema } from './input-schema.js';
import type { Locator } from './parse.js';
import { describeValue, formatPath, valueAt } from './paths.js';
import { modelRequirementsSchema, retryPolicySchema, stepSchema, workflowSchema } from './schema.js';
import type { ParsedWorkflow } from './schema.js';
import { didYouMean } from './suggest.js';
import type { StepDefinition, ValidationIssue, WorkflowDefinition } from './types.js';

export interface WorkflowSummary {
  id: string;
  version: number;
  digest: string;
  steps: number;
  /** Longest dependency chain, in steps. */
  depth: number;
  /** Most steps on one level of the DAG: how wide it can run in parallel. */
  width: number;
}

export type ValidationResult =
  | {
      ok: true;
      definition: WorkflowDefinition;
      digest: string;
      summary: WorkflowSummary;
      warnings: ValidationIssue[];
    }
  | { ok: false; errors: ValidationIssue[]; warnings: ValidationIssue[] };

/**
 * Validates a definition as written (parsed YAML/JSON) and, when it is valid, returns its normalized form
 * and digest. Every problem is reported at once, each with its path and what to do; structural problems
 * in one part do not hide graph problems in another.
 */
export function validateWorkflow(raw: unknown, options: { locate?: Locator } = {}): ValidationResult {
  const errors: ValidationIssue[] = [];
  const warnings: ValidationIssue[] = [];
  const at = (path: readonly PropertyKey[], issue: Omit<ValidationIssue, 'path'>): ValidationIssue => {
    const where = options.locate?.(path.map((p) => (typeof p === 'number' ? p : String(p))));
    return { path: formatPath(path), ...issue, ...(where ? { line: where.line, column: where.column } : {}) };
  };
  // Everything below recurses over the definition: a JSON body nested deeper than any real one stops here.
  if (exceedsDepth(raw, LIMITS.maxDocumentDepth)) {
    return {
      ok: false,
      errors: [
        {
          path: '',
          code: 'too_deep',
          message: `the definition nests deeper than ${LIMITS.maxDocumentDepth} levels; flatten it`,
        },
      ],
      warnings,
    };
  }

  const parsed = workflowSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push(...fromZodIssue(issue, raw, at));
  }

  const graph = checkGraph(raw, at, errors, warnings);

  if (errors.length > 0 || !parsed.success) {
    return { ok: false, errors: sortIssues(errors), warnings: sortIssues(warnings) };
  }

  const definition = normalize(parsed.data, graph.deps);
  const digest = jsonDigest(definition);
  const ids = definition.steps.map((s) => s.id);
  const shape = dagShape(ids, graph.deps);
  budgetWarning(definition, at, warnings);
  return {
    ok: true,
    definition,
    digest,
    summary: {
      id: definition.id,
      version: definition.version,
      digest,
      steps: ids.length,
      depth: shape.depth,
      width: shape.width,
    },
    warnings: sortIssues(warnings),
  };
}

type At = (path: readonly PropertyKey[], issue: Omit<ValidationIssue, 'path'>) => ValidationIssue;

// ---------------------------------------------------------------------------------------------------------
// Structure (zod)

const KNOWN_KEYS: { match: (path: readonly PropertyKey[]) => boolean; keys: string[] }[] = [
  { match: (p) => p.length === 0, keys: Object.keys(workflowSchema.shape) },
  { match: (p) => p.length === 2 && p[0] === 'steps', keys: Object.keys(stepSchema.shape) },
  { match: (p) => p.at(-1) === 'retry_policy', keys: Object.keys(retryPolicySchema.shape) },
  { match: (p) => p.at(-1) === 'model_requirements', keys: Object.keys(modelRequirementsSchema.shape) },
];

function fromZodIssue(issue: z.core.$ZodIssue, raw: unknown, at: At): ValidationIssue[] {
  const path = issue.path;
  const defaultMessage = /^(Invalid input|Invalid option|Too (small|big)|Invalid string)/.test(issue.message);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = KNOWN_KEYS.find((k) => k.match(path))?.keys ?? [];
      return issue.keys.map((key) =>
        at([...path, key], {
          code: 'unknown_field',
          message: `unknown field "${key}"${didYouMean(key, known)}; remove it or fix its name`,
        }),
      );
    }
    case 'invalid_type': {
      const actual = valueAt(raw, path);
      if (actual === undefined) {
        const field = String(path.at(-1) ?? 'value');
        const hint = defaultMessage ? `add "${field}" (${issue.expected})` : issue.message;
        return [at(path, { code: 'missing_field', message: `required: ${hint}` })];
      }
      const expected = defaultMessage ? `must be ${article(issue.expected)}` : issue.message;
      return [at(path, { code: 'invalid_type', message: `${expected}, but is ${describeValue(actual)}` })];
    }
    case 'too_small':
    case 'too_big':
      return [at(path, { code: 'out_of_range', message: withValue(issue.message, valueAt(raw, path)) })];
    case 'invalid_value':
    case 'invalid_format': {
      const actual = valueAt(raw, path);
      // zod reports a missing enum field (step_type) as invalid_value; it is a missing field all the same.
      if (actual === undefined) {
        return [
          at(path, {
            code: 'missing_field',
            message: `required: add "${String(path.at(-1) ?? 'value')}"; ${issue.message}`,
          }),
        ];
      }
      return [at(path, { code: 'invalid_value', message: withValue(issue.message, actual) })];
    }
    default:
      return [at(path, { code: 'invalid_value', message: issue.message })];
  }
}

function withValue(message: string, value: unknown): string {
  return value === undefined || typeof value === 'object' ? message : `${message}, but is ${describeValue(value)}`;
}

function article(expected: string): string {
  const names: Record<string, string> = {
    object: 'an object',
    array: 'a list',
    record: 'an object',
    int: 'an integer',
    string: 'a string',
    number: 'a number',
    boolean: 'true or false',
  };
  return names[expected] ?? expected;
}

// ---------------------------------------------------------------------------------------------------------
// The graph: ids, references, expressions, cycles. Works on the raw document so that it still runs (and
// reports) when some other part of the definition is structurally wrong.

interface LooseStep {
  index: number;
  id: string | undefined;
  raw: Record<string, unknown>;
}

interface Edge {
  /** The path that created the edge, to point the author at it. */
  path: PropertyKey[];
  implied: boolean;
}

interface GraphResult {
  /** step id → its dependencies (explicit, from the dependencies map, and implied by mappings), sorted. */
  deps: Map<string, string[]>;
}

/**
 * What the graph's phases share: the raw document and its steps, where issues go, and (once the ids are
 * known) the edges found so far. Each phase adds its issues in the order the author reads the document.
 */
interface GraphCheck {
  doc: Record<string, unknown>;
  steps: LooseStep[];
  at: At;
  errors: ValidationIssue[];
  warnings: ValidationIssue[];
}

/** The step ids, each with the index of the step that first uses it, and the edges between them. */
interface StepGraph {
  firstIndex: Map<string, number>;
  known: Set<string>;
  edges: Map<string, Map<string, Edge>>;
  /** Checks a reference from `owner` to `target` (it must exist and not be the owner) and records its edge. */
  ref(owner: string | undefined, target: string, path: PropertyKey[], implied: boolean): void;
}

/** What the workflow's outputs read. */
interface OutputReads {
  steps: Set<string>;
  dynamic: boolean;
}

function checkGraph(raw: unknown, at: At, errors: ValidationIssue[], warnings: ValidationIssue[]): GraphResult {
  const doc = isRecord(raw) ? raw : {};
  const check: GraphCheck = { doc, steps: looseSteps(doc), at, errors, warnings };
  const graph = checkIds(check);
  checkExplicitDependencies(check, graph);
  checkStepExpressions(check, graph);
  const outputs = checkOutputs(check, graph);
  checkInputSchema(check);
  const deps = checkCycles(check, graph);
  warnUnusedSteps(check, deps, outputs);
  return { deps };
}

function looseSteps(doc: Record<string, unknown>): LooseStep[] {
  return Array.isArray(doc.steps)
    ? doc.steps.flatMap((s: unknown, index) =>
        isRecord(s) ? [{ index, id: typeof s.id === 'string' ? s.id : undefined, raw: s }] : [],
      )
    : [];
}

/** Ids are unique; a duplicate is reported where it is used again, and the first use is the step. */
function checkIds({ steps, at, errors }: GraphCheck): StepGraph {
  const firstIndex = new Map<string, number>();
  for (const step of steps) {
    if (step.id === undefined) continue;
    const first = firstIndex.get(step.id);
    if (first === undefined) firstIndex.set(step.id, step.index);
    else
      errors.push(
        at(['steps', step.index, 'id'], {
          code: 'duplicate_id',
          message: `duplicate step id "${step.id}" (first used by steps[${first}]); give each step a unique id`,
        }),
      );
  }
  const known = new Set(firstIndex.keys());
  const edges = new Map<string, Map<string, Edge>>([...known].map((id) => [id, new Map()]));
  const ref = (owner: string | undefined, target: string, path: PropertyKey[], implied: boolean) => {
    if (!known.has(target)) {
      const what = implied ? `reads steps.${target}, but there is no step "${target}"` : `unknown step "${target}"`;
      errors.push(at(path, { code: 'unknown_step', message: `${what}${didYouMean(target, known)}` }));
      return;
    }
    if (owner === undefined) return;
    if (target === owner) {
      const message = implied
        ? 'a step cannot read its own output; read an upstream step instead'
        : 'a step cannot depend on itself; remove it from depends_on';
      errors.push(at(path, { code: 'self_reference', message }));
      return;
    }
    const own = edges.get(owner);
    if (own && !own.has(target)) own.set(target, { path, implied });
  };
  return { firstIndex, known, edges, ref };
}

/** Explicit dependencies: depends_on and the plan's workflow-level `dependencies` map. */
function checkExplicitDependencies({ doc, steps, at, errors }: GraphCheck, graph: StepGraph): void {
  for (const step of steps) {
    const dependsOn = step.raw.depends_on;
    if (!Array.isArray(dependsOn)) continue;
    dependsOn.forEach((dep: unknown, k) => {
      if (typeof dep === 'string') graph.ref(step.id, dep, ['steps', step.index, 'depends_on', k], false);
    });
  }
  if (!isRecord(doc.dependencies)) return;
  for (const [owner, list] of Object.entries(doc.dependencies)) {
    if (!graph.known.has(owner)) {
      errors.push(
        at(['dependencies', owner], {
          code: 'unknown_step',
          message: `unknown step "${owner}"${didYouMean(owner, graph.known)}`,
        }),
      );
      continue;
    }
    if (!Array.isArray(list)) continue;
    list.forEach((dep: unknown, k) => {
      if (typeof dep === 'string') graph.ref(owner, dep, ['dependencies', owner, k], false);
    });
  }
}

/**
 * Each step's expressions must parse; its input mappings and condition imply dependencies on the steps
 * they read. Then what the step runs (checkStepKind), so one step's issues come together.
 */
function checkStepExpressions({ steps, at, errors, warnings }: GraphCheck, graph: StepGraph): void {
  for (const step of steps) {
    const base: PropertyKey[] = ['steps', step.index];
    const readers: [PropertyKey[], StepReferences][] = [];
    for (const field of ['input_mappings', 'output_mappings'] as const) {
      const mappings = step.raw[field];
      if (!isRecord(mappings)) continue;
      for (const [key, source] of Object.entries(mappings)) {
        if (typeof source !== 'string') continue;
        const path = [...base, field, key];
        const refs = checkSyntax(source, path, at, errors);
        if (refs && field === 'input_mappings') readers.push([path, refs]);
      }
    }
    if (typeof step.raw.when === 'string') {
      const refs = checkSyntax(step.raw.when, [...base, 'when'], at, errors);
      if (refs) readers.push([[...base, 'when'], refs]);
    }
    if (typeof step.raw.expression === 'string') checkSyntax(step.raw.expression, [...base, 'expression'], at, errors);
    for (const [path, refs] of readers) {
      for (const target of refs.steps) graph.ref(step.id, target, path, true);
      if (refs.dynamic) {
        warnings.push(
          at(path, {
            code: 'dynamic_reference',
            message:
              'reads `steps` dynamically, so it sees every step upstream of this one; name the steps it needs (steps.<id>) or list them in depends_on',
          }),
        );
      }
    }
    checkStepKind(step, at, errors);
  }
}

/** The workflow's outputs may read any step (they add no edge), but only steps that exist. */
function checkOutputs({ doc, at, errors }: GraphCheck, graph: StepGraph): OutputReads {
  const reads: OutputReads = { steps: new Set(), dynamic: false };
  if (!isRecord(doc.outputs)) return reads;
  if (doc.verification_level === 'zk') {
    // The proof binds the result to the last step's signed output; a computed result would be unproven.
    errors.push(
      at(['outputs'], {
        code: 'inconsistent',
        message:
          "at verification_level zk the result must be the last step's output, which the proof binds: remove outputs (compute the result in a last step) or choose verification_level full",
      }),
    );
  }
  for (const [key, source] of Object.entries(doc.outputs)) {
    if (typeof source !== 'string') continue;
    const path = ['outputs', key];
    const refs = checkSyntax(source, path, at, errors);
    if (!refs) continue;
    reads.dynamic ||= refs.dynamic;
    for (const target of refs.steps) {
      if (graph.known.has(target)) reads.steps.add(target);
      else
        errors.push(
          at(path, {
            code: 'unknown_step',
            message: `reads steps.${target}, but there is no step "${target}"${didYouMean(target, graph.known)}`,
          }),
        );
    }
  }
  return reads;
}

function checkInputSchema({ doc, at, errors }: GraphCheck): void {
  if (!isRecord(doc.inputs)) return;
  try {
    compileInputSchema(doc.inputs);
  } catch (error) {
    errors.push(
      at(['inputs'], {
        code: 'invalid_schema',
        message: `is not a valid JSON Schema: ${(error as Error).message}; fix the schema of the inputs`,
      }),
    );
  }
}

/**
 * Cycles, over explicit and implied edges together. A cycle closed by a mapping is reported at the mapping
 * ("reads a step that runs after it"), since that is where the author has to change something.
 */
function checkCycles({ steps, at, errors }: GraphCheck, graph: StepGraph): Map<string, string[]> {
  const { edges, firstIndex } = graph;
  const deps = new Map([...edges].map(([id, own]) => [id, [...own.keys()].sort()]));
  const order = steps.flatMap((s) => (s.id !== undefined && firstIndex.get(s.id) === s.index ? [s.id] : []));
  for (const cycle of findCycles(order, deps)) {
    const text = cycle.join(' -> ');
    // cycle[i + 1] depends on cycle[i].
    const links = cycle
      .slice(1)
      .map((to, i) => ({ owner: to, target: cycle[i]!, edge: edges.get(to)!.get(cycle[i]!)! }));
    const implied = links.find((l) => l.edge.implied);
    if (implied) {
      errors.push(
        at(implied.edge.path, {
          code: 'not_upstream',
          message: `reads steps.${implied.target}, which is not upstream of "${implied.owner}" (it would close the cycle ${text}); read only steps that run before this one`,
        }),
      );
    } else {
      // Point at the dependency that closes the cycle back to its first step.
      const first = links.at(-1)!;
      errors.push(
        at(first.edge.path, {
          code: 'cycle',
          message: `dependency cycle ${text}; remove one of these dependencies`,
        }),
      );
    }
  }
  return deps;
}

/**
 * A step whose output nothing reads is likely a mistake, when the workflow names its outputs (otherwise
 * the last step's output is the result) and reads them statically. Only on an otherwise valid definition,
 * where the warning is not noise next to errors.
 */
function warnUnusedSteps(
  { doc, steps, at, errors, warnings }: GraphCheck,
  deps: Map<string, string[]>,
  outputs: OutputReads,
): void {
  if (!isRecord(doc.outputs) || outputs.dynamic || errors.length > 0) return;
  const used = new Set([...deps.values()].flat());
  for (const step of steps) {
    if (step.id === undefined || used.has(step.id) || outputs.steps.has(step.id)) continue;
    warnings.push(
      at(['steps', step.index], {
        code: 'unused_step',
        message: `the output of "${step.id}" is not read by any step or by outputs; read it in outputs or remove the step`,
      }),
    );
  }
}

/** The steps an expression reads, or undefined (and an error) when it does not parse. */
function checkSyntax(
  source: string,
  path: PropertyKey[],
  at: At,
  errors: ValidationIssue[],
): StepReferences | undefined {
  // An empty expression is the schema's to report ("must not be empty"), once.
  if (source === '') return undefined;
  const analysis = analyzeExpression(source);
  if (analysis.ok) return analysis.refs;
  const problem = analysis.error;
  errors.push(
    at(path, {
      code: 'expression_syntax',
      message: `JSONata does not parse: ${problem.message} (at character ${problem.position}); fix the expression`,
    }),
  );
  return undefined;
}

/** What a step runs: an expression (data_processing) or a model (any type). */
function checkStepKind(step: LooseStep, at: At, errors: ValidationIssue[]): void {
  const base: PropertyKey[] = ['steps', step.index];
  const type = step.raw.step_type;
  const hasExpression = step.raw.expression !== undefined;
  const hasModel = step.raw.model_requirements !== undefined;
  if (hasExpression && hasModel) {
    errors.push(
      at([...base, 'expression'], {
        code: 'inconsistent',
        message: 'a step runs either an expression or a model, not both; remove expression or model_requirements',
      }),
    );
  } else if (type === 'data_processing' && !hasExpression && !hasModel) {
    errors.push(
      at(base, {
        code: 'missing_field',
        message: 'a data_processing step needs an expression (JSONata) or model_requirements; add one',
      }),
    );
  } else if ((type === 'inference' || type === 'training') && !hasModel) {
    errors.push(
      at(base, {
        code: 'missing_field',
        message: `${type === 'inference' ? 'an' : 'a'} ${type} step needs model_requirements (for example { name: builtin/echo }); add it`,
      }),
    );
  }
  const retry = step.raw.retry_policy;
  if (isRecord(retry)) {
    // Compare the values the step will run with: a side that is not written takes its default.
    const writtenMax = typeof retry.max_backoff_ms === 'number';
    const initial =
      typeof retry.initial_backoff_ms === 'number' ? retry.initial_backoff_ms : DEFAULTS.retry.initial_backoff_ms;
    const max = writtenMax ? (retry.max_backoff_ms as number) : DEFAULTS.retry.max_backoff_ms;
    if (max < initial) {
      errors.push(
        writtenMax
          ? at([...base, 'retry_policy', 'max_backoff_ms'], {
              code: 'out_of_range',
              message: `must be at least initial_backoff_ms (${initial}), but is ${max}`,
            })
          : at([...base, 'retry_policy', 'initial_backoff_ms'], {
              code: 'out_of_range',
              message: `must be at most max_backoff_ms (${max}, the default), but is ${initial}; lower it or set max_backoff_ms`,
            }),
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Normal form

function normalize(parsed: ParsedWorkflow, deps: Map<string, string[]>): WorkflowDefinition {
  const steps: StepDefinition[] = parsed.steps.map((step) => {
    const out: StepDefinition = {
      id: step.id,
      step_type: step.step_type,
      depends_on: deps.get(step.id) ?? [],
      timeout_seconds: step.timeout_seconds,
      retry_policy: { ...step.retry_policy, non_retryable: [...new Set(step.retry_policy.non_retryable)].sort() },
      requires_proof: step.requires_proof,
      estimated_cost: step.estimated_cost,
    };
    if (step.name !== undefined) out.name = step.name;
    if (step.description !== undefined) out.description = step.description;
    if (step.model_requirements !== undefined) {
      const { name, version, digest } = step.model_requirements;
      out.model_requirements = {
        name,
        ...(version !== undefined && { version }),
        ...(digest !== undefined && { digest }),
      };
    }
    if (step.expression !== undefined) out.expression = step.expression;
    if (step.input_mappings !== undefined) out.input_mappings = { ...step.input_mappings };
    if (step.output_mappings !== undefined) out.output_mappings = { ...step.output_mappings };
    if (step.when !== undefined) out.when = step.when;
    if (step.redundancy !== undefined)
      out.redundancy = { replicas: step.redundancy.replicas, quorum: step.redundancy.quorum };
    return out;
  });
  const definition: WorkflowDefinition = {
    id: parsed.id,
    name: parsed.name ?? parsed.id,
    description: parsed.description,
    version: parsed.version,
    steps,
    max_execution_time: parsed.max_execution_time,
    max_cost_budget: parsed.max_cost_budget,
    requires_verification: parsed.requires_verification,
    verification_level: parsed.verification_level,
    concurrency: parsed.concurrency,
  };
  if (parsed.inputs !== undefined) definition.inputs = parsed.inputs;
  if (parsed.outputs !== undefined) definition.outputs = { ...parsed.outputs };
  return definition;
}

function budgetWarning(definition: WorkflowDefinition, at: At, warnings: ValidationIssue[]): void {
  if (definition.max_cost_budget === 0) return;
  const total = definition.steps.reduce((sum, s) => sum + s.estimated_cost, 0);
  if (total > definition.max_cost_budget) {
    warnings.push(
      at(['max_cost_budget'], {
        code: 'budget',
        message: `the steps' estimated costs add up to ${total}, more than max_cost_budget ${definition.max_cost_budget}; an execution that runs every step will end budget_exceeded`,
      }),
    );
  }
}

function sortIssues(issues: ValidationIssue[]): ValidationIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || a.path.localeCompare(b.path));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
