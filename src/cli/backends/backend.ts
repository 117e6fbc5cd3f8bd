import type { BlobRef } from '../../blobs/blob-ref.js';
import type { EventView, ExecutionView } from '../../engine/view.js';
import type { ExecutionSummary } from '../../sdk/client.js';
import type { ExecutionStatus } from '../../store/records.js';

export type { ExecutionSummary };
import type { ValidationResult } from '../../workflow/validate.js';
import type { ProgressRenderer } from '../progress.js';

/** A workflow to run: a definition read from a file, or (on a server) one already published. */
export type RunTarget = { loaded: Extract<ValidationResult, { ok: true }> } | { workflowId: string; version?: number };

export interface StartOptions {
  inputs: unknown;
  budget?: number;
  idempotencyKey?: string;
}

/**
 * Where the CLI's commands act: the local store (with in-process workers) or a Verity server through the
 * SDK. Commands are written once against this, so `verity status X` reads and prints the same whether X
 * ran on this machine or on a server; both sides speak the API's shapes (ExecutionView, EventView).
 */
export interface CliBackend {
  /** For messages: "the store .verity" or "http://host:port". */
  readonly where: string;
  start(target: RunTarget, options: StartOptions): Promise<ExecutionView>;
  /** A full execution id from an id or (locally) a unique prefix of one. */
  resolveId(idOrPrefix: string): Promise<string>;
  status(executionId: string): Promise<ExecutionView>;
  list(filter: { status?: ExecutionStatus[]; workflowId?: string; limit: number }): Promise<ExecutionSummary[]>;
  /** Every event of the execution so far, in order. */
  history(executionId: string): Promise<EventView[]>;
  cancel(executionId: string): Promise<ExecutionView>;
  retry(executionId: string, options: { budget?: number }): Promise<ExecutionView>;
  /** The bundle; with `zkOnly`, the zk-only bundle instead. */
  receipt(executionId: string, options: { includeData: boolean; zkOnly?: boolean }): Promise<unknown>;
  /** Stores bytes and answers their reference, readable by the caller (locally: by local runs). */
  putBlob(bytes: Uint8Array, mediaType: string): Promise<BlobRef>;
  /** A blob the caller may read. */
  getBlob(digest: string): Promise<Uint8Array>;
  /** The coordinator public key (PEM) receipts of this backend are signed with. */
  coordinatorKey(): Promise<{ keyid: string; publicKeyPem: string }>;
  /** Waits for the execution to end, feeding the renderer (if any) as it goes; resolves with its last view. */
  follow(executionId: string, renderer: ProgressRenderer | undefined): Promise<ExecutionView>;
  /** Runs fn, handles Ctrl-C the way this backend should, and releases everything afterwards. */
  session<T>(fn: () => Promise<T>): Promise<T>;
}
