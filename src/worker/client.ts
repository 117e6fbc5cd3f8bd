import type {
  Assignment,
  CompletionReport,
  FailureReport,
  ReportOutcome,
  ResultReport,
  WorkerRegistration,
  ZkLeafReport,
} from '../coordinator/protocol.js';
import type { ExecutorBlobs } from '../executors/executor.js';
import type { Capabilities } from '../store/records.js';

/**
 * How a worker talks to its coordinator. The in-process client calls the coordinator directly; a remote
 * worker speaks the same protocol over HTTP. The worker runtime is the same either way.
 */
export interface WorkerClient {
  register(registration: Omit<WorkerRegistration, 'kind'>): Promise<{ workerId: string; leaseMs: number }>;
  /**
   * Waits up to `waitMs` for a job this worker can serve (a long poll); undefined when none came or when
   * `signal` aborts (the worker is stopping).
   */
  claim(
    workerId: string,
    capabilities: Capabilities,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<Assignment | undefined>;
  start(report: ResultReport): Promise<boolean>;
  heartbeat(report: ResultReport): Promise<'ok' | 'cancelled' | 'lost'>;
  /** A result, with the worker's signed attestation of it. */
  /** `outputBlob` instead of `output` when the output was too large to send inline (its canonical JSON, stored first). */
  complete(report: CompletionReport): Promise<ReportOutcome>;
  fail(report: FailureReport): Promise<ReportOutcome>;
  /** At level zk, after an accepted result: the Baby Jubjub signature of the step leaf. */
  reportZkLeaf(report: ZkLeafReport): Promise<ReportOutcome>;
  seen(workerId: string): Promise<void>;
  deregister(workerId: string): Promise<void>;
  /** The blobs a job may read (those its input names) and where its executor stores new ones. */
  blobs(workerId: string, job: Assignment): ExecutorBlobs;
  /** Optional push of cancellations, so a job stops before its next heartbeat. */
  onCancelled?(listener: (jobIds: readonly string[]) => void): () => void;
}
