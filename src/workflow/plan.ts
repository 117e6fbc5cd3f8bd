import { compileExpression, stepReferences } from './expression.js';
import type { CompiledExpression } from './expression.js';
import { ancestors, dagShape } from './graph.js';
import type { StepDefinition, WorkflowDefinition } from './types.js';

export interface StepPlan {
  definition: StepDefinition;
  deps: readonly string[];
  /** Upstream steps whose `{ output, status }` this step's mappings and condition may read. */
  reads: readonly string[];
  inputMappings: readonly [string, CompiledExpression][] | undefined;
  when: CompiledExpression | undefined;
}

/**
 * A workflow compiled for execution: topological order, each step's dependencies and what its
 * expressions read. Derived from the definition alone, so it is cached by digest and never stored.
 */
export class WorkflowPlan {
  readonly order: readonly string[];
  readonly steps: ReadonlyMap<string, StepPlan>;
  readonly outputs: readonly [string, CompiledExpression][] | undefined;
  /** The step whose output is the result when the workflow declares no outputs. */
  readonly lastStepId: string;

  constructor(
    readonly digest: string,
    readonly definition: WorkflowDefinition,
  ) {
    const deps = new Map(definition.steps.map((s) => [s.id, s.depends_on]));
    this.order = dagShape(
      definition.steps.map((s) => s.id),
      deps,
    ).order;
    const steps = new Map<string, StepPlan>();
    for (const step of definition.steps) {
      const inputMappings = step.input_mappings && compileAll(step.input_mappings);
      const when = step.when === undefined ? undefined : compileExpression(step.when);
      const readers = [...(inputMappings ?? []).map(([, e]) => e), ...(when ? [when] : [])];
      const reads = new Set<string>(step.depends_on);
      let dynamic = false;
      for (const expr of readers) {
        const refs = stepReferences(expr);
        refs.steps.forEach((id) => reads.add(id));
        dynamic ||= refs.dynamic;
      }
      // An expression that reads `steps` dynamically sees everything upstream, and nothing else, so that
      // the data a step could have read is always a function of its ancestors (what lineage checks).
      if (dynamic) ancestors(step.id, deps).forEach((id) => reads.add(id));
      steps.set(step.id, { definition: step, deps: step.depends_on, reads: [...reads], inputMappings, when });
    }
    this.steps = steps;
    this.outputs = definition.outputs && compileAll(definition.outputs);
    this.lastStepId = definition.steps.at(-1)!.id;
  }

  step(id: string): StepPlan {
    const plan = this.steps.get(id);
    if (!plan) throw new Error(`step ${id} is not in workflow ${this.definition.id}`);
    return plan;
  }
}

function compileAll(mappings: Record<string, string>): [string, CompiledExpression][] {
  return Object.entries(mappings).map(([key, source]) => [key, compileExpression(source)]);
}

const cache = new Map<string, WorkflowPlan>();

/** Plans are pure functions of the definition, and a digest names exactly one definition. */
export function cachedPlan(digest: string): WorkflowPlan | undefined {
  return cache.get(digest);
}

export function planFor(digest: string, definition: WorkflowDefinition): WorkflowPlan {
  let plan = cache.get(digest);
  if (!plan) {
    plan = new WorkflowPlan(digest, definition);
    if (cache.size > 1000) cache.clear();
    cache.set(digest, plan);
  }
  return plan;
}
