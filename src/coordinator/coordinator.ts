import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ErrorInfo, ExecutionRecord, JobRecord, StepRecord, WorkerRecord } from '../store/records.js';
import { ACTIVE_JOB_STATUSES, LEASED_JOB_STATUSES } from '../store/records.js';
import type { Store, StoreTx } from '../store/store.js';
import type { StepType } from '../workflow/types.js';
import type { AcceptedResult, JobOutcomeHandler } from './job-outcomes.js';
import { assignmentOf } from './hand-off.js';
import type { JobQueue } from './job-queue.js';
import type { JobNotifier } from './notifier.js';
import type {
  Assignment,
  CompletionReport,
  FailureReport,
  RefusalReason,
  ReportOutcome,
  ResultReport,
  WorkerRegistration,
  ZkLeafReport,
} from './protocol.js';
import { DEFAULT_REGISTRATION_CAPS } from './registration-caps.js';
import type { RegistrationCaps } from './registration-caps.js';
import { ResultChecker } from './result-check.js';
import { ZkLeaves } from '../zk/zk-leaves.js';
import { WorkerRegistry, checkWorkerActive } from './worker-registry.js';

export interface CoordinatorOptions {
  /** How long a claimed job stays with its worker without a heartbeat. Default: 15 s. */
  leaseMs: number;
  now: () => number;
  /**
   * Accept results only with a valid attestation from the worker's registered key. Default: true. Turning
   * it off exists only to measure what attestation costs (bench/); results are then taken on trust.
   */
  requireAttestations: boolean;
  /**
   * Where blobs are kept, to check that every blob a result names is there before the result is taken
   * (a downstream step or the client could not read it otherwise). Without it, blob references are not
   * checked (tests of the coordinator alone).
   */
  blobs?: { size(digest: string): Promise<number | undefined>; get(digest: string): Promise<Uint8Array> };
  /** The principal of in-process workers registered without one: the node's. Default: `node:local`. */
  localPrincipal: string;
  /** Registration caps on remote workers, per principal (src/coordinator/registration-caps.ts). */
  caps: RegistrationCaps;
}

export const DEFAULT_COORDINATOR_OPTIONS: CoordinatorOptions = {
  leaseMs: 15_000,
  now: Date.now,
  requireAttestations: true,
  localPrincipal: 'node:local',
  caps: DEFAULT_REGISTRATION_CAPS,
};

/** What happened to jobs, after commit, for whoever watches this process (metrics). */
export interface JobEvents {
  completed: [{ stepId: string; durationMs: number }];
  failed: [{ stepId: string; code: string }];
  expired: [{ stepId: string; code: string }];
  /** A report refused without a trace in the history: for a job the reporting worker does not hold, or no job at all. */
  refused: [{ reason: RefusalReason; jobId: string; workerId: string }];
}

const IN_PROCESS_JOBS_CAP = 10_000;

/**
 * A slot of this process reporting a result and about to claim again: the first job its report queues may be
 * handed to it directly (HandOff). `taken` runs inside the transaction, `deliver` after commit.
 */
export interface NextJob {
  taken(): void;
  deliver(assignment: Assignment): void;
}

/**
 * The coordinator drives the job protocol: claims under leases, heartbeats, results, failures and
 * expiries. It checks every report against the job it names (worker, attempt, nonce, deadline) before the
 * engine sees it, and it never decides what runs next: that is the JobOutcomeHandler's (the engine's),
 * called inside the transaction that records the outcome. Jobs enter the queue through JobQueue, which the
 * engine holds; workers are the WorkerRegistry's; what a result must satisfy is the ResultChecker's.
 *
 * Lock order, everywhere: the execution row first, then its jobs and steps. Only claims and heartbeats
 * touch a job without the execution lock, and both are single guarded statements.
 */
