import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOfBytes } from '../../../src/blobs/blob-ref.js';
import type { BlobStore } from '../../../src/blobs/blob-store.js';
import { BlobError } from '../../../src/blobs/errors.js';
import { FileBlobStore } from '../../../src/blobs/file/file-blob-store.js';
import { PostgresBlobStore } from '../../../src/blobs/postgres/postgres-blob-store.js';
import { S3BlobStore } from '../../../src/blobs/s3/s3-blob-store.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { freshSchema, postgresAvailable } from '../../support/postgres.js';
import { startS3 } from '../../support/s3.js';

/**
 * One contract for every blob store adapter: the same bytes in, the same bytes out, named by their digest;
 * size limits; missing and malformed names; bytes changed behind the store's back refused rather than
 * served; concurrent writers of one blob. Each adapter against the real thing: a directory, the test
 * PostgreSQL (a schema of its own, migrated by the store), a local S3 server (s3rver on a loopback port).
 */

const MAX_BYTES = 64 * 1024;

interface Fixture {
  store: BlobStore;
  /** Where the adapter receives uploads before they are committed. */
  stagingDir: string;
  /** Replaces a stored blob's bytes behind the store's back, as a damaged disk or another writer would. */
  tamper(digest: string, bytes: Buffer): Promise<void>;
  close(): Promise<void>;
}

function fileFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-blobs-file-'));
  const store = new FileBlobStore({ dir, maxBytes: MAX_BYTES });
  return Promise.resolve({
    store,
    stagingDir: store.tempDir,
    tamper: (digest, bytes) => {
      const hex = digest.slice('sha256:'.length);
      writeFileSync(join(dir, 'sha256', hex.slice(0, 2), hex), bytes);
      return Promise.resolve();
    },
    close: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  });
}

async function postgresFixture(): Promise<Fixture> {
  const { url, drop } = freshSchema('blob_contract');
  // The tables come from the store's migrations, as in a node.
  await (await PostgresStore.open({ url })).close();
  const stagingDir = mkdtempSync(join(tmpdir(), 'verity-blobs-pg-'));
  // Small chunks, so that every blob of the contract spans several rows.
  const store = new PostgresBlobStore({ url, stagingDir, maxBytes: MAX_BYTES, chunkBytes: 1000 });
  const schema = new URL(url).searchParams.get('schema')!;
  return {
    store,
    stagingDir,
    tamper: async (digest, bytes) => {
      const client = new pg.Client({ connectionString: url.split('?')[0] });
      await client.connect();
      try {
        await client.query(`UPDATE ${schema}.blob_chunks SET bytes = $2 WHERE digest = $1 AND seq = 0`, [
          digest,
          bytes,
        ]);
      } finally {
        await client.end();
      }
    },
    close: async () => {
      await store.close();
      await drop();
      rmSync(stagingDir, { recursive: true, force: true });
    },
  };
}

async function s3Fixture(): Promise<Fixture> {
  const s3 = await startS3();
  const stagingDir = mkdtempSync(join(tmpdir(), 'verity-blobs-s3-'));
  const options = {
    bucket: s3.bucket,
    prefix: 'contract/',
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: s3.credentials,
  };
  const store = await S3BlobStore.open({ ...options, stagingDir, maxBytes: MAX_BYTES });
  // Another writer of the bucket, with the same keys.
  const other = new S3Client({ ...options, requestChecksumCalculation: 'WHEN_REQUIRED' });
  return {
    store,
    stagingDir,
    tamper: async (digest, bytes) => {
      await other.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: `contract/sha256/${digest.slice(7)}`, Body: bytes }),
      );
    },
    close: async () => {
      other.destroy();
      await store.close();
      await s3.close();
      rmSync(stagingDir, { recursive: true, force: true });
    },
  };
}

const ADAPTERS = { file: fileFixture, postgres: postgresFixture, s3: s3Fixture } as const;

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The bytes a stream delivered before it failed, and how it failed. */
async function drainUntilError(stream: Readable): Promise<{ received: number; error: unknown }> {
  let received = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) received += chunk.byteLength;
  } catch (error) {
    return { received, error };
  }
  return { received, error: undefined };
}

