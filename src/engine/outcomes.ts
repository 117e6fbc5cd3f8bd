import type { AcceptedResult, JobFailure } from '../coordinator/job-outcomes.js';
import type { JobRecord, StepResultRecord } from '../store/records.js';
import { ACTIVE_JOB_STATUSES } from '../store/records.js';
import { advance, dispatchStep, failStep } from './advance.js';
import { describeVotes, tally } from './redundancy.js';
import type { Vote } from './redundancy.js';
import { backoffMs, mayRetry } from './backoff.js';
import { fitsBudget, settleCharge, stepReservation } from './budget.js';
import type { Transition } from './transition.js';
import { ACTIVE } from './transition.js';

/** What a job's end does to its step and execution. Each runs inside the transaction that ended the job. */

export async function onJobSucceeded(t: Transition, job: JobRecord, result: AcceptedResult): Promise<void> {
  if (t.plan.step(job.stepId).definition.redundancy) return onReplicaSucceeded(t, job, result);
  const charged = await settle(t, job, result.cost);
  if (charged.capped) return exceedBudget(t, job, result.cost, charged);
  await acceptStepResult(t, job, result, charged.cost);
}

/** The step's one result is in: record it, complete the step and move the execution on. */
async function acceptStepResult(
  t: Transition,
  job: JobRecord,
  result: AcceptedResult,
  cost: number,
  data: Record<string, unknown> = {},
): Promise<void> {
  const record: StepResultRecord = {
    executionId: t.id,
    stepId: job.stepId,
    jobId: job.id,
    attempt: job.attempt,
    workerId: result.workerId,
    output: result.output,
    outputDigest: result.outputDigest,
    ...(result.outputStorage && { outputStorage: result.outputStorage }),
    cost,
    createdAt: t.now,
    ...(result.attestation && { attestation: result.attestation }),
    ...(result.attestationDigest !== undefined && { attestationDigest: result.attestationDigest }),
    ...(result.workerKeyId !== undefined && { workerKeyId: result.workerKeyId }),
  };
  const inserted = await t.tx.insertStepResult(record);
  if (!inserted) {
    // Jobs are at-least-once; a step's result is written once. A second result is kept out and noted.
    t.event('result.duplicate', {
      stepId: job.stepId,
      jobId: job.id,
      attempt: job.attempt,
      data: { outputDigest: result.outputDigest },
    });
    return;
  }
  t.results.set(job.stepId, record);
  await t.updateStep(job.stepId, { status: 'completed', finishedAt: t.now, error: undefined });
  t.event('step.completed', {
    stepId: job.stepId,
    jobId: job.id,
    attempt: job.attempt,
    data: { outputDigest: result.outputDigest, cost, ...data },
  });
  await advance(t, { done: [job.stepId] });
}