export class Coordinator {
  readonly events = new EventEmitter<JobEvents>();
  readonly options: CoordinatorOptions;
  /** Idle claimers in this process wait here; the queue wakes them when jobs are queued or cancelled. */
  readonly notifier: JobNotifier;
  private readonly workers: WorkerRegistry;
  private readonly results: ResultChecker;
  private readonly queue: JobQueue;
  /** Jobs assigned to this process's own workers, as assigned, until they report (see peek). */
  private readonly inProcessJobs = new Map<string, JobRecord>();
  /** At level zk: the workers' leaf signatures, which come after their results and are checked off the step path. */
  readonly zkLeaves: ZkLeaves;

  constructor(
    private readonly store: Store,
    queue: JobQueue,
    /** What a job's outcome means for its execution is not the coordinator's to decide: the engine's, wired by the node. */
    private readonly outcomes: JobOutcomeHandler,
    options: Partial<CoordinatorOptions> = {},
  ) {
    this.options = { ...DEFAULT_COORDINATOR_OPTIONS, ...options };
    this.notifier = queue.notifier;
    this.queue = queue;
    this.workers = new WorkerRegistry(store, this.options);
    this.results = new ResultChecker(store, this.workers, this.options);
    this.zkLeaves = new ZkLeaves(store, { zkKeyOf: (id) => this.workers.zkKeyOf(id), now: () => this.options.now() });
  }

  // ---------------------------------------------------------------------------------------------------
  // Workers

  async registerWorker(registration: WorkerRegistration): Promise<WorkerRecord> {
    return this.workers.register(registration);
  }

  async workerSeen(workerId: string): Promise<void> {
    await this.workers.seen(workerId);
  }

  /** A worker leaves: it stops being offered jobs, and any job it still holds goes back to the queue. */
  async stopWorker(workerId: string, status: 'stopped' | 'dead' = 'stopped'): Promise<void> {
    await this.workers.stop(workerId, status);
    const held = await this.store.read.listJobIdsOfWorkers([workerId], LEASED_JOB_STATUSES);
    const code = status === 'dead' ? 'worker_died' : 'worker_stopped';
    for (const jobId of held)
      await this.releaseJob(
        jobId,
        {
          code,
          message: `the worker ${status === 'dead' ? 'died' : 'stopped'} while running this job`,
          retryable: true,
        },
        'coordinator',
      );
  }

  /**
   * Workers on this host whose process is gone (a kill -9, a crash) cannot heartbeat; rather than wait for
   * their leases to run out, mark them dead now and re-queue what they held.
   */
  async reapDeadLocalWorkers(): Promise<string[]> {
    const dead = await this.workers.deadLocalWorkers();
    for (const workerId of dead) await this.stopWorker(workerId, 'dead');
    return dead;
  }

  // ---------------------------------------------------------------------------------------------------
  // The job protocol, as a worker drives it

  /**
   * Assigns the next job this worker can serve. `start: true` (for workers that begin at once, like the
   * in-process one) also moves it to RUNNING in the same transaction, saving a round trip per job.
   */
  async claim(
    workerId: string,
    can: {
      stepTypes: readonly StepType[];
      models: readonly string[];
      modelDigests?: Readonly<Record<string, string>> | undefined;
    },
    options: { start?: boolean; probe?: boolean } = {},
  ): Promise<Assignment | undefined> {
    const now = this.options.now();
    const own = this.workers.isOwnActive(workerId);
    // Most claims by an idle worker find nothing; a read says so without taking the write lock. A claimer
    // told that a job was left for it (`probe: false`) skips the read.
    if (
      options.probe !== false &&
      !(await this.store.read.hasClaimableJob({
        workerId,
        stepTypes: can.stepTypes,
        models: can.models,
        ...(can.modelDigests && { modelDigests: can.modelDigests }),
        now,
      }))
    ) {
      if (!own) checkWorkerActive(await this.store.read.getWorker(workerId), workerId);
      return undefined;
    }
    const nonce = randomBytes(16).toString('hex');
    const job = await this.store.transaction(async (tx) => {
      if (!own) checkWorkerActive(await tx.getWorker(workerId), workerId);
      const claimed = await tx.claimJob({
        workerId,
        stepTypes: can.stepTypes,
        models: can.models,
        ...(can.modelDigests && { modelDigests: can.modelDigests }),
        now,
        leaseMs: this.options.leaseMs,
        nonce,
        ...(options.start === true && { start: true }),
      });
      if (!claimed) return undefined;
      tx.appendEvents([this.jobEvent(claimed, 'job.assigned', now, workerId)]);
      // Claimed straight to RUNNING: what starting records besides the job's status.
      if (options.start) await this.recordStart(tx, claimed, now);
      return claimed;
    });
    if (!job) return undefined;
    if (this.workers.inProcessWorker(workerId)) this.rememberInProcess(job);
    return assignmentOf(job, this.options.leaseMs, options.start === true);
  }

