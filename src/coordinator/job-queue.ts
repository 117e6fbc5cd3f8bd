import { v7 as uuidv7 } from 'uuid';
import { ACTIVE_JOB_STATUSES } from '../store/records.js';
import type { JobRecord, JobSpec } from '../store/records.js';
import type { StoreTx } from '../store/store.js';
import type { StepType } from '../workflow/types.js';
import { JobNotifier } from './notifier.js';

export interface NewJob {
  executionId: string;
  stepId: string;
  attempt: number;
  stepType: StepType;
  spec: JobSpec;
  input: unknown;
  inputDigest: string;
  reserved: number;
  timeoutMs: number;
  availableAt: number;
  /** Which of a redundant step's jobs for this attempt (0..k-1); absent for a step that runs once. */
  replica?: number;
}

/**
 * Where jobs enter the queue and are cancelled, always inside the caller's transaction (the engine's,
 * which holds the execution's lock), so a step's decision and its jobs commit together. It is apart from
 * the Coordinator so the engine can be given it without the coordinator, which calls the engine back.
 * Idle claimers in this process wait on its notifier.
 */
export class JobQueue {
  readonly notifier = new JobNotifier();

  constructor(private readonly now: () => number = Date.now) {}

  /** Queues a job; idle local slots wake when the transaction commits. */
  async enqueue(tx: StoreTx, job: NewJob, actor: string): Promise<JobRecord> {
    const now = this.now();
    const record: JobRecord = {
      id: uuidv7(),
      executionId: job.executionId,
      stepId: job.stepId,
      attempt: job.attempt,
      status: 'queued',
      stepType: job.stepType,
      ...(job.spec.model && { model: job.spec.model.name }),
      ...(job.spec.model?.digest !== undefined && { modelDigest: job.spec.model.digest }),
      spec: job.spec,
      input: job.input,
      inputDigest: job.inputDigest,
      reserved: job.reserved,
      timeoutMs: job.timeoutMs,
      availableAt: job.availableAt,
      createdAt: now,
      ...(job.replica !== undefined && { replica: job.replica }),
    };
    await tx.insertJob(record);
    tx.appendEvents([
      {
        executionId: job.executionId,
        at: now,
        type: 'job.queued',
        stepId: job.stepId,
        jobId: record.id,
        attempt: job.attempt,
        actor,
        ...(job.availableAt > now && { data: { availableAt: job.availableAt } }),
      },
    ]);
    tx.afterCommit(() => this.notifier.jobsQueuedAt(job.availableAt, this.now()));
    return record;
  }

  /** Cancels every active job of an execution (or only those `only` picks); the caller holds the execution's lock. */
  async cancelJobs(
    tx: StoreTx,
    executionId: string,
    reason: string,
    actor: string,
    only?: (job: JobRecord) => boolean,
  ): Promise<JobRecord[]> {
    const now = this.now();
    const active = (await tx.listJobs(executionId, ACTIVE_JOB_STATUSES)).filter((job) => !only || only(job));
    const cancelled: JobRecord[] = [];
    for (const job of active) {
      const done = await tx.updateJob(
        job.id,
        { status: 'cancelled', finishedAt: now },
        { status: ACTIVE_JOB_STATUSES },
      );
      if (!done) continue;
      cancelled.push(job);
    }
    tx.appendEvents(
      cancelled.map((job) => ({
        executionId,
        at: now,
        type: 'job.cancelled',
        stepId: job.stepId,
        jobId: job.id,
        attempt: job.attempt,
        actor,
        data: { reason },
      })),
    );
    const ids = cancelled.map((j) => j.id);
    tx.afterCommit(() => this.notifier.jobsCancelled(ids));
    return cancelled;
  }
}
