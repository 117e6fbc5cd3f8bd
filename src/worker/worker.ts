import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Assignment, ReportOutcome, ResultReport } from '../coordinator/protocol.js';
import { describeError } from '../errors.js';
import type { ExecutorResult } from '../executors/executor.js';
import { ExecutorError } from '../executors/executor.js';
import type { ExecutorRegistry } from '../executors/registry.js';
import type { ErrorInfo } from '../store/records.js';
import { applyOutputMappings } from '../workflow/context.js';
import type { ExpressionEvaluator } from '../expressions/evaluator.js';
import { ProcessEvaluator } from '../expressions/node/process-evaluator.js';
import { utf8 } from '../attest/bytes.js';
import { canonicalJson } from '../attest/canonical.js';
import { sha256Hex } from '../attest/digest.js';
import { jobPredicate } from './job-predicate.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../attest/dsse.js';
import type { Envelope } from '../attest/dsse.js';
import { publicKeyToPem } from '../attest/keys.js';
import type { Signer } from '../attest/keys.js';
import { statementBytes, stepStatement } from '../attest/statement.js';
import type { WorkerClient } from './client.js';
import type { ZkSigner } from '../zk/babyjub.js';
import { stepLeaf } from '../attest/zk/chain.js';
import { loadPoseidon } from '../zk/poseidon.js';

/** A worker that had no job start or end for this long is idle: its leaf signatures (level zk) go then. */
const LEAF_IDLE_MS = 25;
/** Leaf signatures wait for an idle moment no longer than this, so a busy worker still sends them. */
const LEAF_MAX_DEFER_MS = 2000;

export interface WorkerOptions {
  name: string;
  /** The worker's identity: it signs the attestation of every result with this key. */
  signer: Signer | undefined;
  /** Its Baby Jubjub key: it signs step leaves at verification level zk, and is registered with the coordinator. */
  zkSigner?: ZkSigner;
  /** Jobs run at once. Default: 16 (slots are async tasks; CPU-heavy executors bring their own threads). */
  concurrency: number;
  /** How long one claim waits for work before asking again. Default: 1 s. */
  pollMs: number;
  /** How often a running job's lease is renewed. Default: a third of the lease. */
  heartbeatMs?: number;
  /** Where executors may read files that inputs name: only a local CLI run sets it (ExecutorContext.inputFileDir). */
  inputFileDir?: string;
  /**
   * Outputs whose canonical JSON is larger than this many bytes are stored as a blob and reported by
   * reference, so large model outputs never bloat a database row. Default: 256 KiB.
   */
  outputBlobBytes: number;
  /**
   * Where step expressions and output mappings run. Default: a sandbox of this worker's own (child
   * processes, started on first use, stopped with the worker).
   */
  expressions?: ExpressionEvaluator;
  onError: (error: unknown, context: Record<string, unknown>) => void;
}

export const DEFAULT_WORKER_OPTIONS: Omit<WorkerOptions, 'signer'> = {
  name: `${hostname()}:${process.pid}`,
  concurrency: 16,
  pollMs: 1000,
  outputBlobBytes: 256 * 1024,
  onError: () => undefined,
};

type StopReason = 'timeout' | 'cancelled' | 'lost' | 'shutdown';

class JobStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`job stopped: ${reason}`);
  }
}

/**
 * A worker: claims jobs it can serve, runs each in an executor under a lease it keeps alive, applies the
 * step's output mappings, and reports the result. It holds no state worth keeping: if it dies, its leases
 * run out and the coordinator hands the jobs to someone else.
 */
export class Worker {
  readonly options: WorkerOptions;
  private workerId: string | undefined;
  private leaseMs = 15_000;
  private stopping = new AbortController();
  private slots: Promise<void>[] = [];
  private readonly running = new Map<string, AbortController>();
  /** Leaf signatures (level zk) being made or sent, after their results were accepted. */
  private readonly leafSends = new Set<Promise<void>>();
  /** Leaf signatures waiting for the worker to be idle: each starts its own when called. */
  private readonly leafQueue: (() => void)[] = [];
  private leafQueuedSince: number | undefined;
  private leafTimer: NodeJS.Timeout | undefined;
  private lastJobActivity = 0;
  private seenTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly expressions: ExpressionEvaluator;
  private readonly ownsExpressions: boolean;