  /** ASSIGNED → RUNNING. False when the job is no longer this worker's to run. */
  async start(report: ResultReport): Promise<boolean> {
    const now = this.options.now();
    return this.store.transaction(async (tx) => {
      const job = await tx.getJob(report.jobId);
      if (!job || this.check(job, report, now) !== undefined || job.status !== 'assigned') return false;
      return this.startLocked(tx, job, now);
    });
  }

  private async startLocked(tx: StoreTx, job: JobRecord, now: number): Promise<boolean> {
    const done = await tx.updateJob(
      job.id,
      { status: 'running', startedAt: now },
      { status: ['assigned'], workerId: job.workerId!, nonce: job.nonce! },
    );
    if (!done) return false;
    await this.recordStart(tx, job, now);
    return true;
  }

  private async recordStart(tx: StoreTx, job: JobRecord, now: number): Promise<void> {
    tx.appendEvents([this.jobEvent(job, 'job.started', now, job.workerId!)]);
    await this.outcomes.jobStarted(tx, job, now);
  }

  /** Extends the lease. 'cancelled' and 'lost' tell the worker to stop the job. */
  async heartbeat(report: ResultReport): Promise<'ok' | 'cancelled' | 'lost'> {
    const now = this.options.now();
    const extended = await this.store.transaction((tx) =>
      tx.updateJob(
        report.jobId,
        { leaseExpiresAt: now + this.options.leaseMs },
        { status: LEASED_JOB_STATUSES, workerId: report.workerId, nonce: report.nonce },
      ),
    );
    if (extended) return 'ok';
    const job = await this.store.read.getJob(report.jobId);
    return job?.status === 'cancelled' ? 'cancelled' : 'lost';
  }

