import type { StepMark } from './graph.js';

/** One problem the validator found (POST /v1/workflows/validate), as the SDK returns it. */
export interface Issue {
  path: string;
  code: string;
  message: string;
  line?: number | undefined;
  column?: number | undefined;
}

export interface PlacedIssue extends Issue {
  severity: 'error' | 'warning';
}

export interface IssuesOnGraph {
  /** The issues of each step, by step id, errors first. */
  byStep: Map<string, PlacedIssue[]>;
  /** Issues about no one step (the id, the outputs, the budget…), or about a step the graph cannot draw. */
  elsewhere: PlacedIssue[];
}

/**
 * Puts each issue on the step it is about. The validator names places by path into the definition as
 * written (`steps[2].input_mappings.x`, `steps[1].depends_on[0]`), so the index says which step: the step
 * at that index of the same parsed definition, when it has an id the graph draws it by.
 */
export function placeIssues(
  definition: unknown,
  result: { errors: readonly Issue[]; warnings: readonly Issue[] },
): IssuesOnGraph {
  const steps = stepArray(definition);
  // The graph draws a step once, by its first occurrence (a repeated id is itself one of the errors).
  const drawn = new Set<string>();
  const idAt = steps.map((step) => {
    const id = typeof step === 'object' && step !== null ? (step as Record<string, unknown>)['id'] : undefined;
    if (typeof id !== 'string' || drawn.has(id)) return undefined;
    drawn.add(id);
    return id;
  });
  const byStep = new Map<string, PlacedIssue[]>();
  const elsewhere: PlacedIssue[] = [];
  const all: PlacedIssue[] = [
    ...result.errors.map((issue) => ({ ...issue, severity: 'error' as const })),
    ...result.warnings.map((issue) => ({ ...issue, severity: 'warning' as const })),
  ];
  for (const issue of all) {
    const index = stepIndex(issue.path);
    const id = index === undefined ? undefined : idAt[index];
    if (id === undefined) elsewhere.push(issue);
    else byStep.set(id, [...(byStep.get(id) ?? []), issue]);
  }
  return { byStep, elsewhere };
}

/** The step index a path starts with: `steps[3]…` → 3; any other path → undefined. */
export function stepIndex(path: string): number | undefined {
  const match = /^steps\[(\d+)\](?:$|[.[])/.exec(path);
  return match ? Number(match[1]) : undefined;
}

/** How a step with issues looks on the graph: red for errors, amber for warnings only, the count, the messages. */
export function markOf(issues: readonly PlacedIssue[]): StepMark {
  const errors = issues.filter((i) => i.severity === 'error').length;
  const warnings = issues.length - errors;
  const counts = [
    errors > 0 && `${errors} error${errors === 1 ? '' : 's'}`,
    warnings > 0 && `${warnings} warning${warnings === 1 ? '' : 's'}`,
  ].filter(Boolean);
  return {
    tone: errors > 0 ? 'bad' : 'warn',
    note: counts.join(', '),
    title: issues.map((i) => `${i.severity === 'error' ? '✗' : '!'} ${i.path}: ${i.message}`).join('\n'),
  };
}

function stepArray(definition: unknown): unknown[] {
  if (typeof definition !== 'object' || definition === null) return [];
  const steps = (definition as Record<string, unknown>)['steps'];
  return Array.isArray(steps) ? (steps as unknown[]) : [];
}
