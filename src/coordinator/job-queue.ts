import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { ACTIVE_JOB_STATUSES } from '../store/records.js';
import type { JobRecord, JobSpec } from '../store/records.js';
import type { StoreTx } from '../store/store.js';
import type { StepType } from '../workflow/types.js';
import { assignmentOf, serves } from './hand-off.js';
import type { HandOff } from './hand-off.js';
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
  /** Slots offered the first job a transaction queues (HandOff); at most one per transaction. */
  private readonly handOffs = new WeakMap<StoreTx, HandOff>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Offers the first job this transaction queues that the slot can serve to that slot (see HandOff). */
  offer(tx: StoreTx, handOff: HandOff): void {
    this.handOffs.set(tx, handOff);
  }

  /**
   * Queues a job; idle local slots wake when the transaction commits. A job a slot was offered (`offer`)
   * is returned RUNNING instead, already that slot's.
   */
  async enqueue(tx: StoreTx, job: NewJob, actor: string): Promise<JobRecord> {
    const now = this.now();
    const handOff = job.replica === undefined && job.availableAt <= now ? this.handOffs.get(tx) : undefined;
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
    if (handOff && serves(handOff.capabilities, record)) return this.handOver(tx, record, handOff, actor);
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

  /** Inserts the job assigned and started, as a claim with `start: true` would leave it, and hands it over. */
  private async handOver(tx: StoreTx, queued: JobRecord, handOff: HandOff, actor: string): Promise<JobRecord> {
    this.handOffs.delete(tx);
    handOff.taken();
    const now = queued.createdAt;
    const record: JobRecord = {
      ...queued,
      status: 'running',
      workerId: handOff.workerId,
      nonce: randomBytes(16).toString('hex'),
      assignedAt: now,
      startedAt: now,
      leaseExpiresAt: now + handOff.leaseMs,
      deadlineAt: now + queued.timeoutMs,
      ...(handOff.principal !== undefined && { principal: handOff.principal }),
    };
    await tx.insertJob(record);
    const worker = `worker:${handOff.workerId}`;
    const fields = {
      executionId: record.executionId,
      at: now,
      stepId: record.stepId,
      jobId: record.id,
      attempt: record.attempt,
    };
    tx.appendEvents([
      { ...fields, type: 'job.queued', actor },
      { ...fields, type: 'job.assigned', actor: worker },
      { ...fields, type: 'job.started', actor: worker },
    ]);
    tx.afterCommit(() => handOff.deliver(assignmentOf(record, handOff.leaseMs, true), record));
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