  /**
   * A worker reports a result with its signed attestation. The job is read once before the transaction,
   * and the output and attestation are checked against it there (the slow part, no lock held); then, with
   * the execution locked, the job is read again (the only read that counts for its state) and checked
   * (worker, attempt, nonce, deadline), and the result accepted. A refused report changes nothing; only
   * the worker holding the job leaves a record of its refusal in the history (refuseIfInvalid).
   */
  async complete(report: CompletionReport, next?: NextJob): Promise<ReportOutcome> {
    const assigned = await this.peek(report);
    if (!assigned) return this.unknownJob(report);
    const early = this.refuseForeign(assigned, report);
    if (early) return early;
    const output = await this.results.checkOutput(assigned, report);
    if (!output.ok) return this.failJob(assigned, { ...report, error: output.error }, next);
    const { outputDigest } = output;
    const attested = await this.results.checkAttestation(assigned, report, outputDigest);
    return this.underLock(
      assigned,
      async (tx, execution, job, now, step) => {
        const refused = await this.refuseIfInvalid(tx, execution, job, report, now);
        if (refused) return refused;
        if (!attested.ok) {
          tx.appendEvents([
            {
              ...this.jobEvent(job, 'result.refused', now, report.workerId),
              data: { reason: 'bad_attestation', problems: attested.problems },
            },
          ]);
          return {
            accepted: false,
            reason: 'bad_attestation',
            message: `the attestation does not match the job: ${attested.problems.join('; ')}`,
          };
        }
        this.offerNext(tx, report.workerId, next);
        const cost = attested.predicate?.cost ?? job.reserved;
        // refuseIfInvalid has seen the job leased to this worker, under the execution's lock.
        await tx.writeJob(job.id, { status: 'completed', finishedAt: now, cost }, { status: LEASED_JOB_STATUSES });
        // The execution's owner may read the blobs its steps produced.
        await tx.grantBlobs(output.grants(now), execution.clientId, now);
        tx.appendEvents([
          {
            ...this.jobEvent(job, 'job.completed', now, report.workerId),
            data: { outputDigest, attestationDigest: attested.digest },
          },
        ]);
        const result: AcceptedResult = {
          output: report.outputBlob ?? report.output,
          ...(report.outputBlob !== undefined && { outputStorage: 'blob' as const }),
          outputDigest,
          cost,
          workerId: report.workerId,
          ...(job.principal !== undefined && { principal: job.principal }),
          ...(report.attestation &&
            attested.predicate && {
              attestation: report.attestation,
              attestationDigest: attested.digest,
              workerKeyId: attested.predicate.workerKeyId,
            }),
        };
        await this.outcomes.jobSucceeded(tx, execution, job, result, now, step);
        tx.afterCommit(() =>
          this.events.emit('completed', {
            stepId: job.stepId,
            durationMs: now - (job.startedAt ?? job.assignedAt ?? now),
          }),
        );
        return { accepted: true };
      },
      unknownJob(report.jobId),
    );
  }

  /** At level zk, after an accepted result: the worker's Baby Jubjub signature of the step leaf. */
  reportZkLeaf(report: ZkLeafReport): Promise<ReportOutcome> {
    return this.zkLeaves.report(report);
  }

  async fail(report: FailureReport, next?: NextJob): Promise<ReportOutcome> {
    const assigned = await this.peek(report);
    if (!assigned) return this.unknownJob(report);
    return this.failJob(assigned, report, next);
  }

  /**
   * The job a report names, as it was before the report's transaction: what says which execution to lock
   * and what the output is checked against before the lock (the state that counts is read under it). For a
   * job this process assigned to one of its own workers it is the record as assigned, with no read.
   */
  private async peek(report: ResultReport): Promise<JobRecord | undefined> {
    const known = this.inProcessJobs.get(report.jobId);
    if (known) {
      this.inProcessJobs.delete(report.jobId);
      if (known.workerId === report.workerId) return known;
    }
    return this.store.read.getJob(report.jobId);
  }

  private rememberInProcess(job: JobRecord): void {
    // Jobs whose worker stopped without reporting are never taken out; a bound keeps them from piling up.
    if (this.inProcessJobs.size >= IN_PROCESS_JOBS_CAP) this.inProcessJobs.clear();
    this.inProcessJobs.set(job.id, job);
  }

  /**
   * Offers the first job this report's transaction queues to the reporting slot, when it is one of this
   * process's own workers about to claim again (HandOff): a remote worker claims over HTTP as before.
   */
  private offerNext(tx: StoreTx, workerId: string, next: NextJob | undefined): void {
    const worker = next && this.workers.inProcessWorker(workerId);
    if (!next || !worker) return;
    this.queue.offer(tx, {
      workerId,
      principal: worker.principal,
      capabilities: worker.capabilities,
      leaseMs: this.options.leaseMs,
      taken: () => next.taken(),
      deliver: (assignment, job) => {
        this.rememberInProcess(job);
        next.deliver(assignment);
      },
    });
  }

