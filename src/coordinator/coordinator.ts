import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { v7 as uuidv7 } from 'uuid';
import { jsonDigest } from '../attest/digest.js';
import { jobMayName } from '../blobs/grants.js';
import { checkOutputBlobs, notGranted } from './output-blobs.js';
import type { BlobRef } from '../blobs/blob-ref.js';
import { readJsonBlob } from '../blobs/json-blob.js';
import type { Envelope } from '../attest/dsse.js';
import { keyIdOf, publicKeyFromPem, publicKeyToPem } from '../attest/keys.js';
import { checkStepAttestation } from '../attest/statement.js';
import { nodeVerifyEd25519 } from '../keys/node-verify.js';
import type { StepPredicate } from '../attest/statement.js';
import type { ErrorInfo, ExecutionRecord, JobRecord, JobSpec, WorkerRecord } from '../store/records.js';
import { LEASED_JOB_STATUSES } from '../store/records.js';
import type { Store, StoreTx } from '../store/store.js';
import { exceedsDepth } from '../workflow/json-depth.js';
import { LIMITS } from '../workflow/limits.js';
import type { StepType } from '../workflow/types.js';
import { CoordinatorError } from './errors.js';
import { DEFAULT_REGISTRATION_CAPS, checkRegistrationCaps } from './registration-caps.js';
import type { RegistrationCaps } from './registration-caps.js';
import type { JobNotifier } from './notifier.js';
import type { JobQueue } from './job-queue.js';
import type { AcceptedResult, JobOutcomeHandler } from './job-outcomes.js';
import { isProcessAlive } from './process.js';
import { parseZkPublicKey, verifyZkSignature } from '../zk/babyjub.js';
import type { ZkPublicKey } from '../zk/babyjub.js';
import { stepLeaf } from '../zk/chain.js';
import { loadPoseidon } from '../zk/poseidon.js';

/** A job as handed to a worker: everything it needs to run it and to report back. */
export interface Assignment {
  jobId: string;
  executionId: string;
  stepId: string;
  attempt: number;
  nonce: string;
  stepType: StepType;
  spec: JobSpec;
  input: unknown;
  inputDigest: string;
  /** Budget reserved for this job: what it may cost at most. */
  maxCost: number;
  assignedAt: number;
  deadlineAt: number;
  leaseMs: number;
  /** Already RUNNING (claimed with `start: true`); the worker skips its start call. */
  started: boolean;
}

export interface ResultReport {
  jobId: string;
  workerId: string;
  attempt: number;
  nonce: string;
}

export type RefusalReason =
  | 'unknown_job'
  | 'not_assigned'
  | 'stale_attempt'
  | 'bad_nonce'
  | 'late'
  | 'cancelled'
  | 'expired'
  | 'already_finished'
  | 'invalid_output'
  | 'bad_attestation';

export type ReportOutcome = { accepted: true } | { accepted: false; reason: RefusalReason; message: string };

export interface WorkerRegistration {
  id?: string;
  name: string;
  kind: WorkerRecord['kind'];
  capabilities: WorkerRecord['capabilities'];
  concurrency: number;
  /** The worker's Ed25519 public key (SPKI PEM): every result it reports must be attested with it. */
  publicKeyPem?: string;
  /**
   * For a remote worker: the API key principal that registered it, the only one that may speak for it.
   * For an in-process worker: whom it speaks for, set by the node's own code (CoordinatorOptions.localPrincipal
   * by default). A redundancy quorum counts principals.
   */
  principal?: string;
  /** The worker's Baby Jubjub key: it signs step leaves at verification level zk; it joins the worker registry. */
  zkPublicKey?: ZkPublicKey;
}

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

/**
 * The coordinator owns jobs: the queue, claims under leases, heartbeats, results and the worker registry.
 * It checks every report against the job it names (worker, attempt, nonce, deadline) before the engine
 * sees it, and it never decides what runs next: that is the JobOutcomeHandler's (the engine's). Jobs enter
 * the queue through JobQueue, which the engine holds.
 *
 * Lock order, everywhere: the execution row first, then its jobs and steps. Only claims and heartbeats
 * touch a job without the execution lock, and both are single guarded statements.
 */
