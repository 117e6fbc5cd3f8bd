import type { NewJob } from '../coordinator/job-queue.js';
import type { JobRecord } from '../store/records.js';
import type { StoreTx } from '../store/store.js';

/**
 * What the engine needs of the job queue, inside its own transactions: queue a step's job and cancel an
 * execution's jobs. The coordinator's JobQueue provides it and the node wires the two; the engine knows
 * nothing else about jobs, leases or workers.
 */
export interface JobPort {
  enqueue(tx: StoreTx, job: NewJob, actor: string): Promise<JobRecord>;
  /** Cancels an execution's active jobs (or those `only` picks); returns the jobs it cancelled. */
  cancelJobs(
    tx: StoreTx,
    executionId: string,
    reason: string,
    actor: string,
    only?: (job: JobRecord) => boolean,
  ): Promise<JobRecord[]>;
}

/**
 * What the sweeper needs of the coordinator: expiring a leased job whose lease or deadline has passed, which
 * hands the failure back to the engine like any other.
 */
export interface JobExpiry {
  expire(jobId: string): Promise<boolean>;
}