  constructor(
    private readonly client: WorkerClient,
    private readonly executors: ExecutorRegistry,
    options: Partial<WorkerOptions> & Pick<WorkerOptions, 'signer'>,
  ) {
    this.options = { ...DEFAULT_WORKER_OPTIONS, ...options };
    this.ownsExpressions = options.expressions === undefined;
    // A step expression may use up to the step's time; the sandbox's own cap is the longest a step may ask for.
    this.expressions =
      options.expressions ?? new ProcessEvaluator({ name: 'worker expression evaluator', maxTimeoutMs: 10 * 60_000 });
  }

  get id(): string | undefined {
    return this.workerId;
  }

  get activeJobs(): number {
    return this.running.size;
  }

  async start(): Promise<string> {
    await this.executors.prepare();
    const { workerId, leaseMs } = await this.client.register({
      name: this.options.name,
      capabilities: this.executors.capabilities,
      concurrency: this.options.concurrency,
      ...(this.options.signer && { publicKeyPem: publicKeyToPem(this.options.signer.publicKey) }),
      ...(this.options.zkSigner && { zkPublicKey: this.options.zkSigner.publicKey }),
    });
    this.workerId = workerId;
    this.leaseMs = leaseMs;
    this.stopping = new AbortController();
    // Every slot listens for the stop; that is not a leak.
    setMaxListeners(0, this.stopping.signal);
    this.unsubscribe = this.client.onCancelled?.((ids) => {
      for (const id of ids) this.running.get(id)?.abort(new JobStopped('cancelled'));
    });
    this.seenTimer = setInterval(() => {
      this.client.seen(workerId).catch((error: unknown) => this.options.onError(error, { workerId }));
    }, 10_000);
    this.seenTimer.unref();
    this.slots = Array.from({ length: this.options.concurrency }, (_, slot) => this.slot(workerId, slot));
    return workerId;
  }

  /**
   * Stops taking work, lets running jobs finish for up to `drainMs`, then stops the rest and hands their
   * jobs back (the coordinator re-queues them as new attempts).
   */
  async stop(drainMs = 10_000): Promise<void> {
    if (this.workerId === undefined) return;
    this.stopping.abort();
    const drained = Promise.all(this.slots);
    const cancelTimer = new AbortController();
    const timer = sleep(drainMs, 'timeout' as const, { signal: cancelTimer.signal }).catch(() => 'drained' as const);
    const outcome = await Promise.race([drained.then(() => 'drained' as const), timer]);
    cancelTimer.abort();
    if (outcome === 'timeout') {
      for (const controller of this.running.values()) controller.abort(new JobStopped('shutdown'));
      await drained;
    }
    // Leaf signatures of accepted results still on their way: the proofs need them.
    this.flushLeaves();
    await Promise.all(this.leafSends);
    clearInterval(this.seenTimer);
    this.unsubscribe?.();
    await this.client.deregister(this.workerId);
    this.workerId = undefined;
    if (this.ownsExpressions) await this.expressions.close();
  }

  private async slot(workerId: string, slot: number): Promise<void> {
    const stopping = this.stopping.signal;
    while (!stopping.aborted) {
      let job: Assignment | undefined;
      try {
        job = await this.client.claim(workerId, this.executors.capabilities, this.options.pollMs, stopping);
      } catch (error) {
        this.options.onError(error, { workerId, slot, during: 'claim' });
        await sleep(1000, undefined, { signal: stopping }).catch(() => undefined);
        continue;
      }
      if (!job) continue;
      try {
        await this.runJob(workerId, job);
      } catch (error) {
        this.options.onError(error, { workerId, jobId: job.jobId, stepId: job.stepId });
      }
    }
  }

