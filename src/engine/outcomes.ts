import type { AcceptedResult, JobFailure } from '../coordinator/coordinator.js';
import type { JobRecord } from '../store/records.js';
import { advance, dispatchStep, failStep } from './advance.js';
import { backoffMs, mayRetry } from './backoff.js';
import { fitsBudget, overBudget } from './budget.js';
import { endExecution } from './finish.js';
import type { Transition } from './transition.js';

/** What a job's end does to its step and execution. Each runs inside the transaction that ended the job. */

export async function onJobSucceeded(t: Transition, job: JobRecord, result: AcceptedResult): Promise<void> {
  const cost = result.cost;
  await settle(t, job, cost);
  const inserted = await t.tx.insertStepResult({
    executionId: t.id,
    stepId: job.stepId,
    jobId: job.id,
    attempt: job.attempt,
    workerId: result.workerId,
    output: result.output,
    outputDigest: result.outputDigest,
    cost,
    createdAt: t.now,
    ...(result.attestation && { attestation: result.attestation }),
    ...(result.attestationDigest !== undefined && { attestationDigest: result.attestationDigest }),
    ...(result.workerKeyId !== undefined && { workerKeyId: result.workerKeyId }),
  });
  if (!inserted) {
    // Jobs are at-least-once; a step's result is written once. A second result is kept out and noted.
    t.event('result.duplicate', { stepId: job.stepId, jobId: job.id, attempt: job.attempt, data: { outputDigest: result.outputDigest } });
    return;
  }
  await t.updateStep(job.stepId, { status: 'completed', finishedAt: t.now, error: undefined });
  t.event('step.completed', { stepId: job.stepId, jobId: job.id, attempt: job.attempt, data: { outputDigest: result.outputDigest, cost } });
  if (t.execution.status !== 'running') return;
  if (overBudget(t.execution)) {
    const e = t.execution;
    await endExecution(t, 'budget_exceeded', {
      code: 'budget_exceeded',
      stepId: job.stepId,
      message: `step "${job.stepId}" cost ${cost}, which took spending to ${e.spent}, over the budget ${e.budget}; retry with a larger budget`,
    });
    return;
  }
  await advance(t);
}

export async function onJobFailed(t: Transition, job: JobRecord, failure: JobFailure): Promise<void> {
  await settle(t, job, failure.cost ?? 0);
  const step = await t.step(job.stepId);
  if (step.currentJobId !== job.id || t.execution.status !== 'running') return;
  const definition = t.plan.step(job.stepId).definition;
  const used = step.attempts - step.roundStart;
  if (!mayRetry(definition.retry_policy, failure.error, used)) {
    await failStep(t, job.stepId, failure.error);
    return;
  }
  if (!fitsBudget(t.execution, definition.estimated_cost)) {
    await failStep(t, job.stepId, {
      code: 'budget_exceeded',
      message: `${failure.error.message}; no budget is left for another attempt`,
    });
    return;
  }
  const delayMs = backoffMs(definition.retry_policy, used);
  await t.updateStep(job.stepId, { error: failure.error });
  t.event('step.retry_scheduled', {
    stepId: job.stepId,
    attempt: step.attempts + 1,
    data: { delayMs, error: failure.error },
  });
  await dispatchStep(t, job.stepId, job.input, delayMs);
}

/** Releases the job's reservation and charges what it actually cost. */
async function settle(t: Transition, job: JobRecord, cost: number): Promise<void> {
  t.setExecution({
    reserved: Math.max(0, t.execution.reserved - job.reserved),
    spent: t.execution.spent + cost,
  });
  if (cost > 0) {
    const step = await t.step(job.stepId);
    await t.updateStep(job.stepId, { cost: step.cost + cost });
  }
}
