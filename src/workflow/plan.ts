import { analyzeExpression } from './expression.js';
import { ancestors, dagShape } from './graph.js';
import type { StepDefinition, WorkflowDefinition } from './types.js';

/** A named expression: an input mapping's or an output's key, and its JSONata source. */
export type Mapping = readonly [key: string, source: string];

export interface StepPlan {
  definition: StepDefinition;
  /** Its place in the definition: the order ties are broken in. */
  position: number;
  deps: readonly string[];
  /** The steps that depend on this one: whom its end may make ready. */
  dependents: readonly string[];
  /** Upstream steps whose `{ output, status }` this step's mappings and condition may read. */
  reads: readonly string[];
  inputMappings: readonly Mapping[] | undefined;
  when: string | undefined;
}

/**
 * A workflow compiled for execution: topological order, each step's dependencies, dependents and what its
 * expressions read. Derived from the definition alone, so it is cached by digest and never stored.
 */
export class WorkflowPlan {
  readonly order: readonly string[];
  readonly steps: ReadonlyMap<string, StepPlan>;
  readonly outputs: readonly Mapping[] | undefined;
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
    const dependents = new Map<string, string[]>(definition.steps.map((s) => [s.id, []]));
    for (const step of definition.steps) for (const dep of step.depends_on) dependents.get(dep)?.push(step.id);
    const steps = new Map<string, StepPlan>();
    for (const [position, step] of definition.steps.entries()) {
      const inputMappings = step.input_mappings && Object.entries(step.input_mappings);
      const readers = [
        ...(inputMappings ?? []).map(([, source]) => source),
        ...(step.when === undefined ? [] : [step.when]),
      ];
      const reads = new Set<string>(step.depends_on);
      let dynamic = false;
      for (const source of readers) {
        const analysis = analyzeExpression(source);
        if (!analysis.ok)
          throw new Error(
            `step ${step.id}: the expression ${JSON.stringify(source)} does not parse: ${analysis.error.message}`,
          );
        const refs = analysis.refs;
        refs.steps.forEach((id) => reads.add(id));
        dynamic ||= refs.dynamic;
      }
      // An expression that reads `steps` dynamically sees everything upstream, and nothing else, so that
      // the data a step could have read is always a function of its ancestors (what lineage checks).
      if (dynamic) ancestors(step.id, deps).forEach((id) => reads.add(id));
      steps.set(step.id, {
        definition: step,
        position,
        deps: step.depends_on,
        dependents: dependents.get(step.id)!,
        reads: [...reads],
        inputMappings,
        when: step.when,
      });
    }
    this.steps = steps;
    this.outputs = definition.outputs && Object.entries(definition.outputs);
    this.lastStepId = definition.steps.at(-1)!.id;
  }

  step(id: string): StepPlan {
    const plan = this.steps.get(id);
    if (!plan) throw new Error(`step ${id} is not in workflow ${this.definition.id}`);
    return plan;
  }
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
