import type { NewJob } from '../coordinator/coordinator.js';
import type { JobRecord } from '../store/records.js';
import type { StoreTx } from '../store/store.js';

/**
 * What the engine needs of the job queue, inside its own transactions: queue a step's job, cancel an
 * execution's jobs, and read a step output that was kept as a blob. The coordinator provides it; the
 * engine knows nothing else about jobs, leases or workers.
 */
export interface JobQueue {
  enqueue(tx: StoreTx, job: NewJob, actor: string): Promise<JobRecord>;
  /** Cancels an execution's active jobs (or those `only` picks); returns the jobs it cancelled. */
  cancelJobs(tx: StoreTx, executionId: string, reason: string, actor: string, only?: (job: JobRecord) => boolean): Promise<JobRecord[]>;
  /** A step result's output value, read from its blob when it was too large for the row. */
  outputOf(result: { output: unknown; outputStorage?: 'blob' | undefined }): Promise<unknown>;
}
