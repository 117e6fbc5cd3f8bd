import type { Readable } from 'node:stream';
import type { BlobRef } from './blob-ref.js';

/**
 * Where blob bytes live, by digest. Everything else about a blob (its media type, who may read it, who
 * uploaded it) is in the store's tables, so every adapter here is only content-addressed bytes: the name
 * of what is written is always the SHA-256 of what was written, and every read is checked against it, so
 * an adapter whose backing storage is changed behind its back refuses (`corrupt`) rather than serves.
 * Adapters: `file/` (a directory, the default), `postgres/` (the store's own database), `s3/` (a bucket).
 */
export interface BlobStore {
  /** Which adapter this is. */
  readonly kind: 'file' | 'postgres' | 's3';
  /** Where the bytes live, for people (a directory, a database, a bucket and prefix); never a secret. */
  readonly location: string;
  /** The largest blob accepted, in bytes. */
  readonly maxBytes: number;
  /** Stores bytes held in memory; storing bytes already there is harmless (and cheap). `too_large` past maxBytes. */
  put(bytes: Uint8Array, mediaType: string): Promise<BlobRef>;
  /**
   * Receives a blob from a stream, hashing it on the way, without holding it whole in memory. Past
   * `maxBytes` (the smaller of the option and the store's own) it throws `too_large` with the limit in
   * `context.limit`, after reading and dropping the rest of the stream (so an HTTP request can still be
   * answered). Nothing is in the store until the staged blob is committed.
   */
  receive(source: Readable, options?: { maxBytes?: number }): Promise<StagedBlob>;
  /**
   * A blob's bytes as a stream, checked against the digest as they pass: the last chunk is held back until
   * everything hashed right, so a reader of changed bytes never receives all of them (the stream fails with
   * `corrupt`). `not_found` when the store does not have it.
   */
  stream(ref: BlobRef | string): Promise<{ size: number; stream: Readable }>;
  /** A blob's bytes, checked against its digest (`corrupt` when they do not match, `not_found` when absent). */
  get(ref: BlobRef | string): Promise<Buffer>;
  has(ref: BlobRef | string): Promise<boolean>;
  /** The blob's size, or undefined when it is not here. */
  size(ref: BlobRef | string): Promise<number | undefined>;
  /**
   * Removes what uploads that a stopped process left half-received (killed mid-upload): those untouched for
   * `olderThanMs`. Returns how many were removed.
   */
  removeStaleUploads(olderThanMs?: number, now?: number): Promise<number>;
  /** Releases connections; the store is not used afterwards. */
  close(): Promise<void>;
}

/** A blob received but not yet stored: in the store only once committed. */
export interface StagedBlob {
  readonly digest: string;
  readonly size: number;
  /** Stores the bytes (or drops them, when the store holds that digest already). */
  commit(): Promise<void>;
  /** Removes what was received; harmless after `commit` and when called twice. */
  discard(): Promise<void>;
}

/** The default largest blob: 256 MiB (an upload through the API has its own, smaller limit). */
export const DEFAULT_MAX_BLOB_BYTES = 256 * 1024 * 1024;