export async function onJobFailed(t: Transition, job: JobRecord, failure: JobFailure): Promise<void> {
  const charged = await settle(t, job, failure.cost ?? 0);
  if (charged.capped) return exceedBudget(t, job, failure.cost ?? 0, charged);
  const step = await t.step(job.stepId);
  const definition = t.plan.step(job.stepId).definition;
  if (definition.redundancy) {
    if (step.attempts !== job.attempt || !ACTIVE.has(step.status) || t.execution.status !== 'running') return;
    // One replica failing fails the attempt only if the others can no longer reach the quorum.
    const { votes, pending } = await replicaState(t, job);
    if (tally(votes, pending.length, definition.redundancy.quorum).state !== 'impossible') {
      t.event('replica.failed', {
        stepId: job.stepId,
        jobId: job.id,
        attempt: job.attempt,
        data: { replica: job.replica ?? 0, error: failure.error },
      });
      return;
    }
    await cancelReplicas(t, pending, 'the other replicas can no longer reach the quorum');
  } else if (step.currentJobId !== job.id || t.execution.status !== 'running') {
    return;
  }
  const used = step.attempts - step.roundStart;
  if (!mayRetry(definition.retry_policy, failure.error, used)) {
    await failStep(t, job.stepId, failure.error);
    return;
  }
  if (!fitsBudget(t.execution, stepReservation(definition))) {
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

/**
 * Releases the job's reservation and charges what it cost, never past the budget: a report above what is
 * left is charged up to the limit (`capped`), and the caller fails the step. So the sum of step costs never
 * exceeds the execution's budget, whatever a worker reports.
 */
async function settle(t: Transition, job: JobRecord, reported: number): Promise<{ cost: number; capped: boolean }> {
  const { cost, capped, spent, reserved } = settleCharge(t.execution, job.reserved, reported);
  t.setExecution({ reserved, spent });
  if (cost > 0) {
    const step = await t.step(job.stepId);
    await t.updateStep(job.stepId, { cost: step.cost + cost });
  }
  return { cost, capped };
}

/** A job reported more than the budget had left: it was charged what was left, and its step fails. */
async function exceedBudget(t: Transition, job: JobRecord, reported: number, charged: { cost: number }): Promise<void> {
  const step = await t.step(job.stepId);
  if (t.execution.status !== 'running' || !ACTIVE.has(step.status) || step.attempts !== job.attempt) return;
  if (t.plan.step(job.stepId).definition.redundancy) {
    const { pending } = await replicaState(t, job);
    await cancelReplicas(t, pending, 'the budget is spent');
  }
  await failStep(
    t,
    job.stepId,
    {
      code: 'budget_exceeded',
      message: `its job reported a cost of ${reported}, more than the ${charged.cost} left of the budget ${t.execution.budget}; it was charged ${charged.cost}. Retry with a larger budget`,
      retryable: false,
    },
    'budget_exceeded',
  );
}

/**
 * One replica of a redundant step has a result: keep it, and complete the step once `quorum` replicas of
 * distinct principals agree on the output digest (the lowest agreeing replica's result becomes the step's,
 * the replicas still running are cancelled), or fail it with `redundancy_mismatch` once they cannot.
 */
async function onReplicaSucceeded(t: Transition, job: JobRecord, result: AcceptedResult): Promise<void> {
  const redundancy = t.plan.step(job.stepId).definition.redundancy!;
  const charged = await settle(t, job, result.cost);
  if (charged.capped) return exceedBudget(t, job, result.cost, charged);
  // Whom the replica speaks for: the coordinator's record of the job's assignment, never the worker's word.
  const principal = job.principal ?? result.principal;
  const inserted = await t.tx.insertReplicaResult({
    executionId: t.id,
    stepId: job.stepId,
    attempt: job.attempt,
    replica: job.replica ?? 0,
    jobId: job.id,
    workerId: result.workerId,
    output: result.output,
    outputDigest: result.outputDigest,
    ...(result.outputStorage && { outputStorage: result.outputStorage }),
    cost: result.cost,
    createdAt: t.now,
    ...(result.attestation && { attestation: result.attestation }),
    ...(result.attestationDigest !== undefined && { attestationDigest: result.attestationDigest }),
    ...(result.workerKeyId !== undefined && { workerKeyId: result.workerKeyId }),
    ...(principal !== undefined && { principal }),
  });
  if (!inserted) {
    t.event('result.duplicate', {
      stepId: job.stepId,
      jobId: job.id,
      attempt: job.attempt,
      data: { replica: job.replica ?? 0, outputDigest: result.outputDigest },
    });
    return;
  }
  t.event('replica.completed', {
    stepId: job.stepId,
    jobId: job.id,
    attempt: job.attempt,
    data: { replica: job.replica ?? 0, outputDigest: result.outputDigest },
  });
  const step = await t.step(job.stepId);
  if (step.attempts !== job.attempt || !ACTIVE.has(step.status) || t.execution.status !== 'running') return;
  const { votes, pending, results } = await replicaState(t, job);
  const outcome = tally(votes, pending.length, redundancy.quorum);
  if (outcome.state === 'waiting') return;
  if (outcome.state === 'impossible') {
    await cancelReplicas(t, pending, 'the replicas disagree');
    await failStep(t, job.stepId, {
      code: 'redundancy_mismatch',
      message: `no ${redundancy.quorum} of ${redundancy.replicas} replicas agree on the output (at most ${outcome.best} do): ${describeVotes(votes)}`,
      retryable: false,
    });
    return;
  }
  await cancelReplicas(t, pending, 'the quorum agreed without it');
  const primary = results.find((r) => r.replica === outcome.primary)!;
  const primaryJob = (await t.tx.getJob(primary.jobId))!;
  await acceptStepResult(
    t,
    primaryJob,
    {
      output: primary.output,
      ...(primary.outputStorage && { outputStorage: primary.outputStorage }),
      outputDigest: primary.outputDigest,
      cost: primary.cost,
      workerId: primary.workerId,
      ...(primary.attestation && { attestation: primary.attestation }),
      ...(primary.attestationDigest !== undefined && { attestationDigest: primary.attestationDigest }),
      ...(primary.workerKeyId !== undefined && { workerKeyId: primary.workerKeyId }),
    },
    results.reduce((sum, r) => sum + r.cost, 0),
    { replicas: results.length, agreeing: outcome.agreeing, quorum: redundancy.quorum },
  );
}

/** The results in for this job's step attempt, and its replica jobs still queued or running. */
async function replicaState(t: Transition, job: JobRecord) {
  const results = await t.tx.listReplicaResults(t.id, { stepId: job.stepId, attempt: job.attempt });
  const active = await t.tx.listJobs(t.id, ACTIVE_JOB_STATUSES);
  const pending = active.filter((j) => j.stepId === job.stepId && j.attempt === job.attempt && j.id !== job.id);
  const votes: Vote[] = results.map((r) => ({
    replica: r.replica,
    outputDigest: r.outputDigest,
    workerId: r.workerId,
    workerKeyId: r.workerKeyId,
    principal: r.principal,
  }));
  return { results, pending, votes };
}

/** Cancels replica jobs that are no longer needed and gives back what they reserved. */
async function cancelReplicas(t: Transition, pending: readonly JobRecord[], reason: string): Promise<void> {
  if (pending.length === 0) return;
  const ids = new Set(pending.map((j) => j.id));
  const cancelled = await t.jobs.cancelJobs(t.tx, t.id, reason, t.actor, (j) => ids.has(j.id));
  const released = cancelled.reduce((sum, j) => sum + j.reserved, 0);
  t.setExecution({ reserved: Math.max(0, t.execution.reserved - released) });
}
