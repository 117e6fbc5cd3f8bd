import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { StoreError } from '../errors.js';
import type { Store, StoreTx } from '../store.js';
import { claimStatement } from '../sql/claim.js';
import type { Row, SqlValue } from '../sql/columns.js';
import { migrate } from '../sql/migrate.js';
import { schemaMigrations } from '../sql/schema.js';
import { SqlReads, SqlTx } from '../sql/sql-store.js';
import type { SqlConnection, SqlDialect } from '../sql/sql-store.js';
import { events, executions } from '../sql/tables.js';

export interface PostgresOptions {
  /** `postgres://user@host:5432/db`; a `schema` query parameter puts Verity's tables in that schema. */
  url: string;
  poolSize?: number;
}

const dialect: SqlDialect = {
  lockExecutionSql: `SELECT ${executions.columns} FROM executions WHERE id = ? FOR UPDATE`,
  async claimJob(conn, request) {
    const { sql, params } = claimStatement(request, 'FOR UPDATE SKIP LOCKED');
    return (await conn.all(sql, params))[0];
  },
  /**
   * seq is taken at insert, not at commit, so a reader paging by seq could pass an event whose transaction
   * commits later. Events carry their transaction's id instead (tx_order); a reader takes only events of
   * transactions older than every transaction still running (the snapshot's xmin), in (tx_order, seq)
   * order: any event committing later has a larger tx_order than everything read so far.
   */
  async readEvents(conn, executionId, cursor, limit) {
    let after: [number, number] = [0, 0];
    if (cursor !== undefined) {
      const match = /^(\d+)\.(\d+)$/.exec(cursor);
      if (!match) throw new StoreError('invalid_cursor', `event cursor "${cursor}" is not one this store gave out`);
      after = [Number(match[1]), Number(match[2])];
    }
    const rows = await conn.all(
      `SELECT ${events.columns}, tx_order FROM events
        WHERE execution_id = ? AND (tx_order, seq) > (?, ?)
          AND tx_order < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
        ORDER BY tx_order, seq LIMIT ?`,
      [executionId, after[0], after[1], limit],
    );
    return rows.map((row) => ({ row, cursor: `${Number(row.tx_order)}.${Number(row.seq)}` }));
  },
};

/** Retry a transaction that lost a race PostgreSQL detected: serialization failure or deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_TX_ATTEMPTS = 8;
const UNIQUE_VIOLATION = '23505';

// BIGINT (int8) comes back as a string by default; every BIGINT here is milliseconds or micro-units, well
// inside 2^53.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text') =>
    oid === INT8_OID ? (value: string) => Number(value) : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

const converted = new Map<string, string>();
/** `?` placeholders → `$1, $2, …` (the shared SQL never contains a literal question mark). */
function toNumbered(sql: string): string {
  let out = converted.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    if (converted.size > 2000) converted.clear();
    converted.set(sql, out);
  }
  return out;
}

class Connection implements SqlConnection {
  constructor(private readonly client: pg.Pool | PoolClient) {}

  async all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    const result = await this.client.query<QueryResultRow>(toNumbered(sql), params as SqlValue[]);
    return result.rows;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    const result = await this.client.query(toNumbered(sql), params as SqlValue[]);
    return result.rowCount ?? 0;
  }
}

/** PostgreSQL, for many nodes: replicas coordinate through row locks and SKIP LOCKED, never through memory. */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly location: string;
  readonly read: SqlReads;

  private constructor(private readonly pool: pg.Pool, location: string) {
    this.location = location;
    this.read = new SqlReads(new Connection(pool), dialect);
  }

  static async open(options: PostgresOptions): Promise<PostgresStore> {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (error) {
      throw new StoreError('invalid_url', `VERITY_DATABASE_URL is not a valid URL; use postgres://user@host:5432/database`, {
        cause: error,
      });
    }
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
      throw new StoreError('invalid_url', `schema "${schema}" must be a lowercase identifier`);
    }
    const pool = new pg.Pool({
      connectionString: url.toString(),
      max: options.poolSize ?? 10,
      types,
      ...(schema !== undefined && { options: `-c search_path=${schema}` }),
    });
    // An idle client that loses its connection must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const safeUrl = new URL(url);
    safeUrl.password = '';
    const store = new PostgresStore(pool, safeUrl.toString() + (schema !== undefined ? ` (schema ${schema})` : ''));
    try {
      if (schema !== undefined) {
        // Under the migrators' lock: concurrent CREATE SCHEMA IF NOT EXISTS can fail with a duplicate key.
        await store.withClient(async (_conn, client) => {
          await client.query('SELECT pg_advisory_xact_lock(7283611)');
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        });
      }
      await migrate(schemaMigrations({ int: 'BIGINT', serialKey: 'BIGSERIAL PRIMARY KEY', txOrderDefault: '(pg_current_xact_id()::text::bigint)' }), (fn) =>
        store.withClient(async (conn, client) => {
          // One migrator at a time across every process that shares the database.
          await client.query('SELECT pg_advisory_xact_lock(7283611)');
          await fn(conn);
        }),
      );
    } catch (error) {
      await pool.end();
      if (error instanceof StoreError) throw error;
      throw new StoreError('unavailable', `cannot use PostgreSQL at ${store.location}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    return store;
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let tx: SqlTx | undefined;
      try {
        const result = await this.withClient(async (conn) => {
          tx = new SqlTx(conn, dialect);
          const result = await fn(tx);
          await tx.beforeCommit();
          return result;
        });
        for (const hook of tx!.committed) hook();
        return result;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== undefined && RETRYABLE.has(code) && attempt < MAX_TX_ATTEMPTS) continue;
        if (code === UNIQUE_VIOLATION) {
          throw new StoreError('conflict', `a concurrent write took the same key (${(error as { constraint?: string }).constraint ?? 'unique'})`, {
            cause: error,
          });
        }
        throw error;
      }
    }
  }

  private async withClient<T>(fn: (conn: SqlConnection, client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(new Connection(client), client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
