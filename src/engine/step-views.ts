import { readStepOutput } from '../blobs/step-output.js';
import type { StepView } from '../workflow/context.js';
import type { Transition } from './transition.js';

/** What expressions see of these steps: their status, and the output of those completed. */
export async function loadViews(t: Transition, ids: readonly string[], views: Map<string, StepView>): Promise<void> {
  const missing = ids.filter((id) => !views.has(id));
  if (missing.length === 0) return;
  const statuses = await t.statusesOf(missing);
  const completed = missing.filter((id) => statuses.get(id) === 'completed');
  // Results this transaction wrote are known; only the others are read.
  const unread = completed.filter((id) => !t.results.has(id));
  const results = [
    ...completed.flatMap((id) => (t.results.has(id) ? [t.results.get(id)!] : [])),
    ...(unread.length > 0 ? await t.tx.getStepResults(t.id, unread) : []),
  ];
  const outputs = new Map(
    await Promise.all(results.map(async (r) => [r.stepId, await readStepOutput(t.blobs, r)] as const)),
  );
  for (const id of missing) {
    const status = statuses.get(id);
    if (status === undefined) continue;
    views.set(id, outputs.has(id) ? { status, output: outputs.get(id) } : { status });
  }
}