/** What happened to jobs, after commit, for whoever watches this process (metrics). */
export interface JobEvents {
  completed: [{ stepId: string; durationMs: number }];
  failed: [{ stepId: string; code: string }];
  expired: [{ stepId: string; code: string }];
  /** A report refused without a trace in the history: for a job the reporting worker does not hold, or no job at all. */
  refused: [{ reason: RefusalReason; jobId: string; workerId: string }];
}

export class Coordinator {
  readonly events = new EventEmitter<JobEvents>();
  readonly options: CoordinatorOptions;
  /** Idle claimers in this process wait here; the queue wakes them when jobs are queued or cancelled. */
  readonly notifier: JobNotifier;

  constructor(
    private readonly store: Store,
    queue: JobQueue,
    /** What a job's outcome means for its execution is not the coordinator's to decide: the engine's, wired by the node. */
    private readonly outcomes: JobOutcomeHandler,
    options: Partial<CoordinatorOptions> = {},
  ) {
    this.options = { ...DEFAULT_COORDINATOR_OPTIONS, ...options };
    this.notifier = queue.notifier;
  }

  // ---------------------------------------------------------------------------------------------------
  // Workers

  async registerWorker(registration: WorkerRegistration): Promise<WorkerRecord> {
    const now = this.options.now();
    let keyId: string | undefined;
    if (registration.publicKeyPem !== undefined) {
      try {
        keyId = keyIdOf(publicKeyFromPem(registration.publicKeyPem));
      } catch (error) {
        throw new CoordinatorError('invalid_key', `the worker's public key is unusable: ${(error as Error).message}`, { cause: error });
      }
    } else if (this.options.requireAttestations) {
      throw new CoordinatorError('invalid_key', 'a worker must register its Ed25519 public key: it signs every result with it');
    }
    let zkPublicKey: ZkPublicKey | undefined;
    if (registration.zkPublicKey !== undefined) {
      try {
        zkPublicKey = parseZkPublicKey(registration.zkPublicKey);
      } catch (error) {
        throw new CoordinatorError('invalid_key', `the worker's Baby Jubjub key is unusable: ${(error as Error).message}`, { cause: error });
      }
    }
    // In-process workers speak for the node unless its code says otherwise; remote ones for their API key.
    const principal = registration.principal ?? (registration.kind === 'local' ? this.options.localPrincipal : undefined);
    const record: WorkerRecord = {
      id: registration.id ?? `${registration.kind}-${uuidv7()}`,
      name: registration.name,
      kind: registration.kind,
      host: hostname(),
      pid: process.pid,
      capabilities: registration.capabilities,
      concurrency: registration.concurrency,
      status: 'active',
      startedAt: now,
      lastSeenAt: now,
      ...(keyId !== undefined && { keyId }),
      ...(principal !== undefined && { principal }),
      ...(zkPublicKey && { zkPublicKey }),
    };
    await this.store.transaction(async (tx) => {
      // The caps hold Sybils back: one API key cannot out-vote others or fill the zk registry with keys.
      if (registration.kind === 'remote' && principal !== undefined) {
        await checkRegistrationCaps(tx, this.options.caps, { principal, ...(keyId !== undefined && { keyId }), ...(zkPublicKey && { zkPublicKey }) });
      }
      if (zkPublicKey) await tx.registerZkKey(zkPublicKey.x, zkPublicKey.y, record.id, now);
      if (keyId !== undefined) {
        await tx.putKey({ keyId, role: 'worker', publicKeyPem: publicKeyToPem(publicKeyFromPem(registration.publicKeyPem!)), createdAt: now });
      }
      await tx.upsertWorker(record);
      await tx.appendEvents([{ at: now, type: 'worker.registered', actor: `worker:${record.id}`, data: { name: record.name } }]);
    });
    if (keyId !== undefined && registration.id === undefined) this.localWorkerKeys.set(record.id, keyId);
    if (zkPublicKey) this.zkWorkerKeys.set(record.id, zkPublicKey);
    return record;
  }

