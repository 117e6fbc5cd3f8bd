import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline, Transform } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
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

  /** Where blobs being received are written before they are known by their digest. */
  get tempDir(): string {
    return join(this.dir, 'tmp');
  }

  /**
   * Receives a blob from a stream into a temporary file of this store, hashing it on the way, so that
   * memory holds one chunk at a time whatever the blob's size. Past `maxBytes` it stops writing, removes
   * the file and throws `too_large` (with the limit in `context.limit`); the rest of the stream is read
   * and dropped rather than destroyed, so that an HTTP request can still be answered. A stream that fails
   * (a client that hung up) removes the file too. Nothing is in the store until `commit`.
   */
  async receive(source: Readable, options: { maxBytes?: number } = {}): Promise<StagedBlob> {
    const maxBytes = Math.min(options.maxBytes ?? this.maxBytes, this.maxBytes);
    await mkdir(this.tempDir, { recursive: true, mode: 0o700 });
    const temp = join(this.tempDir, `${randomBytes(8).toString('hex')}.tmp`);
    const file = await open(temp, 'wx', 0o600);
    const hash = createHash('sha256');
    let size = 0;
    let over = false;
    try {
      try {
        // Not destroyed when the loop stops early: the request must stay open for its answer.
        for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
          size += chunk.byteLength;
          if (size > maxBytes) {
            over = true;
            break;
          }
          hash.update(chunk);
          await file.write(chunk);
        }
        if (!over) await file.sync();
      } finally {
        await file.close();
      }
      if (over) {
        source.resume();
        throw new BlobError('too_large', `the blob is over the limit of ${maxBytes} bytes`, {
          context: { limit: maxBytes },
        });
      }
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    const digest = `sha256:${hash.digest('hex')}`;
    const path = this.pathOf(digest);
    return {
      digest,
      size,
      commit: async () => {
        if (await this.has(digest)) {
          await rm(temp, { force: true });
          return;
        }
        await mkdir(dirname(path), { recursive: true });
        try {
          await rename(temp, path);
        } catch (error) {
          throw new BlobError('unavailable', `cannot store blob ${digest}: ${(error as Error).message}`, {
            cause: error,
          });
        }
      },
      discard: () => rm(temp, { force: true }),
    };
  }

  /**
   * Removes the temporary files of uploads that a stopped process left behind (killed mid-upload): those
   * not written to for `olderThanMs`. Replicas may share the directory, so a file still being written by
   * another process (recently modified) is left alone. Returns how many were removed.
   */
  async removeStaleUploads(olderThanMs = 60 * 60_000, now = Date.now()): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.tempDir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names.filter((n) => n.endsWith('.tmp'))) {
      const path = join(this.tempDir, name);
      try {
        if (now - (await stat(path)).mtimeMs < olderThanMs) continue;
        await rm(path, { force: true });
        removed++;
      } catch {
        // Gone meanwhile (its upload finished or another replica removed it).
      }
    }
    return removed;
  }

  /**
   * A blob's bytes as a stream, checked against its digest as they are read: the last chunk is held back
   * until the whole file has hashed right, so a reader of a blob changed on disk never receives all of it
   * (the stream fails with `corrupt` instead of ending). `not_found` when the store does not have it.
   */
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
    const check = new DigestCheck(digest, this.pathOf(digest));
    // The pipeline passes a read error on to `check`, whose reader sees it; nothing is left to report here.
    pipeline(handle.createReadStream(), check, () => undefined);
    return { size, stream: check };
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
      throw new BlobError(
        'corrupt',
        `blob ${digest} does not match its digest on disk (${this.pathOf(digest)}); it was changed or damaged`,
      );
    }
    return bytes;
  }
}

/** A blob received into a temporary file: in the store only once committed. */
export interface StagedBlob {
  readonly digest: string;
  readonly size: number;
  /** Moves the bytes into place (or drops them, when the store holds that digest already). */
  commit(): Promise<void>;
  /** Removes the temporary file; harmless after `commit` and when called twice. */
  discard(): Promise<void>;
}

/** Passes bytes through, holding the latest chunk back until the digest of everything is known to be right. */
class DigestCheck extends Transform {
  private readonly hash = createHash('sha256');
  private held: Buffer | undefined;

  constructor(
    private readonly digest: string,
    private readonly path: string,
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
      done(
        new BlobError(
          'corrupt',
          `blob ${this.digest} does not match its digest on disk (${this.path}); it was changed or damaged`,
        ),
      );
      return;
    }
    if (this.held) this.push(this.held);
    done();
  }
}
