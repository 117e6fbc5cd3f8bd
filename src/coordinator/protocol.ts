import type { Envelope } from '../attest/dsse.js';
import type { BlobRef } from '../blobs/blob-ref.js';
import type { ErrorInfo, JobSpec, WorkerRecord } from '../store/records.js';
import type { StepType } from '../workflow/types.js';
import type { ZkPublicKey, ZkSignature } from '../zk/babyjub.js';

/*
 * The worker protocol's messages, as a worker and its coordinator exchange them: in-process (the local
 * client calls the coordinator) and over HTTP (the API's worker routes, the remote worker's client). Types
 * only, in a file of their own, so the worker and the API depend on the protocol and not on the
 * coordinator's internals.
 */

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

/** What names the job in every report: the coordinator checks each against the job as it assigned it. */
export interface ResultReport {
  jobId: string;
  workerId: string;
  attempt: number;
  nonce: string;
}

/** A result, with the worker's signed attestation of it; `outputBlob` instead of `output` when it was too large to send inline. */
export type CompletionReport = ResultReport & {
  output?: unknown;
  outputBlob?: BlobRef | undefined;
  attestation?: Envelope | undefined;
};

/**
 * At level zk, after the result was accepted: the worker's Baby Jubjub signature of the step leaf. It is
 * sent apart from the result so that making and checking it (tens of ms each) never delays the next step.
 */
export type ZkLeafReport = ResultReport & { publicKey: ZkPublicKey; signature: ZkSignature };

export type FailureReport = ResultReport & { error: ErrorInfo; cost?: number | undefined };

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