  async workerSeen(workerId: string): Promise<void> {
    await this.store.transaction((tx) => tx.updateWorker(workerId, { lastSeenAt: this.options.now() }));
  }

  /** A worker leaves: it stops being offered jobs, and any job it still holds goes back to the queue. */
  async stopWorker(workerId: string, status: 'stopped' | 'dead' = 'stopped'): Promise<void> {
    const now = this.options.now();
    this.localWorkerKeys.delete(workerId);
    this.zkWorkerKeys.delete(workerId);
    await this.store.transaction(async (tx) => {
      await tx.updateWorker(workerId, { status, lastSeenAt: now });
      await tx.appendEvents([{ at: now, type: `worker.${status}`, actor: `worker:${workerId}` }]);
    });
    const held = await this.store.read.listJobIdsOfWorkers([workerId], LEASED_JOB_STATUSES);
    const code = status === 'dead' ? 'worker_died' : 'worker_stopped';
    for (const jobId of held) await this.releaseJob(jobId, { code, message: `the worker ${status === 'dead' ? 'died' : 'stopped'} while running this job`, retryable: true }, 'coordinator');
  }

  /**
   * Workers on this host whose process is gone (a kill -9, a crash) cannot heartbeat; rather than wait for
   * their leases to run out, mark them dead now and re-queue what they held. Workers elsewhere are left to
   * lease expiry, since their liveness cannot be checked from here.
   */
  async reapDeadLocalWorkers(): Promise<string[]> {
    const host = hostname();
    const dead = (await this.store.read.listWorkers()).filter(
      (w) => w.status === 'active' && w.kind === 'local' && w.host === host && w.pid !== process.pid && !isProcessAlive(w.pid),
    );
    for (const worker of dead) await this.stopWorker(worker.id, 'dead');
    return dead.map((w) => w.id);
  }

  // ---------------------------------------------------------------------------------------------------
  // The job protocol, as a worker drives it

  /**
   * Assigns the next job this worker can serve. `start: true` (for workers that begin at once, like the
   * in-process one) also moves it to RUNNING in the same transaction, saving a round trip per job.
   */
  async claim(
    workerId: string,
    can: { stepTypes: readonly StepType[]; models: readonly string[]; modelDigests?: Readonly<Record<string, string>> | undefined },
    options: { start?: boolean } = {},
  ): Promise<Assignment | undefined> {
    const now = this.options.now();
    // Most claims by an idle worker find nothing; a read says so without taking the write lock.
    if (!(await this.store.read.hasClaimableJob({ workerId, stepTypes: can.stepTypes, models: can.models, ...(can.modelDigests && { modelDigests: can.modelDigests }), now }))) {
      this.checkWorker(await this.store.read.getWorker(workerId), workerId);
      return undefined;
    }
    const nonce = randomBytes(16).toString('hex');
    const job = await this.store.transaction(async (tx) => {
      this.checkWorker(await tx.getWorker(workerId), workerId);
      const claimed = await tx.claimJob({
        workerId,
        stepTypes: can.stepTypes,
        models: can.models,
        ...(can.modelDigests && { modelDigests: can.modelDigests }),
        now,
        leaseMs: this.options.leaseMs,
        nonce,
      });
      if (!claimed) return undefined;
      await tx.appendEvents([this.jobEvent(claimed, 'job.assigned', now, workerId)]);
      if (options.start) await this.startLocked(tx, claimed, now);
      return claimed;
    });
    if (!job) return undefined;
    return {
      jobId: job.id,
      executionId: job.executionId,
      stepId: job.stepId,
      attempt: job.attempt,
      nonce,
      stepType: job.stepType,
      spec: job.spec,
      input: job.input,
      inputDigest: job.inputDigest,
      maxCost: job.reserved,
      assignedAt: now,
      deadlineAt: job.deadlineAt!,
      leaseMs: this.options.leaseMs,
      started: options.start === true,
    };
  }

