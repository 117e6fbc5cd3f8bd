import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream';
import type { Readable } from 'node:stream';
import type { BlobRef } from '../blob-ref.js';
import { blobDigestOf } from '../blob-ref.js';
import type { BlobStore, StagedBlob } from '../blob-store.js';
import { DEFAULT_MAX_BLOB_BYTES } from '../blob-store.js';
import { DigestCheck, checkPutSize, checkedBytes, refOf } from '../digest-check.js';
import { BlobError } from '../errors.js';
import { removeStaleFiles, stageToFile } from '../staging.js';

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
 * never served. The default store: nothing to set up, but replicas must share the directory.
 */
export class FileBlobStore implements BlobStore {
  readonly kind = 'file';
  readonly dir: string;
  readonly maxBytes: number;

  constructor(options: FileBlobStoreOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BLOB_BYTES;
  }

  get location(): string {
    return this.dir;
  }

  private pathOf(digest: string): string {
    const hex = digest.slice('sha256:'.length);
    return join(this.dir, 'sha256', hex.slice(0, 2), hex);
  }

  async put(bytes: Uint8Array, mediaType: string): Promise<BlobRef> {
    checkPutSize(bytes, this.maxBytes);
    const ref = refOf(bytes, mediaType);
    const path = this.pathOf(ref.$blob);
    if (await this.has(ref.$blob)) return ref;
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const file = await open(temp, 'wx', 0o600);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await this.moveIntoPlace(temp, ref.$blob);
    return ref;
  }

  private async moveIntoPlace(temp: string, digest: string): Promise<void> {
    try {
      await rename(temp, this.pathOf(digest));
    } catch (error) {
      await rm(temp, { force: true });
      throw new BlobError('unavailable', `cannot store blob ${digest}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Where blobs being received are written before they are known by their digest: beside them, so a rename moves them. */
  get tempDir(): string {
    return join(this.dir, 'tmp');
  }

  async receive(source: Readable, options: { maxBytes?: number } = {}): Promise<StagedBlob> {
    const maxBytes = Math.min(options.maxBytes ?? this.maxBytes, this.maxBytes);
    const staged = await stageToFile(source, this.tempDir, maxBytes);
    const { digest, path: temp } = staged;
    return {
      digest,
      size: staged.size,
      commit: async () => {
        if (await this.has(digest)) {
          await rm(temp, { force: true });
          return;
        }
        await mkdir(dirname(this.pathOf(digest)), { recursive: true });
        await this.moveIntoPlace(temp, digest);
      },
      discard: () => rm(temp, { force: true }),
    };
  }

  /** Replicas may share the directory, so another process's upload in progress (recently written) is left alone. */
  removeStaleUploads(olderThanMs = 60 * 60_000, now = Date.now()): Promise<number> {
    return removeStaleFiles(this.tempDir, olderThanMs, now);
  }

  async stream(ref: BlobRef | string): Promise<{ size: number; stream: Readable }> {
    const digest = blobDigestOf(ref);
    let handle;
    try {
      handle = await open(this.pathOf(digest), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobError('not_found', `no blob ${digest}`);
      throw new BlobError('unavailable', `cannot read blob ${digest}: ${(error as Error).message}`, { cause: error });
    }
    const { size } = await handle.stat();
    const check = new DigestCheck(digest, `its file ${this.pathOf(digest)}`);
    // The pipeline passes a read error on to `check`, whose reader sees it; nothing is left to report here.
    pipeline(handle.createReadStream(), check, () => undefined);
    return { size, stream: check };
  }

  async has(ref: BlobRef | string): Promise<boolean> {
    return (await this.size(ref)) !== undefined;
  }

  async size(ref: BlobRef | string): Promise<number | undefined> {
    try {
      const info = await stat(this.pathOf(blobDigestOf(ref)));
      return info.isFile() ? info.size : undefined;
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
    return checkedBytes(bytes, digest, `its file ${this.pathOf(digest)}`);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
