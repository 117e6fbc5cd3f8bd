import { jsonDigest } from '../attest/digest.js';
import { describeError } from '../errors.js';
import { toPlainJson } from '../workflow/expression.js';
import type { ErrorInfo, ExecutionStatus } from '../store/records.js';
import type { StepView } from '../workflow/context.js';
import type { Transition } from './transition.js';

/** Every step is completed or skipped: compute the result and close the execution. */
export async function completeExecution(t: Transition): Promise<void> {
  const steps = await t.statuses();
  const results = new Map(await Promise.all((await t.tx.getStepResults(t.id)).map(async (r) => [r.stepId, await t.coordinator.outputOf(r)] as const)));
  let result: unknown;
  if (t.plan.outputs) {
    const views: Record<string, StepView> = {};
    for (const [id, status] of steps) {
      views[id] = results.has(id) ? { status, output: results.get(id) } : { status };
    }
    const context = { inputs: t.execution.inputs, steps: views };
    const out: Record<string, unknown> = {};
    try {
      for (const [key, expr] of t.plan.outputs) {
        const value = toPlainJson(await expr.evaluate(context));
        if (value !== undefined) out[key] = value;
      }
    } catch (error) {
      await endExecution(t, 'failed', {
        code: 'output_mapping_failed',
        message: `the workflow's outputs could not be computed: ${describeError(error)}; fix the outputs expressions`,
      });
      return;
    }
    result = out;
  } else {
    result = results.get(t.plan.lastStepId) ?? null;
  }
  t.setExecution({ status: 'completed', result, resultDigest: jsonDigest(result), finishedAt: t.now });
  t.event('execution.completed', { data: { resultDigest: jsonDigest(result) } });
}

/**
 * Ends a running execution without a result (failed, cancelled, timed out, over budget): its active jobs
 * are cancelled and their reservations released; steps that were queued or running become cancelled.
 */
export async function endExecution(t: Transition, status: Exclude<ExecutionStatus, 'running' | 'completed'>, error: ErrorInfo): Promise<void> {
  const cancelled = await t.coordinator.cancelJobs(t.tx, t.id, status, t.actor);
  const released = cancelled.reduce((sum, job) => sum + job.reserved, 0);
  for (const [id, status] of await t.statuses()) {
    if (status === 'queued' || status === 'running') {
      await t.updateStep(id, { status: 'cancelled', finishedAt: t.now });
    }
  }
  t.setExecution({ status, error, finishedAt: t.now, reserved: Math.max(0, t.execution.reserved - released) });
  t.event(`execution.${status}`, { data: { error } });
}
