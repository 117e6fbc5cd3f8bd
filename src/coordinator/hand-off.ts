import type { Capabilities, JobRecord } from '../store/records.js';
import type { Assignment } from './protocol.js';

/**
 * A worker slot of this process that is about to claim again (it is reporting a result), offered the first
 * job its report queues: the job is inserted already RUNNING under that worker's lease, in the report's
 * own transaction, and handed over after commit. A step then costs one transaction instead of two (the
 * report, and the next claim), and no other slot is woken to race for the job.
 *
 * Only jobs the worker could have claimed are taken (see `serves`), and never a replica of a redundant step,
 * whose claim must go through the sibling rules of the claim statement.
 */
export interface HandOff {
  readonly workerId: string;
  /** Whom the worker speaks for: recorded on the job, as a claim records it. */
  readonly principal: string | undefined;
  readonly capabilities: Capabilities;
  readonly leaseMs: number;
  /** Called inside the transaction once a job is taken (the slot will not need a wake-up). */
  taken(): void;
  /** Called after commit with the job's assignment (and the job as inserted). */
  deliver(assignment: Assignment, job: JobRecord): void;
}

/**
 * Whether a worker with these capabilities may run the job: the claim statement's rule (claim.ts,
 * `servable`), for one job in memory. A job that names a model goes to a worker serving that model, and if
 * the job pins the model's digest, only at that digest; a job without a model, to a worker that runs its
 * step type.
 */
export function serves(
  capabilities: Capabilities,
  job: Pick<JobRecord, 'stepType' | 'model' | 'modelDigest'>,
): boolean {
  if (job.model === undefined) return capabilities.stepTypes.includes(job.stepType);
  if (!capabilities.models.includes(job.model)) return false;
  const served = capabilities.modelDigests?.[job.model];
  return served === undefined
    ? job.modelDigest === undefined
    : job.modelDigest === undefined || job.modelDigest === served;
}

/** The job as the worker receives it, whether it claimed it or was handed it. */
export function assignmentOf(job: JobRecord, leaseMs: number, started: boolean): Assignment {
  return {
    jobId: job.id,
    executionId: job.executionId,
    stepId: job.stepId,
    attempt: job.attempt,
    nonce: job.nonce!,
    stepType: job.stepType,
    spec: job.spec,
    input: job.input,
    inputDigest: job.inputDigest,
    maxCost: job.reserved,
    assignedAt: job.assignedAt!,
    deadlineAt: job.deadlineAt!,
    leaseMs,
    started,
  };
}
