import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobRef } from './blob-ref.js';
import { blobDigestOf, digestOfBytes } from './blob-ref.js';
import { BlobError } from './errors.js';

export interface FileBlobStoreOptions {
  /** The directory that holds the blobs (`<data-dir>/blobs` by default). */
  dir: string;
  /** The largest blob accepted, in bytes. Default: 256 MiB. */
  maxBytes?: number;
}

/**
 * Content-addressed files: `<dir>/sha256/<first two hex>/<hex>`. A blob is written to a temporary file,
 * synced, then renamed into place, so a crash leaves either the whole blob or none of it, and two writers
 * of the same bytes cannot corrupt each other. Reads check the digest: a file changed on disk is refused,
 * never served.
 */
export class FileBlobStore {
  readonly dir: string;
  readonly maxBytes: number;

  constructor(options: FileBlobStoreOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  }

  private pathOf(digest: string): string {
    const hex = digest.slice('sha256:'.length);
    return join(this.dir, 'sha256', hex.slice(0, 2), hex);
  }

  async put(bytes: Uint8Array, mediaType: string): Promise<BlobRef> {
    if (bytes.byteLength > this.maxBytes) {
      throw new BlobError('too_large', `a blob of ${bytes.byteLength} bytes is over the limit of ${this.maxBytes}`);
    }
    const digest = digestOfBytes(bytes);
    const ref: BlobRef = { $blob: digest, size: bytes.byteLength, mediaType };
    const path = this.pathOf(digest);
    if (await this.has(digest)) return ref;
    await mkdir(join(path, '..'), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw new BlobError('unavailable', `cannot store blob ${digest}: ${(error as Error).message}`, { cause: error });
    }
    return ref;
  }

  async has(ref: BlobRef | string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(blobDigestOf(ref)))).isFile();
    } catch {
      return false;
    }
  }

  /** The blob's size, or undefined when it is not here. */
  async size(ref: BlobRef | string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(blobDigestOf(ref)))).size;
    } catch {
      return undefined;
    }
  }

  async get(ref: BlobRef | string): Promise<Buffer> {
    const digest = blobDigestOf(ref);
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(digest));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobError('not_found', `no blob ${digest}`);
      throw new BlobError('unavailable', `cannot read blob ${digest}: ${(error as Error).message}`, { cause: error });
    }
    if (digestOfBytes(bytes) !== digest) {
      throw new BlobError('corrupt', `blob ${digest} does not match its digest on disk (${this.pathOf(digest)}); it was changed or damaged`);
    }
    return bytes;
  }
}
