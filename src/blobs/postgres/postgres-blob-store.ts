import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import pg from 'pg';
import type { BlobRef } from '../blob-ref.js';
import { blobDigestOf } from '../blob-ref.js';
import type { BlobStore, StagedBlob } from '../blob-store.js';
import { DEFAULT_MAX_BLOB_BYTES } from '../blob-store.js';
import { DigestCheck, checkPutSize, checkedBytes, refOf } from '../digest-check.js';
import { BlobError } from '../errors.js';
import { receiveStaged, removeStaleFiles } from '../staging.js';

export interface PostgresBlobStoreOptions {
  /** The store's database URL (`postgres://…`, with its `schema` parameter if any): the tables are there. */
  url: string;
  /** Where uploads are received before their digest is known: a local directory of this process. */
  stagingDir: string;
  /** The largest blob accepted, in bytes. Default: 256 MiB. */
  maxBytes?: number;
  /** Bytes per stored chunk. Default: 1 MiB. */
  chunkBytes?: number;
  /** Connections of the blob store's own pool. Default: 4. */
  poolSize?: number;
}

/**
 * Blob bytes in the store's own PostgreSQL database (tables `blob_contents` and `blob_chunks`, see
 * postgres-blob-schema.ts): for a deployment whose replicas share the database and nothing else. A pool of
 * its own, small, so that moving a large blob never holds a connection the step path is waiting for. A
 * blob is written in one transaction (its row first, then its chunks): a reader sees all of it or none,
 * and of two writers of the same bytes the second waits on the first's row, then finds it there.
 */
export class PostgresBlobStore implements BlobStore {
  readonly kind = 'postgres';
  readonly location: string;
  readonly maxBytes: number;
  private readonly chunkBytes: number;
  private readonly pool: pg.Pool;

  constructor(private readonly options: PostgresBlobStoreOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BLOB_BYTES;
    this.chunkBytes = options.chunkBytes ?? 1024 * 1024;
    const { config, location } = connectionOf(options.url);
    this.location = location;
    this.pool = new pg.Pool({ ...config, max: options.poolSize ?? 4 });
    // An idle client that loses its connection must not crash the process; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async put(bytes: Uint8Array, mediaType: string): Promise<BlobRef> {
    checkPutSize(bytes, this.maxBytes);
    const ref = refOf(bytes, mediaType);
    if (await this.has(ref.$blob)) return ref;
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    await this.write(ref.$blob, ref.size, function* (chunkBytes) {
      for (let offset = 0; offset < buffer.byteLength; offset += chunkBytes)
        yield buffer.subarray(offset, offset + chunkBytes);
    });
    return ref;
  }

  /** Writes a blob's row and chunks in one transaction, unless another writer has (or is about to commit) it. */
  private async write(
    digest: string,
    size: number,
    chunksOf: (chunkBytes: number) => Iterable<Buffer> | AsyncIterable<Buffer>,
  ): Promise<void> {
    const chunks = Math.ceil(size / this.chunkBytes);
    const client = await this.connect(digest);
    try {
      await client.query('BEGIN');
      const inserted = await client.query(
        'INSERT INTO blob_contents (digest, size, chunks, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (digest) DO NOTHING',
        [digest, size, chunks, Date.now()],
      );
      if (inserted.rowCount === 0) {
        await client.query('ROLLBACK');
        return;
      }
      let seq = 0;
      for await (const chunk of exactChunks(chunksOf(this.chunkBytes), this.chunkBytes)) {
        await client.query('INSERT INTO blob_chunks (digest, seq, bytes) VALUES ($1, $2, $3)', [digest, seq++, chunk]);
      }
      if (seq !== chunks) throw new Error(`wrote ${seq} chunks of the ${chunks} its size needs`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw unavailable(`cannot store blob ${digest}`, error);
    } finally {
      client.release();
    }
  }

  private async connect(digest: string): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (error) {
      throw unavailable(`cannot reach the blob store for ${digest}`, error);
    }
  }

  async receive(source: Readable, options: { maxBytes?: number } = {}): Promise<StagedBlob> {
    return receiveStaged(source, this.options.stagingDir, Math.min(options.maxBytes ?? this.maxBytes, this.maxBytes), {
      has: (digest) => this.has(digest),
      store: (staged) =>
        this.write(staged.digest, staged.size, (chunkBytes) =>
          createReadStream(staged.path, { highWaterMark: chunkBytes }),
        ),
    });
  }

