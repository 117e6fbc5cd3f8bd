import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import type { BlobStore } from '../src/blobs/blob-store.js';
import { FileBlobStore } from '../src/blobs/file/file-blob-store.js';
import { PostgresBlobStore } from '../src/blobs/postgres/postgres-blob-store.js';
import { S3BlobStore } from '../src/blobs/s3/s3-blob-store.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { startS3 } from '../test/support/s3.js';

/**
 * `npx tsx bench/blob-stores.ts`: what each blob store adapter costs on this machine, side by side: many
 * small blobs (one at a time, as steps store them) and a large one (uploaded as a stream, read back as a
 * stream). The S3 figures are against s3rver on loopback, a file-backed stand-in: they show the adapter's
 * own overhead, not a real bucket's network. Seconds, not a test: nothing here fails on a slow machine.
 */
const POSTGRES = process.env.VERITY_BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const SMALL = { count: 200, bytes: 16 * 1024 };
const LARGE = { bytes: 32 * 1024 * 1024, rounds: 3 };

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function drain(stream: Readable): Promise<void> {
  for await (const chunk of stream as AsyncIterable<Buffer>) void chunk;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function measure(store: BlobStore): Promise<Record<string, string>> {
  const small = Array.from({ length: SMALL.count }, () => randomBytes(SMALL.bytes));
  const putSmall = await time(async () => {
    for (const bytes of small) await store.put(bytes, 'application/octet-stream');
  });
  const refs = small.map((b) => `sha256:${sha256Hex(b)}`);
  const getSmall = await time(async () => {
    for (const ref of refs) await store.get(ref);
  });
  const uploads: number[] = [];
  const reads: number[] = [];
  for (let round = 0; round < LARGE.rounds; round++) {
    const large = randomBytes(LARGE.bytes);
    const pieces = Array.from({ length: LARGE.bytes / 65536 }, (_, i) => large.subarray(i * 65536, (i + 1) * 65536));
    let digest = '';
    uploads.push(
      await time(async () => {
        const staged = await store.receive(Readable.from(pieces));
        await staged.commit();
        digest = staged.digest;
      }),
    );
    reads.push(await time(async () => drain((await store.stream(digest)).stream)));
  }
  const mbps = (ms: number) => `${((LARGE.bytes / 1024 / 1024 / ms) * 1000).toFixed(0)} MiB/s`;
  return {
    [`put ${SMALL.bytes / 1024} KiB`]: `${(putSmall / SMALL.count).toFixed(2)} ms`,
    [`get ${SMALL.bytes / 1024} KiB`]: `${(getSmall / SMALL.count).toFixed(2)} ms`,
    [`upload ${LARGE.bytes / 1024 / 1024} MiB (stream)`]: `${median(uploads).toFixed(0)} ms (${mbps(median(uploads))})`,
    [`read ${LARGE.bytes / 1024 / 1024} MiB (stream)`]: `${median(reads).toFixed(0)} ms (${mbps(median(reads))})`,
  };
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'verity-bench-blobs-'));
  const results: Record<string, Record<string, string>> = {};
  try {
    const file = new FileBlobStore({ dir: join(dir, 'file') });
    results.file = await measure(file);

    const schema = `bench_blobs_${process.pid}`;
    const url = new URL(POSTGRES);
    url.searchParams.set('schema', schema);
    await (await PostgresStore.open({ url: url.toString() })).close();
    const postgres = new PostgresBlobStore({ url: url.toString(), stagingDir: join(dir, 'pg-uploads') });
    try {
      results.postgres = await measure(postgres);
    } finally {
      await postgres.close();
      const client = new pg.Client({ connectionString: POSTGRES });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }

    const s3 = await startS3('bench');
    const bucket = await S3BlobStore.open({
      bucket: s3.bucket,
      prefix: '',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: s3.credentials,
      stagingDir: join(dir, 's3-uploads'),
    });
    try {
      results['s3 (s3rver, loopback)'] = await measure(bucket);
    } finally {
      await bucket.close();
      await s3.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const columns = Object.keys(Object.values(results)[0]!);
  console.log(`| store | ${columns.join(' | ')} |`);
  console.log(`| --- | ${columns.map(() => '---').join(' | ')} |`);
  for (const [name, row] of Object.entries(results))
    console.log(`| ${name} | ${columns.map((c) => row[c]).join(' | ')} |`);
}

await main();