  private async runJob(workerId: string, job: Assignment): Promise<void> {
    const report: ResultReport = { jobId: job.jobId, workerId, attempt: job.attempt, nonce: job.nonce };
    if (!job.started && !(await this.client.start(report))) return;
    const controller = new AbortController();
    this.running.set(job.jobId, controller);
    this.lastJobActivity = Date.now();
    const heartbeat = setInterval(
      () => {
        this.client
          .heartbeat(report)
          .then((state) => {
            if (state !== 'ok') controller.abort(new JobStopped(state));
          })
          .catch((error: unknown) => this.options.onError(error, { jobId: job.jobId, during: 'heartbeat' }));
      },
      this.options.heartbeatMs ?? Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    const deadline = setTimeout(
      () => controller.abort(new JobStopped('timeout')),
      Math.max(0, job.deadlineAt - Date.now()),
    );
    try {
      const startedAt = new Date();
      const { executor, result } = await this.execute(workerId, job, controller.signal);
      const output = await this.mapOutput(job, result);
      // Canonical once: its digest is what the attestation signs, and a large output is stored as these bytes.
      const canonical = utf8(canonicalJson(output));
      const attestation = this.attest(workerId, job, executor, result, sha256Hex(canonical), startedAt);
      if (!attestation && job.spec.requiresProof) {
        throw new MeteredError(
          new ExecutorError(
            'attestation_required',
            'the step requires a signed attestation and this worker has no signing key',
            { retryable: false },
          ),
          result.cost,
        );
      }
      let outcome: ReportOutcome;
      if (canonical.byteLength > this.options.outputBlobBytes) {
        // The blob's digest is the output's digest (SHA-256 of its canonical JSON): the attestation holds.
        const outputBlob = await this.client.blobs(workerId, job).put(canonical, 'application/json');
        outcome = await this.client.complete({ ...report, outputBlob, attestation });
      } else {
        outcome = await this.client.complete({ ...report, output, attestation });
      }
      this.refused(outcome, job, 'complete');
      if (outcome.accepted && job.spec.zkLeaf) this.sendZkLeaf(report, job, sha256Hex(canonical));
    } catch (error) {
      const stopped = controller.signal.aborted ? (controller.signal.reason as JobStopped) : undefined;
      if (stopped?.reason === 'cancelled' || stopped?.reason === 'lost' || stopped?.reason === 'shutdown') {
        // The job is no longer ours to report on: cancelled, re-queued elsewhere, or handed back on stop.
        return;
      }
      const info: ErrorInfo =
        stopped?.reason === 'timeout'
          ? {
              code: 'step_timeout',
              message: `the step did not finish within ${Math.round((job.deadlineAt - job.assignedAt) / 1000)} s`,
              retryable: true,
            }
          : errorInfo(error);
      this.refused(
        await this.client.fail({
          ...report,
          error: info,
          cost: error instanceof MeteredError ? error.cost : undefined,
        }),
        job,
        'fail',
      );
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadline);
      this.running.delete(job.jobId);
      this.lastJobActivity = Date.now();
    }
  }

  /**
   * A report the coordinator did not take (the job expired while this worker was cut off, was cancelled,
   * or its result was already in): nothing to do but say so, since the job is no longer this worker's.
   */
  private refused(outcome: ReportOutcome, job: Assignment, during: 'complete' | 'fail'): void {
    if (outcome.accepted) return;
    this.options.onError(new Error(`the server refused the report: ${outcome.reason}: ${outcome.message}`), {
      jobId: job.jobId,
      stepId: job.stepId,
      attempt: job.attempt,
      during,
    });
  }