function chunked(bytes: Buffer, size = 4096): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.byteLength; i += size) pieces.push(bytes.subarray(i, i + size));
  return Readable.from(pieces);
}

const codeOf = (error: unknown) => (error instanceof BlobError ? error.code : String(error));

for (const [kind, open] of Object.entries(ADAPTERS)) {
  describe(`the ${kind} blob store`, () => {
    let fx: Fixture;
    let skip = false;

    beforeAll(async () => {
      if (kind === 'postgres' && !(await postgresAvailable())) {
        skip = true;
        return;
      }
      fx = await open();
    });
    afterAll(async () => {
      await fx?.close();
    });

    it('stores bytes under their digest and gives the same bytes back, whole and streamed', async (t) => {
      if (skip) t.skip();
      const bytes = randomBytes(5000);
      const ref = await fx.store.put(bytes, 'image/png');
      expect(ref).toEqual({ $blob: digestOfBytes(bytes), size: 5000, mediaType: 'image/png' });
      expect(fx.store.kind).toBe(kind);
      expect(await fx.store.has(ref)).toBe(true);
      expect(await fx.store.size(ref.$blob)).toBe(5000);
      expect((await fx.store.get(ref)).equals(bytes)).toBe(true);
      const streamed = await fx.store.stream(ref.$blob);
      expect(streamed.size).toBe(5000);
      expect((await drain(streamed.stream)).equals(bytes)).toBe(true);
      // The same bytes again: the same reference (the media type is the caller's), nothing else changes.
      expect(await fx.store.put(bytes, 'application/octet-stream')).toEqual({
        ...ref,
        mediaType: 'application/octet-stream',
      });
      const empty = await fx.store.put(new Uint8Array(0), 'text/plain');
      expect((await fx.store.get(empty)).byteLength).toBe(0);
      expect(await fx.store.size(empty)).toBe(0);
    });

    it('says a blob it does not have is missing: has, size, get and stream', async (t) => {
      if (skip) t.skip();
      const missing = digestOfBytes(randomBytes(32));
      expect(await fx.store.has(missing)).toBe(false);
      expect(await fx.store.size(missing)).toBeUndefined();
      expect(codeOf(await fx.store.get(missing).catch((e: unknown) => e))).toBe('not_found');
      expect(codeOf(await fx.store.stream(missing).catch((e: unknown) => e))).toBe('not_found');
    });

    it('refuses a name that is not a digest, so no name reaches outside the store', async (t) => {
      if (skip) t.skip();
      for (const name of [
        '../../etc/passwd',
        'sha256:../../x',
        `sha256:${'A'.repeat(64)}`,
        `sha256:${'0'.repeat(63)}/`,
      ]) {
        expect(codeOf(await fx.store.get(name).catch((e: unknown) => e)), name).toBe('invalid_ref');
        expect(codeOf(await fx.store.stream(name).catch((e: unknown) => e)), name).toBe('invalid_ref');
      }
    });

    it('refuses a blob over its limit, in memory and streamed, storing nothing and leaving no upload behind', async (t) => {
      if (skip) t.skip();
      const big = randomBytes(MAX_BYTES + 1);
      expect(codeOf(await fx.store.put(big, 'x/y').catch((e: unknown) => e))).toBe('too_large');
      const source = chunked(big);
      const refused = await fx.store.receive(source).catch((e: unknown) => e);
      expect(codeOf(refused)).toBe('too_large');
      expect((refused as BlobError).context).toEqual({ limit: MAX_BYTES });
      // The rest of the stream was read and dropped (an HTTP request can still be answered), not left hanging.
      await new Promise((resolve) => setImmediate(resolve));
      expect(source.readableEnded || source.destroyed).toBe(true);
      // A caller's smaller limit applies too.
      const small = await fx.store.receive(chunked(randomBytes(100)), { maxBytes: 50 }).catch((e: unknown) => e);
      expect((small as BlobError).context).toEqual({ limit: 50 });
      expect(await fx.store.has(digestOfBytes(big))).toBe(false);
      expect(readdirSync(fx.stagingDir)).toEqual([]);
    });

    it('receives a stream into the store only when committed; a discarded one leaves nothing', async (t) => {
      if (skip) t.skip();
      const bytes = randomBytes(20_000);
      const staged = await fx.store.receive(chunked(bytes, 3000));
      expect(staged.digest).toBe(digestOfBytes(bytes));
      expect(staged.size).toBe(20_000);
      expect(await fx.store.has(staged.digest)).toBe(false);
      await staged.commit();
      await staged.discard();
      expect((await fx.store.get(staged.digest)).equals(bytes)).toBe(true);
      const dropped = await fx.store.receive(chunked(randomBytes(1000)));
      await dropped.discard();
      await dropped.discard();
      expect(await fx.store.has(dropped.digest)).toBe(false);
      // Committing bytes the store has already is harmless.
      const again = await fx.store.receive(chunked(bytes));
      await again.commit();
      expect((await fx.store.get(again.digest)).equals(bytes)).toBe(true);
      expect(readdirSync(fx.stagingDir)).toEqual([]);
    });

    it('refuses bytes changed behind its back: get throws corrupt, a stream fails before it delivers them all', async (t) => {
      if (skip) t.skip();
      const bytes = randomBytes(3000);
      const ref = await fx.store.put(bytes, 'application/octet-stream');
      const changed = Buffer.from(bytes);
      changed[10] = changed[10]! ^ 0xff;
      await fx.tamper(ref.$blob, changed.subarray(0, 1000));
      expect(codeOf(await fx.store.get(ref).catch((e: unknown) => e))).toBe('corrupt');
      const { stream } = await fx.store.stream(ref);
      const { received, error } = await drainUntilError(stream);
      expect(codeOf(error)).toBe('corrupt');
      expect(received).toBeLessThan(bytes.byteLength);
      // Replaced by something larger than any blob the store writes: refused too, never held whole.
      await fx.tamper(ref.$blob, randomBytes(MAX_BYTES + 10));
      expect(codeOf(await fx.store.get(ref).catch((e: unknown) => e))).toBe('corrupt');
    });

    it('stores one blob once when many write it at once, by put and by upload', async (t) => {
      if (skip) t.skip();
      const bytes = randomBytes(30_000);
      const refs = await Promise.all(Array.from({ length: 8 }, () => fx.store.put(bytes, 'application/octet-stream')));
      expect(new Set(refs.map((r) => r.$blob))).toEqual(new Set([digestOfBytes(bytes)]));
      const other = randomBytes(30_000);
      const staged = await Promise.all(Array.from({ length: 6 }, () => fx.store.receive(chunked(other))));
      await Promise.all(staged.map((s) => s.commit()));
      for (const b of [bytes, other]) {
        expect((await fx.store.get(digestOfBytes(b))).equals(b)).toBe(true);
        expect((await drain((await fx.store.stream(digestOfBytes(b))).stream)).equals(b)).toBe(true);
      }
      expect(readdirSync(fx.stagingDir)).toEqual([]);
    });

    it('removes uploads a killed process left half-received, and only stale ones', async (t) => {
      if (skip) t.skip();
      const stale = join(fx.stagingDir, 'left-by-a-killed-process.tmp');
      const fresh = join(fx.stagingDir, 'still-being-written.tmp');
      writeFileSync(stale, 'half');
      writeFileSync(fresh, 'half');
      const hourAgo = (Date.now() - 2 * 60 * 60_000) / 1000;
      utimesSync(stale, hourAgo, hourAgo);
      expect(await fx.store.removeStaleUploads()).toBe(1);
      expect(readdirSync(fx.stagingDir)).toEqual(['still-being-written.tmp']);
      rmSync(fresh);
    });
  });
}
