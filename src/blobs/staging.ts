import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { StagedBlob } from './blob-store.js';
import { BlobError } from './errors.js';

/** An upload received into a local temporary file, with the digest and size of what arrived. */
export interface StagedFile {
  path: string;
  digest: string;
  size: number;
}

/**
 * `receive` for a store that keeps bytes elsewhere than in files (a table, a bucket): the upload is staged
 * into a local file (stageToFile), and committing stores it with `store` unless `has` says the digest is
 * there already; the staged file goes either way.
 */
export async function receiveStaged(
  source: Readable,
  dir: string,
  maxBytes: number,
  target: { has(digest: string): Promise<boolean>; store(staged: StagedFile): Promise<void> },
): Promise<StagedBlob> {
  const staged = await stageToFile(source, dir, maxBytes);
  const discard = () => rm(staged.path, { force: true });
  return {
    digest: staged.digest,
    size: staged.size,
    commit: async () => {
      if (!(await target.has(staged.digest))) await target.store(staged);
      await discard();
    },
    discard,
  };
}

/**
 * Receives a stream into a new temporary file under `dir`, hashing it on the way, so that memory holds one
 * chunk at a time whatever the blob's size. Past `maxBytes` it stops writing, removes the file and throws
 * `too_large` (with the limit in `context.limit`); the rest of the stream is read and dropped rather than
 * destroyed, so that an HTTP request can still be answered. A stream that fails (a client that hung up)
 * removes the file too. Every adapter stages this way: the digest must be known before the bytes can be
 * named, in a directory, a table or a bucket.
 */
export async function stageToFile(source: Readable, dir: string, maxBytes: number): Promise<StagedFile> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${randomBytes(8).toString('hex')}.tmp`);
  const file = await open(path, 'wx', 0o600);
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
    await rm(path, { force: true });
    throw error;
  }
  return { path, digest: `sha256:${hash.digest('hex')}`, size };
}

/**
 * Removes the temporary files of uploads that a stopped process left behind: those not written to for
 * `olderThanMs`. Several processes may stage in one directory, so a file still being written by another
 * (recently modified) is left alone. Returns how many were removed.
 */
export async function removeStaleFiles(dir: string, olderThanMs: number, now: number): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names.filter((n) => n.endsWith('.tmp'))) {
    const path = join(dir, name);
    try {
      if (now - (await stat(path)).mtimeMs < olderThanMs) continue;
      await rm(path, { force: true });
      removed++;
    } catch {
      // Gone meanwhile (its upload finished or another process removed it).
    }
  }
  return removed;
}