  private checkWorker(worker: WorkerRecord | undefined, workerId: string): void {
    if (!worker) throw new CoordinatorError('unknown_worker', `no worker ${workerId}; register first`, { context: { workerId } });
    if (worker.status !== 'active') {
      throw new CoordinatorError('worker_stopped', `worker ${workerId} is ${worker.status}; register again to take jobs`, {
        context: { workerId },
      });
    }
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
    const done = await tx.updateJob(job.id, { status: 'running', startedAt: now }, { status: ['assigned'], workerId: job.workerId!, nonce: job.nonce! });
    if (!done) return false;
    await tx.appendEvents([this.jobEvent(job, 'job.started', now, job.workerId!)]);
    await this.outcomes.jobStarted(tx, job, now);
    return true;
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
   * A worker reports a result with its signed attestation. The attestation is checked (outside the
   * transaction: it is the slow part) against the job as assigned and the worker's registered key; then,
   * with the execution locked, the job itself is checked again (worker, attempt, nonce, deadline) and the
   * result accepted. A refused report changes nothing; only the worker holding the job leaves a record of
   * its refusal in the history (refuseIfInvalid).
   */
  async complete(report: ResultReport & { output?: unknown; outputBlob?: BlobRef | undefined; attestation?: Envelope | undefined }): Promise<ReportOutcome> {
    const first = await this.store.read.getJob(report.jobId);
    if (!first) return this.unknownJob(report);
    const early = this.refuseForeign(first, report);
    if (early) return early;
    const namer = { jobId: first.id, ownerId: (await this.store.read.getExecution(first.executionId))?.clientId ?? '' };
    let outputDigest: string;
    // The value the output is: inline, or (too large for a row) the canonical JSON in a blob.
    let value: unknown = report.output;
    if (report.outputBlob !== undefined) {
      // Whether the job may name the blob comes before anything that reads it: what a read would say
      // (there is no such blob, it is not JSON) must not tell about another client's blob.
      if (!(await jobMayName(this.store, namer, report.outputBlob.$blob))) return this.fail({ ...report, error: notGranted(report.outputBlob.$blob) });
      const read = await this.readOutputBlob(report.outputBlob);
      if (!read.ok) return this.fail({ ...report, error: { code: 'invalid_output', message: read.problem, retryable: true } });
      value = read.value;
      outputDigest = read.digest;
    } else {
      // Before anything recurses over it: the digest, the store's serializer, the next steps' expressions.
      if (exceedsDepth(report.output, LIMITS.maxValueDepth)) return this.fail({ ...report, error: tooDeepOutput() });
      try {
        outputDigest = jsonDigest(report.output);
      } catch (error) {
        return this.fail({
          ...report,
          error: { code: 'invalid_output', message: `the step's output is not JSON: ${(error as Error).message}`, retryable: false },
        });
      }
    }
    const blobs = await checkOutputBlobs(this.store, this.options.blobs, value, report.outputBlob, namer);
    if (!blobs.ok) return this.fail({ ...report, error: blobs.error });
    const attested = await this.checkAttestation(first, report, outputDigest);
    return this.withLockedJob(report.jobId, async (tx, execution, job, now) => {
      const refused = await this.refuseIfInvalid(tx, execution, job, report, now);
      if (refused) return refused;
      if (!attested.ok) {
        await tx.appendEvents([{ ...this.jobEvent(job, 'result.refused', now, report.workerId), data: { reason: 'bad_attestation', problems: attested.problems } }]);
        return { accepted: false, reason: 'bad_attestation', message: `the attestation does not match the job: ${attested.problems.join('; ')}` };
      }
      const cost = attested.predicate?.cost ?? job.reserved;
      await tx.updateJob(job.id, { status: 'completed', finishedAt: now, cost }, { status: LEASED_JOB_STATUSES });
      // The execution's owner may read the blobs its steps produced.
      await tx.grantBlobs(blobs.records(now), execution.clientId, now);
      await tx.appendEvents([{ ...this.jobEvent(job, 'job.completed', now, report.workerId), data: { outputDigest, attestationDigest: attested.digest } }]);
      const result: AcceptedResult = {
        output: report.outputBlob ?? report.output,
        ...(report.outputBlob !== undefined && { outputStorage: 'blob' as const }),
        outputDigest,
        cost,
        workerId: report.workerId,
        ...(job.principal !== undefined && { principal: job.principal }),
        ...(report.attestation && attested.predicate && { attestation: report.attestation, attestationDigest: attested.digest, workerKeyId: attested.predicate.workerKeyId }),
      };
      await this.outcomes.jobSucceeded(tx, execution, job, result, now);
      tx.afterCommit(() => this.events.emit('completed', { stepId: job.stepId, durationMs: now - (job.startedAt ?? job.assignedAt ?? now) }));
      return { accepted: true };
    }, unknownJob(report.jobId));
  }

  /**
   * An output kept as a blob: the blob must hold the canonical JSON of a value, whose digest is then the
   * output's digest (the same the attestation signs), so the engine reads back exactly what was attested.
   */
  private async readOutputBlob(ref: BlobRef): Promise<{ ok: true; value: unknown; digest: string } | { ok: false; problem: string }> {
    const store = this.options.blobs;
    if (!store) return { ok: false, problem: 'this coordinator keeps no blobs: send the output inline' };
    let value: unknown;
    try {
      value = await readJsonBlob(store, ref);
    } catch (error) {
      return { ok: false, problem: `the output blob ${ref.$blob} cannot be used: ${(error as Error).message}` };
    }
    if (exceedsDepth(value, LIMITS.maxValueDepth)) return { ok: false, problem: tooDeepOutput().message };
    const digest = jsonDigest(value);
    if (`sha256:${digest}` !== ref.$blob) return { ok: false, problem: `the output blob ${ref.$blob} is not the canonical JSON (RFC 8785) of its value` };
    return { ok: true, value, digest };
  }

  /**
   * The attestation, checked outside the transaction (it is the slow part): signed by the key the worker
   * registered (node:crypto, synchronously: a thread-pool round trip costs more than the check), a step
   * statement about exactly this job, input and output.
   */
  private async checkAttestation(
    job: JobRecord,
    report: ResultReport & { attestation?: Envelope | undefined },
    outputDigest: string,
  ): Promise<{ ok: true; predicate?: StepPredicate; digest?: string } | { ok: false; problems: string[] }> {
    if (!report.attestation) {
      const required = this.options.requireAttestations || job.spec.requiresProof === true;
      return required ? { ok: false, problems: ['the result carries no attestation'] } : { ok: true };
    }
    const keyId = this.localWorkerKeys.get(report.workerId) ?? (await this.store.read.getWorker(report.workerId))?.keyId;
    if (!keyId) return { ok: false, problems: [`worker ${report.workerId} has no registered key`] };
    const publicKey = await this.publicKey(keyId);
    if (!publicKey) return { ok: false, problems: [`key ${keyId} is not known`] };
    const check = await checkStepAttestation(
      report.attestation,
      publicKey,
      {
        executionId: job.executionId,
        workflowDigest: job.spec.workflowDigest,
        stepId: job.stepId,
        attempt: job.attempt,
        jobId: job.id,
        ...(job.nonce !== undefined && { jobNonce: job.nonce }),
        inputDigest: job.inputDigest,
        outputDigest,
        workerId: report.workerId,
        workerKeyId: keyId,
      },
      nodeVerifyEd25519,
    );
    if (!check.ok || !check.predicate || !check.digest) return { ok: false, problems: check.problems };
    const modelProblems = modelMismatches(job.spec.model, check.predicate.model);
    if (modelProblems.length > 0) return { ok: false, problems: modelProblems };
    if (job.spec.zkLeaf) {
      const zkProblems = await this.zkLeafProblems(job, report.workerId, check.predicate, outputDigest);
      if (zkProblems.length > 0) return { ok: false, problems: zkProblems };
    }
    return { ok: true, predicate: check.predicate, digest: check.digest };
  }

  /**
   * At level zk the attestation carries the worker's Baby Jubjub signature of the step leaf. It is checked
   * here, against the key the worker registered, so a proof never has to fail later on a bad signature.
   */
  private async zkLeafProblems(job: JobRecord, workerId: string, predicate: StepPredicate, outputDigest: string): Promise<string[]> {
    if (!predicate.zk) return ['the execution runs at verification level zk; the attestation carries no Baby Jubjub signature of the step leaf'];
    const registered = this.zkWorkerKeys.get(workerId) ?? (await this.store.read.getWorker(workerId))?.zkPublicKey;
    if (!registered) return [`worker ${workerId} registered no Baby Jubjub key; it cannot take part in a zk execution`];
    if (registered.x !== predicate.zk.publicKey.x || registered.y !== predicate.zk.publicKey.y) return ['the attestation names a Baby Jubjub key other than the one the worker registered'];
    const h = await loadPoseidon();
    const leaf = stepLeaf(h, { executionId: job.executionId, workflowDigest: job.spec.workflowDigest, stepId: job.stepId, outputDigest });
    return (await verifyZkSignature(registered, leaf, predicate.zk.signature)) ? [] : ['the Baby Jubjub signature does not verify over the step leaf'];
  }

  private readonly keys = new Map<string, Uint8Array>();
  /**
   * Keys of the workers this coordinator registered itself (its in-process workers), so their results
   * need no read of the worker row. A worker id is registered once, with one key; other workers are read.
   */
  private readonly localWorkerKeys = new Map<string, string>();
  private readonly zkWorkerKeys = new Map<string, ZkPublicKey>();

  private async publicKey(keyId: string): Promise<Uint8Array | undefined> {
    const cached = this.keys.get(keyId);
    if (cached) return cached;
    const [record] = await this.store.read.getKeys([keyId]);
    if (!record) return undefined;
    const key = publicKeyFromPem(record.publicKeyPem);
    this.keys.set(keyId, key);
    return key;
  }

  async fail(report: ResultReport & { error: ErrorInfo; cost?: number | undefined }): Promise<ReportOutcome> {
    const peek = await this.store.read.getJob(report.jobId);
    if (!peek) return this.unknownJob(report);
    const early = this.refuseForeign(peek, report);
    if (early) return early;
    return this.withLockedJob(report.jobId, async (tx, execution, job, now) => {
      const refused = await this.refuseIfInvalid(tx, execution, job, report, now);
      if (refused) return refused;
      await tx.updateJob(job.id, { status: 'failed', finishedAt: now, cost: report.cost, error: report.error }, { status: LEASED_JOB_STATUSES });
      await tx.appendEvents([{ ...this.jobEvent(job, 'job.failed', now, report.workerId), data: { error: report.error } }]);
      tx.afterCommit(() => this.events.emit('failed', { stepId: job.stepId, code: report.error.code }));
      await this.outcomes.jobFailed(tx, execution, job, { error: report.error, cost: report.cost }, now);
      return { accepted: true };
    }, unknownJob(report.jobId));
  }

  /** Expires a leased job whose lease or deadline has passed (the sweeper calls this). */
  async expire(jobId: string): Promise<boolean> {
    return this.withLockedJob(jobId, async (tx, execution, job, now) => {
      if (!LEASED_JOB_STATUSES.includes(job.status)) return false;
      const timedOut = job.deadlineAt !== undefined && job.deadlineAt <= now;
      const error: ErrorInfo = timedOut
        ? { code: 'step_timeout', message: `the step did not finish within ${job.timeoutMs / 1000} s`, retryable: true }
        : { code: 'lease_expired', message: 'the worker stopped heartbeating; the job was re-queued', retryable: true };
      return this.expireLocked(tx, execution, job, error, now, { expiredAt: now });
    }, false);
  }

  /** Takes a job back from its worker (it stopped or died) and lets the engine retry the step. */
  private async releaseJob(jobId: string, error: ErrorInfo, actor: string): Promise<boolean> {
    return this.withLockedJob(jobId, async (tx, execution, job, now) => {
      if (!LEASED_JOB_STATUSES.includes(job.status)) return false;
      return this.expireLocked(tx, execution, job, error, now, {}, actor);
    }, false);
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
    const done = await tx.updateJob(job.id, { status: 'expired', finishedAt: now, error }, { status: LEASED_JOB_STATUSES, ...guard });
    if (!done) return false;
    await tx.appendEvents([{ ...this.jobEvent(job, 'job.expired', now, job.workerId ?? ''), actor, data: { error } }]);
    tx.afterCommit(() => this.events.emit('expired', { stepId: job.stepId, code: error.code }));
    await this.outcomes.jobFailed(tx, execution, job, { error }, now);
    return true;
  }

  // ---------------------------------------------------------------------------------------------------

  private check(job: JobRecord, report: ResultReport, now: number): { reason: RefusalReason; message: string } | undefined {
    if (job.workerId !== report.workerId) return { reason: 'not_assigned', message: 'this job is not assigned to this worker' };
    if (job.attempt !== report.attempt) return { reason: 'stale_attempt', message: `the job is attempt ${job.attempt}, not ${report.attempt}` };
    if (job.nonce !== report.nonce) return { reason: 'bad_nonce', message: 'the job nonce does not match the assignment' };
    if (job.status === 'cancelled') return { reason: 'cancelled', message: 'the job was cancelled' };
    if (job.status === 'expired') return { reason: 'expired', message: 'the job expired and was re-queued' };
    if (!LEASED_JOB_STATUSES.includes(job.status)) return { reason: 'already_finished', message: `the job is already ${job.status}` };
    if (job.deadlineAt !== undefined && now > job.deadlineAt) return { reason: 'late', message: 'the result arrived after the step deadline' };
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
      await tx.appendEvents([
        { ...this.jobEvent(job, 'result.refused', now, report.workerId), data: { reason: problem.reason, attempt: report.attempt } },
      ]);
    } else {
      tx.afterCommit(() => this.events.emit('refused', { reason: problem.reason, jobId: job.id, workerId: report.workerId }));
    }
    if (problem.reason === 'late') {
      const error: ErrorInfo = { code: 'step_timeout', message: `the step did not finish within ${job.timeoutMs / 1000} s`, retryable: true };
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
    const over = job.status !== 'queued' && !LEASED_JOB_STATUSES.includes(job.status);
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
    return { executionId: job.executionId, at, type, stepId: job.stepId, jobId: job.id, attempt: job.attempt, actor: `worker:${workerId}` };
  }

  /** Runs fn with the job's execution locked and the job re-read under that lock. */
  private async withLockedJob<T>(
    jobId: string,
    fn: (tx: StoreTx, execution: ExecutionRecord, job: JobRecord, now: number) => Promise<T>,
    missing: T,
  ): Promise<T> {
    const peek = await this.store.read.getJob(jobId);
    if (!peek) return missing;
    return this.store.transaction(async (tx) => {
      const execution = await tx.lockExecution(peek.executionId);
      const job = await tx.getJob(jobId);
      if (!execution || !job) return missing;
      return fn(tx, execution, job, this.options.now());
    });
  }
}

function unknownJob(jobId: string): ReportOutcome {
  return { accepted: false, reason: 'unknown_job', message: `no job ${jobId}` };
}

/**
 * The model an attestation says ran must be the one the step asked for: the same name, and the version and
 * digest wherever the step pins them. A worker that ran something else cannot have its result accepted.
 */
function modelMismatches(asked: JobSpec['model'], ran: StepPredicate['model']): string[] {
  if (!asked) return [];
  if (!ran) return [`the step needs model ${asked.name}; the attestation names no model`];
  const problems: string[] = [];
  if (ran.name !== asked.name) problems.push(`the step needs model ${asked.name}; the attestation says ${ran.name} ran`);
  if (asked.version !== undefined && ran.version !== asked.version) problems.push(`the step pins ${asked.name} version ${asked.version}; the attestation says ${ran.version ?? 'no version'}`);
  if (asked.digest !== undefined && ran.digest !== asked.digest) problems.push(`the step pins ${asked.name} digest ${asked.digest}; the attestation says ${ran.digest ?? 'no digest'}`);
  return problems;
}

function tooDeepOutput(): { code: string; message: string; retryable: boolean } {
  return { code: 'invalid_output', message: `the step's output nests deeper than ${LIMITS.maxValueDepth} levels; flatten it`, retryable: false };
}