  /**
   * The worker's signed statement about the job: which job (and the coordinator's nonce for it), what it
   * was given and what it produced (by digest), with what, by whom, when, at what cost. An executor that
   * meters nothing is charged the estimate the coordinator reserved for the job.
   */
  private attest(
    workerId: string,
    job: Assignment,
    executor: string,
    result: ExecutorResult,
    outputDigest: string,
    startedAt: Date,
  ): Envelope | undefined {
    const signer = this.options.signer;
    if (!signer) return undefined;
    if (job.spec.zkLeaf) this.requireZkSigner(result);
    // What ran, as the executor reports it; else the model the step named, with the digest this worker
    // serves it at. Never the version the step asked for: only an executor can say which version ran.
    const asked = job.spec.model;
    const served = asked && this.executors.modelDigest(asked.name);
    const ranModel = result.model ?? (asked && { name: asked.name, ...(served !== undefined && { digest: served }) });
    const statement = stepStatement(
      jobPredicate(job, {
        outputDigest,
        model: ranModel
          ? { name: ranModel.name, version: ranModel.version ?? null, digest: ranModel.digest ?? null }
          : null,
        executor,
        workerId,
        workerKeyId: signer.keyId,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        usage: result.usage ?? {},
        cost: result.cost ?? job.maxCost,
        ...(result.http && { http: result.http }),
      }),
    );
    return signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement), signer);
  }

  /** At level zk a worker needs a Baby Jubjub key: without one it cannot sign the step leaf, so it fails the job. */
  private requireZkSigner(result: ExecutorResult): ZkSigner {
    const zkSigner = this.options.zkSigner;
    if (!zkSigner) {
      throw new MeteredError(
        new ExecutorError(
          'zk_key_required',
          'the execution runs at verification level zk and this worker has no Baby Jubjub key; start it with one (verity worker creates it)',
          { retryable: false },
        ),
        result.cost,
      );
    }
    return zkSigner;
  }

  /**
   * At level zk, once the result is accepted: the Baby Jubjub signature of the step leaf, which the proof
   * checks in the circuit. It is made on a thread and sent on its own, so the next step does not wait for
   * it (a signature is ~22 ms of CPU); only the proof does. It is background work: it waits until this
   * worker has had no job start or end for LEAF_IDLE_MS (on two cores the signing thread would otherwise
   * take CPU from the steps still running), but never longer than LEAF_MAX_DEFER_MS. A send that fails
   * is tried again a few times.
   */
  private sendZkLeaf(report: ResultReport, job: Assignment, outputDigest: string): void {
    let start!: () => void;
    const go = new Promise<void>((resolve) => (start = resolve));
    this.leafQueue.push(start);
    this.leafQueuedSince ??= Date.now();
    this.scheduleLeaves();
    const zkSigner = this.options.zkSigner!;
    const sending = (async () => {
      await go;
      const h = await loadPoseidon();
      const leaf = stepLeaf(h, {
        executionId: job.executionId,
        workflowDigest: job.spec.workflowDigest,
        stepId: job.stepId,
        outputDigest,
      });
      const signature = await zkSigner.signOffThread(leaf);
      for (let attempt = 1; ; attempt++) {
        try {
          const outcome = await this.client.reportZkLeaf({ ...report, publicKey: zkSigner.publicKey, signature });
          if (!outcome.accepted) throw new Error(`the leaf signature was refused: ${outcome.message}`);
          return;
        } catch (error) {
          if (attempt >= 5) throw error;
          await sleep(200 * 2 ** attempt);
        }
      }
    })()
      .catch((error: unknown) =>
        this.options.onError(error, { jobId: job.jobId, stepId: job.stepId, during: 'zk leaf signature' }),
      )
      .finally(() => this.leafSends.delete(sending));
    this.leafSends.add(sending);
  }

  /** Starts the queued leaf signatures once the worker is idle (or they waited long enough, or it stops). */
  private scheduleLeaves(): void {
    if (this.leafTimer || this.leafQueue.length === 0) return;
    this.leafTimer = setTimeout(() => {
      this.leafTimer = undefined;
      const now = Date.now();
      const busy = now - this.lastJobActivity < LEAF_IDLE_MS;
      if (busy && now - (this.leafQueuedSince ?? now) < LEAF_MAX_DEFER_MS && !this.stopping.signal.aborted) {
        this.scheduleLeaves();
        return;
      }
      this.flushLeaves();
    }, LEAF_IDLE_MS);
    this.leafTimer.unref();
  }

  private flushLeaves(): void {
    this.leafQueuedSince = undefined;
    for (const start of this.leafQueue.splice(0)) start();
  }

  /** Runs the executor, but stops waiting for it the moment the job is stopped, even if it ignores the signal. */
  private async execute(
    workerId: string,
    job: Assignment,
    signal: AbortSignal,
  ): Promise<{ executor: string; result: ExecutorResult }> {
    const executorJob = {
      jobId: job.jobId,
      executionId: job.executionId,
      stepId: job.stepId,
      attempt: job.attempt,
      stepType: job.stepType,
      spec: job.spec,
      input: job.input,
      maxCost: job.maxCost,
      deadlineAt: job.deadlineAt,
    };
    const executor = this.executors.forJob(executorJob);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason as Error);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return {
        executor: executor.name,
        result: await Promise.race([
          executor.run(executorJob, {
            signal,
            blobs: this.client.blobs(workerId, job),
            expressions: this.expressions,
            ...(this.options.inputFileDir !== undefined && { inputFileDir: this.options.inputFileDir }),
          }),
          aborted,
        ]),
      };
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      aborted.catch(() => undefined);
    }
  }

  /** The step's output: the raw result as JSON, through the step's output mappings when it has them. */
  private async mapOutput(job: Assignment, result: ExecutorResult): Promise<unknown> {
    try {
      return await applyOutputMappings(
        job.spec.outputMappings,
        result.output,
        this.expressions,
        Math.max(1, job.deadlineAt - Date.now()),
      );
    } catch (error) {
      throw new MeteredError(
        new ExecutorError('output_mapping_failed', `output mapping ${describeError(error)}`, { retryable: false }),
        result.cost,
      );
    }
  }
}

/** A failure after the executor ran (and possibly cost something). */
class MeteredError extends Error {
  constructor(
    readonly inner: ExecutorError,
    readonly cost: number | undefined,
  ) {
    super(inner.message);
  }
}

function errorInfo(error: unknown): ErrorInfo {
  const inner = error instanceof MeteredError ? error.inner : error;
  if (inner instanceof ExecutorError) return { code: inner.code, message: inner.message, retryable: inner.retryable };
  // Anything else thrown by an executor is a bug or an environmental failure: worth another attempt.
  return { code: 'executor_error', message: describeError(inner), retryable: true };
}
