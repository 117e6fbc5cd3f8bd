import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { BlobRef } from './blob-ref.js';
import { digestOfBytes } from './blob-ref.js';
import { BlobError } from './errors.js';

/** Refuses bytes over a store's limit before anything is written. */
export function checkPutSize(bytes: Uint8Array, maxBytes: number): void {
  if (bytes.byteLength > maxBytes) {
    throw new BlobError('too_large', `a blob of ${bytes.byteLength} bytes is over the limit of ${maxBytes}`, {
      context: { limit: maxBytes },
    });
  }
}

/** The reference bytes are stored under: named by their own digest, never by what a caller says they are. */
export function refOf(bytes: Uint8Array, mediaType: string): BlobRef {
  return { $blob: digestOfBytes(bytes), size: bytes.byteLength, mediaType };
}

function corrupt(digest: string, where: string): BlobError {
  return new BlobError(
    'corrupt',
    `blob ${digest} does not match its digest in ${where}; it was changed or damaged, so it is not served`,
  );
}

/** Bytes read back whole: served only when they hash to the digest they were stored under. */
export function checkedBytes(bytes: Buffer, digest: string, where: string): Buffer {
  if (digestOfBytes(bytes) !== digest) throw corrupt(digest, where);
  return bytes;
}

/**
 * Passes bytes through, holding the latest chunk back until the digest of everything is known to be right,
 * so a reader of changed bytes never gets all of them: the stream fails with `corrupt` instead of ending.
 */
export class DigestCheck extends Transform {
  private readonly hash = createHash('sha256');
  private held: Buffer | undefined;

  constructor(
    private readonly digest: string,
    /** Where the bytes came from, for the message: a path, a table, a bucket key. */
    private readonly where: string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    if (this.held) this.push(this.held);
    this.held = chunk;
    done();
  }

  override _flush(done: TransformCallback): void {
    if (`sha256:${this.hash.digest('hex')}` !== this.digest) {
      done(corrupt(this.digest, this.where));
      return;
    }
    if (this.held) this.push(this.held);
    done();
  }
}