  removeStaleUploads(olderThanMs = 60 * 60_000, now = Date.now()): Promise<number> {
    return removeStaleFiles(this.options.stagingDir, olderThanMs, now);
  }

  private async query<R extends pg.QueryResultRow>(digest: string, sql: string, params: unknown[]): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, params)).rows;
    } catch (error) {
      throw unavailable(`cannot read blob ${digest}`, error);
    }
  }

  private async header(ref: BlobRef | string): Promise<{ digest: string; size: number; chunks: number } | undefined> {
    const digest = blobDigestOf(ref);
    const rows = await this.query<{ size: string; chunks: number }>(
      digest,
      'SELECT size, chunks FROM blob_contents WHERE digest = $1',
      [digest],
    );
    const row = rows[0];
    return row === undefined ? undefined : { digest, size: Number(row.size), chunks: row.chunks };
  }

  private async chunk(digest: string, seq: number): Promise<Buffer> {
    const rows = await this.query<{ bytes: Buffer }>(
      digest,
      'SELECT bytes FROM blob_chunks WHERE digest = $1 AND seq = $2',
      [digest, seq],
    );
    // A missing chunk is damage, like changed bytes: the digest check below could not pass.
    return rows[0]?.bytes ?? Buffer.alloc(0);
  }

  async stream(ref: BlobRef | string): Promise<{ size: number; stream: Readable }> {
    const found = await this.header(ref);
    if (!found) throw new BlobError('not_found', `no blob ${blobDigestOf(ref)}`);
    const { digest, size, chunks } = found;
    // One chunk in memory at a time, read as the consumer asks for more.
    const read = async function* (this: PostgresBlobStore) {
      for (let seq = 0; seq < chunks; seq++) yield await this.chunk(digest, seq);
    }.call(this);
    const check = new DigestCheck(digest, 'the database (table blob_chunks)');
    pipeline(Readable.from(read, { objectMode: false }), check, () => undefined);
    return { size, stream: check };
  }

  async has(ref: BlobRef | string): Promise<boolean> {
    return (await this.header(ref)) !== undefined;
  }

  async size(ref: BlobRef | string): Promise<number | undefined> {
    return (await this.header(ref))?.size;
  }

  async get(ref: BlobRef | string): Promise<Buffer> {
    const found = await this.header(ref);
    if (!found) throw new BlobError('not_found', `no blob ${blobDigestOf(ref)}`);
    const rows = await this.query<{ bytes: Buffer }>(
      found.digest,
      'SELECT bytes FROM blob_chunks WHERE digest = $1 ORDER BY seq',
      [found.digest],
    );
    return checkedBytes(Buffer.concat(rows.map((r) => r.bytes)), found.digest, 'the database (table blob_chunks)');
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

/** Pieces of exactly `size` bytes (the last one shorter), whatever sizes the source yields. */
async function* exactChunks(source: Iterable<Buffer> | AsyncIterable<Buffer>, size: number): AsyncIterable<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of source) {
    pending.push(piece);
    pendingBytes += piece.byteLength;
    while (pendingBytes >= size) {
      const all = Buffer.concat(pending);
      yield all.subarray(0, size);
      pending = [all.subarray(size)];
      pendingBytes -= size;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

function unavailable(what: string, error: unknown): BlobError {
  if (error instanceof BlobError) return error;
  return new BlobError('unavailable', `${what}: ${(error as Error).message}`, { cause: error });
}

/**
 * The connection the store's own URL describes, its `schema` parameter as the search path (as the store
 * reads it: the blob tables are in the same schema as the rest), and the URL without its password.
 */
function connectionOf(text: string): { config: pg.PoolConfig; location: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new BlobError('unavailable', 'the database URL of the postgres blob store is not a valid URL', {
      cause: error,
    });
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema))
    throw new BlobError('unavailable', `schema "${schema}" must be a lowercase identifier`);
  const safe = new URL(url);
  safe.password = '';
  return {
    config: {
      connectionString: url.toString(),
      ...(schema !== undefined && { options: `-c search_path=${schema}` }),
    },
    location: `${safe.toString()}${schema !== undefined ? ` (schema ${schema})` : ''}, tables blob_contents and blob_chunks`,
  };
}
