import { jsonDigest } from '../attest/digest.js';
import { evaluatePaths } from '../expressions/fast-path.js';
import type { ErrorInfo, ExecutionStatus } from '../store/records.js';
import type { StepView } from '../workflow/context.js';
import type { Transition } from './transition.js';
import { ACTIVE } from './transition.js';
import { loadViews } from './step-views.js';

/**
 * Every step is completed or skipped: compute the result and close the execution. A result its outputs
 * compute with real expressions is computed outside the transaction (`t.deferredResult`) and handed back
 * here by the next one; plain paths are looked up at once.
 */
export async function completeExecution(
  t: Transition,
  computed?: { value: unknown } | { error: ErrorInfo },
): Promise<void> {
  if (computed && 'error' in computed) {
    await endExecution(t, 'failed', computed.error);
    return;
  }
  let result: unknown;
  if (computed) {
    result = computed.value;
  } else if (!t.plan.outputs) {
    const views = new Map<string, StepView>();
    await loadViews(t, [t.plan.lastStepId], views);
    result = views.get(t.plan.lastStepId)?.output ?? null;
  } else {
    const views = new Map<string, StepView>();
    await loadViews(t, t.plan.order, views);
    const values = evaluatePaths(
      t.plan.outputs.map(([, source]) => source),
      { inputs: t.execution.inputs, steps: Object.fromEntries(views) },
    );
    if (!values) {
      t.deferredResult = true;
      return;
    }
    const out: Record<string, unknown> = {};
    t.plan.outputs.forEach(([key], i) => {
      if (values[i] !== undefined) out[key] = values[i];
    });
    result = out;
  }
  t.setExecution({ status: 'completed', result, resultDigest: jsonDigest(result), finishedAt: t.now });
  t.event('execution.completed', { data: { resultDigest: jsonDigest(result) } });
}

/** The error an execution ends with when its outputs cannot be computed. */
export function outputsFailed(message: string): ErrorInfo {
  return {
    code: 'output_mapping_failed',
    message: `the workflow's outputs could not be computed: ${message}; fix the outputs expressions`,
  };
}

/**
 * Ends a running execution without a result (failed, cancelled, timed out, over budget): its active jobs
 * are cancelled and their reservations released; steps that were queued or running become cancelled, and
 * steps decided to run that never started are undecided again (a retry decides them anew).
 */
export async function endExecution(
  t: Transition,
  status: Exclude<ExecutionStatus, 'running' | 'completed'>,
  error: ErrorInfo,
): Promise<void> {
  const cancelled = await t.jobs.cancelJobs(t.tx, t.id, status, t.actor);
  const released = cancelled.reduce((sum, job) => sum + job.reserved, 0);
  for (const [id, stepStatus] of [...(await t.statuses())]) {
    if (ACTIVE.has(stepStatus)) {
      await t.updateStep(id, { status: 'cancelled', finishedAt: t.now });
    } else if (stepStatus === 'ready') {
      await t.updateStep(id, { status: 'pending', queuedAt: undefined });
      await t.tx.setReadyInput(t.id, id, undefined);
    }
  }
  t.setExecution({ status, error, finishedAt: t.now, reserved: Math.max(0, t.execution.reserved - released) });
  t.event(`execution.${status}`, { data: { error } });
}