  /** Fails a job already read outside the transaction (by fail, or by complete for an output it refuses). */
  private async failJob(assigned: JobRecord, report: FailureReport, next?: NextJob): Promise<ReportOutcome> {
    const early = this.refuseForeign(assigned, report);
    if (early) return early;
    return this.underLock(
      assigned,
      async (tx, execution, job, now, step) => {
        const refused = await this.refuseIfInvalid(tx, execution, job, report, now);
        if (refused) return refused;
        await tx.writeJob(
          job.id,
          { status: 'failed', finishedAt: now, cost: report.cost, error: report.error },
          { status: LEASED_JOB_STATUSES },
        );
        tx.appendEvents([{ ...this.jobEvent(job, 'job.failed', now, report.workerId), data: { error: report.error } }]);
        tx.afterCommit(() => this.events.emit('failed', { stepId: job.stepId, code: report.error.code }));
        this.offerNext(tx, report.workerId, next);
        await this.outcomes.jobFailed(tx, execution, job, { error: report.error, cost: report.cost }, now, step);
        return { accepted: true };
      },
      unknownJob(report.jobId),
    );
  }

  /** Expires a leased job whose lease or deadline has passed (the sweeper calls this). */
  async expire(jobId: string): Promise<boolean> {
    return this.withLockedJob(
      jobId,
      async (tx, execution, job, now) => {
        if (!LEASED_JOB_STATUSES.includes(job.status)) return false;
        const timedOut = job.deadlineAt !== undefined && job.deadlineAt <= now;
        const error: ErrorInfo = timedOut
          ? {
              code: 'step_timeout',
              message: `the step did not finish within ${job.timeoutMs / 1000} s`,
              retryable: true,
            }
          : {
              code: 'lease_expired',
              message: 'the worker stopped heartbeating; the job was re-queued',
              retryable: true,
            };
        return this.expireLocked(tx, execution, job, error, now, { expiredAt: now });
      },
      false,
    );
  }

  /** Takes a job back from its worker (it stopped or died) and lets the engine retry the step. */
  private async releaseJob(jobId: string, error: ErrorInfo, actor: string): Promise<boolean> {
    return this.withLockedJob(
      jobId,
      async (tx, execution, job, now) => {
        if (!LEASED_JOB_STATUSES.includes(job.status)) return false;
        return this.expireLocked(tx, execution, job, error, now, {}, actor);
      },
      false,
    );
  }

  private async expireLocked(
    tx: StoreTx,
    execution: ExecutionRecord,
    job: JobRecord,
    error: ErrorInfo,
    now: number,
    guard: { expiredAt?: number },
    actor = 'sweeper',
  ): Promise<boolean> {
    const done = await tx.updateJob(
      job.id,
      { status: 'expired', finishedAt: now, error },
      { status: LEASED_JOB_STATUSES, ...guard },
    );
    if (!done) return false;
    tx.appendEvents([{ ...this.jobEvent(job, 'job.expired', now, job.workerId ?? ''), actor, data: { error } }]);
    tx.afterCommit(() => this.events.emit('expired', { stepId: job.stepId, code: error.code }));
    await this.outcomes.jobFailed(tx, execution, job, { error }, now);
    return true;
  }

  // ---------------------------------------------------------------------------------------------------

  private check(
    job: JobRecord,
    report: ResultReport,
    now: number,
  ): { reason: RefusalReason; message: string } | undefined {
    if (job.workerId !== report.workerId)
      return { reason: 'not_assigned', message: 'this job is not assigned to this worker' };
    if (job.attempt !== report.attempt)
      return { reason: 'stale_attempt', message: `the job is attempt ${job.attempt}, not ${report.attempt}` };
    if (job.nonce !== report.nonce)
      return { reason: 'bad_nonce', message: 'the job nonce does not match the assignment' };
    if (job.status === 'cancelled') return { reason: 'cancelled', message: 'the job was cancelled' };
    if (job.status === 'expired') return { reason: 'expired', message: 'the job expired and was re-queued' };
    if (!LEASED_JOB_STATUSES.includes(job.status))
      return { reason: 'already_finished', message: `the job is already ${job.status}` };
    if (job.deadlineAt !== undefined && now > job.deadlineAt)
      return { reason: 'late', message: 'the result arrived after the step deadline' };
    return undefined;
  }

