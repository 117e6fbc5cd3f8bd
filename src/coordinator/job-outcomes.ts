import type { Envelope } from '../attest/dsse.js';
import type { ErrorInfo, ExecutionRecord, JobRecord, StepRecord } from '../store/records.js';
import type { StoreTx } from '../store/store.js';

/**
 * Whoever decides what a job's outcome means for its execution (the engine, wired by the node). The
 * coordinator calls it inside the transaction that records the outcome, with the execution locked, so a
 * step's result, its money and what runs next commit together; the coordinator knows nothing more of it.
 */
export interface JobOutcomeHandler {
  /** Called without the execution lock: only a guarded update of the job's own step is allowed. */
  jobStarted(tx: StoreTx, job: JobRecord, now: number): Promise<void>;
  /** `step`: the job's step row, when the coordinator read it with the lock (it saves the handler a read). */
  jobSucceeded(
    tx: StoreTx,
    execution: ExecutionRecord,
    job: JobRecord,
    result: AcceptedResult,
    now: number,
    step?: StepRecord,
  ): Promise<void>;
  jobFailed(
    tx: StoreTx,
    execution: ExecutionRecord,
    job: JobRecord,
    failure: JobFailure,
    now: number,
    step?: StepRecord,
  ): Promise<void>;
}

export interface AcceptedResult {
  output: unknown;
  /** 'blob': `output` is the reference of a blob holding the output's canonical JSON. */
  outputStorage?: 'blob';
  outputDigest: string;
  /** What the worker attested the job cost (integer micro-units). */
  cost: number;
  workerId: string;
  /** Absent only when the coordinator does not require attestations (CoordinatorOptions). */
  attestation?: Envelope;
  attestationDigest?: string;
  workerKeyId?: string;
  /** Who the worker speaks for, as this coordinator recorded it when it assigned the job (never the worker's word). */
  principal?: string;
}

export interface JobFailure {
  error: ErrorInfo;
  cost?: number | undefined;
}
