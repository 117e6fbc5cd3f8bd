import type { BlobRef } from '../blobs/blob-ref.js';
import type { ExpressionEvaluator } from '../expressions/evaluator.js';
import { VerityError } from '../errors.js';
import type { Capabilities, JobSpec } from '../store/records.js';
import type { StepType } from '../workflow/types.js';

/** One job as an executor sees it. */
export interface ExecutorJob {
  jobId: string;
  executionId: string;
  stepId: string;
  attempt: number;
  stepType: StepType;
  spec: JobSpec;
  input: unknown;
  /** The budget reserved for this job: an executor that meters cost should stay within it. */
  maxCost: number;
  deadlineAt: number;
}

export interface ExecutorResult {
  /** The raw result; the worker applies the step's output mappings to it. */
  output: unknown;
  /** Integer micro-units, when the executor meters cost; otherwise the step's estimate is charged. */
  cost?: number;
  usage?: Record<string, number>;
  /**
   * The model that actually ran, as the attestation records it: the name, the version a hosted model
   * reported, and the digest of the weights where the executor knows it. Without it the attestation
   * records the model the step asked for, with the digest the worker advertised.
   */
  model?: { name: string; version?: string; digest?: string };
  /** The HTTP exchange a `builtin/http` step made, which the attestation records as its `http` field. */
  http?: HttpCallFacts;
}

/** One HTTP request and its response, as an attestation records them. */
export interface HttpCallFacts {
  /** The URL called, normalized, with its query. */
  url: string;
  method: string;
  status: number;
  /** Lowercase hex SHA-256 of the exact request body bytes sent (of no bytes, without a body). */
  requestDigest: string;
  /** Lowercase hex SHA-256 of the exact response body bytes received. */
  responseDigest: string;
}

/** Blobs as an executor sees them: wherever the worker runs, it reads and writes them by digest. */
export interface ExecutorBlobs {
  /** The bytes of a blob this job may read (one its input names). Refused with a BlobError otherwise. */
  get(ref: BlobRef | string): Promise<Buffer>;
  /** Stores bytes; put the returned reference in the output to pass them on. */
  put(bytes: Uint8Array, mediaType: string): Promise<BlobRef>;
}

export interface ExecutorContext {
  /** Aborted when the job is cancelled, loses its lease, or reaches its deadline. */
  signal: AbortSignal;
  blobs: ExecutorBlobs;
  /** Where user expressions run: the worker's sandbox (never in the worker's own thread). Always set by a Worker. */
  expressions?: ExpressionEvaluator;
  /**
   * Where inputs may name files (never outside it). Set only for a local CLI run, where the user owns
   * every file anyway; absent for every worker of a server, in-process or remote, whose files (keys, other
   * clients' blobs) are not the input's to name: there, files come as blobs.
   */
  inputFileDir?: string;
}

/** The code inside a worker that performs one kind of step: a model runtime, a transform, a trainer. */
export interface Executor {
  readonly name: string;
  /** What it serves; `modelDigests` filled in once `prepare` has run. */
  readonly capabilities: Capabilities;
  /**
   * Runs once before the worker registers: load models, compute their digests (cached on disk). An
   * executor that cannot work here (a missing runtime) throws an ExecutorError saying what to install.
   */
  prepare?(): Promise<void>;
  run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult>;
}

/**
 * A step failure an executor reports on purpose. `code` is what retry policies match (`non_retryable`);
 * `retryable: false` fails the step at once whatever the policy says (bad input will not get better).
 */
export class ExecutorError extends VerityError<string> {
  readonly retryable: boolean;

  constructor(
    code: string,
    message: string,
    options: { retryable?: boolean; cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
    this.retryable = options.retryable ?? true;
  }
}