  /** Refuses a report that does not match its job; a late one also expires the job so the step moves on. */
  private async refuseIfInvalid(
    tx: StoreTx,
    execution: ExecutionRecord,
    job: JobRecord,
    report: ResultReport,
    now: number,
  ): Promise<ReportOutcome | undefined> {
    const problem = this.check(job, report, now);
    if (!problem) return undefined;
    // Only the worker that holds the job, while it holds it, writes its refusals into the history. Anyone
    // else (another worker, or the holder once the job is over) would be writing into an execution that is
    // not theirs, as often as they like: that is counted and logged (JobEvents.refused), never stored.
    if (job.workerId === report.workerId && LEASED_JOB_STATUSES.includes(job.status)) {
      tx.appendEvents([
        {
          ...this.jobEvent(job, 'result.refused', now, report.workerId),
          data: { reason: problem.reason, attempt: report.attempt },
        },
      ]);
    } else {
      tx.afterCommit(() =>
        this.events.emit('refused', { reason: problem.reason, jobId: job.id, workerId: report.workerId }),
      );
    }
    if (problem.reason === 'late') {
      const error: ErrorInfo = {
        code: 'step_timeout',
        message: `the step did not finish within ${job.timeoutMs / 1000} s`,
        retryable: true,
      };
      await this.expireLocked(tx, execution, job, error, now, {});
    }
    return { accepted: false, ...problem };
  }

  /**
   * Refuses, without a transaction, a report that can never be accepted whatever happens next: for a job
   * assigned to another worker (a job's worker never changes once assigned) or one already over (its
   * status is final). Such reports are counted, not written anywhere: a worker spamming another's job
   * costs the store one read per report.
   */
  private refuseForeign(job: JobRecord, report: ResultReport): ReportOutcome | undefined {
    const foreign = job.workerId !== undefined && job.workerId !== report.workerId;
    const over = !ACTIVE_JOB_STATUSES.includes(job.status);
    if (!foreign && !over) return undefined;
    const problem = this.check(job, report, this.options.now());
    if (!problem) return undefined;
    this.events.emit('refused', { reason: problem.reason, jobId: job.id, workerId: report.workerId });
    return { accepted: false, ...problem };
  }

  /** A report for a job that does not exist: there is no history to write to; it is counted. */
  private unknownJob(report: ResultReport): ReportOutcome {
    this.events.emit('refused', { reason: 'unknown_job', jobId: report.jobId, workerId: report.workerId });
    return unknownJob(report.jobId);
  }

  private jobEvent(job: JobRecord, type: string, at: number, workerId: string) {
    return {
      executionId: job.executionId,
      at,
      type,
      stepId: job.stepId,
      jobId: job.id,
      attempt: job.attempt,
      actor: `worker:${workerId}`,
    };
  }

  /** Runs fn with the job's execution locked and the job re-read under that lock. */
  private async withLockedJob<T>(
    jobId: string,
    fn: (tx: StoreTx, execution: ExecutionRecord, job: JobRecord, now: number) => Promise<T>,
    missing: T,
  ): Promise<T> {
    const peek = await this.store.read.getJob(jobId);
    if (!peek) return missing;
    return this.underLock(peek, fn, missing);
  }

  /**
   * Runs fn with the execution of a job read before (which says which execution to lock) locked, and the
   * job re-read under that lock: only that read says the job's state, since it may have moved since.
   */
  private async underLock<T>(
    peek: JobRecord,
    fn: (tx: StoreTx, execution: ExecutionRecord, job: JobRecord, now: number, step?: StepRecord) => Promise<T>,
    missing: T,
  ): Promise<T> {
    return this.store.transaction(async (tx) => {
      const locked = await tx.lockExecutionWithJob(peek.executionId, peek.id);
      if (!locked?.job) return missing;
      return fn(tx, locked.execution, locked.job, this.options.now(), locked.step);
    });
  }
}

function unknownJob(jobId: string): ReportOutcome {
  return { accepted: false, reason: 'unknown_job', message: `no job ${jobId}` };
}
