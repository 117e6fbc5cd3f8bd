import { createHash } from 'node:crypto';
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
import { executions } from '../sql/tables.js';
import { JOBS_QUEUED_NOTICE_DDL, JobsQueuedListener } from './postgres-notices.js';
import { BLOB_CONTENTS_DDL } from '../../blobs/postgres/postgres-blob-schema.js';

export interface PostgresOptions {
  /** `postgres://user@host:5432/db`; a `schema` query parameter puts Verity's tables in that schema. */
  url: string;
  /** Connections for transactions. Default: 10. */
  poolSize?: number;
  /**
   * Connections for reads outside transactions (status, history, event streams). Default: 4. A pool of
   * their own, so a read never waits behind writers that hold every transaction connection.
   */
  readPoolSize?: number;
}

/** The first key of the advisory locks that order events (the migrator's lock is a one-key lock, apart). */
export const EVENT_LOCK_SPACE = 7283612;
/** The first key of the per-worker claim locks. */
const CLAIM_LOCK_SPACE = 7283613;
/** The first key of the per-step-attempt locks that keep a principal to one replica of an attempt. */
const REPLICA_LOCK_SPACE = 7283614;

/** The second key: a 32-bit hash of the execution id (a collision only makes two executions wait on each other). */
export function eventLockKey(executionId: string): number {
  return createHash('sha256').update(executionId).digest().readInt32BE(0);
}

const dialect: SqlDialect = {
  lockExecutionSql: `SELECT ${executions.columns} FROM executions WHERE id = ? FOR UPDATE`,
  lockLedgerAccountSql:
    'SELECT CAST(available AS TEXT) AS available, CAST(held AS TEXT) AS held FROM ledger_accounts WHERE account = ? FOR UPDATE',
  forUpdate: ' FOR UPDATE',
  forUpdateOf: (alias) => ` FOR UPDATE OF ${alias}`,
  async claimJob(conn, request) {
    // One claim at a time per worker: a worker's concurrent claims would not see each other's uncommitted
    // assignments, so two could take two replicas of one redundant step. Taken first in the transaction,
    // and by nothing else, so it cannot deadlock. (SQLite's write lock already serializes every claim.)
    conn.send('SELECT pg_advisory_xact_lock(?, ?)', [CLAIM_LOCK_SPACE, eventLockKey(request.workerId)]);
    const { sql, params } = claimStatement(request, 'FOR UPDATE SKIP LOCKED');
    const claimed = (await conn.all(sql, params))[0];
    if (claimed !== undefined && claimed.replica !== null && claimed.replica !== undefined) {
      await refuseSecondReplicaOfPrincipal(conn, claimed);
    }
    return claimed;
  },
  /**
   * seq comes from a sequence at insert, not at commit. A per-execution advisory lock, taken right before
   * the insert and held to commit, keeps two transactions from interleaving there: one that inserted an
   * execution's events commits (and is visible: PostgreSQL publishes the commit before it releases locks)
   * before the next takes its seq for that execution. So an execution's seq order is its commit order, and
   * a reader paging by seq misses nothing, without depending on any other transaction in the database.
   * Locks are taken in key order so that two transactions writing for the same executions cannot deadlock.
   */
  serializeEvents(conn, executionIds) {
    const keys = [...new Set(executionIds.map(eventLockKey))].sort((a, b) => a - b);
    for (const key of keys) conn.send('SELECT pg_advisory_xact_lock(?, ?)', [EVENT_LOCK_SPACE, key]);
  },
  /**
   * Taken a little earlier than serializeEvents would (with the execution's row, which the transaction
   * already holds), and still held to commit, so seq order stays commit order. A transaction that writes
   * events of several executions may then take their locks out of key order; the deadlock that could follow
   * is PostgreSQL's to detect, and the transaction is retried (40P01).
   */
  eventLockExpression: (executionId) => ({
    sql: 'pg_advisory_xact_lock(?, ?)',
    params: [EVENT_LOCK_SPACE, eventLockKey(executionId)],
  }),
};

/**
 * Two workers of one principal that claim replicas of one step attempt at the same moment do not see each
 * other's uncommitted assignment, so both could win, and that party would hold two of the k replicas (its
 * second would not count towards the quorum; it would only keep an honest party's replica waiting). The
 * claimers of one attempt queue on one advisory lock, taken after the claim and held to commit; the later
 * one then sees the earlier's committed assignment, and if it is its own principal's, its transaction is
 * retried as a serialization failure, where the claim's sibling rule now skips that attempt.
 */
async function refuseSecondReplicaOfPrincipal(conn: SqlConnection, claimed: Row): Promise<void> {
  const attemptKey = `${String(claimed.execution_id)}\u0000${String(claimed.step_id)}\u0000${String(claimed.attempt)}`;
  // Sent ahead of the read: PostgreSQL runs them in order, so the read still waits for the lock.
  conn.send('SELECT pg_advisory_xact_lock(?, ?)', [REPLICA_LOCK_SPACE, eventLockKey(attemptKey)]);
  const twins = await conn.all(
    `SELECT 1 AS found FROM jobs WHERE execution_id = ? AND step_id = ? AND attempt = ? AND id <> ?
       AND principal = ? LIMIT 1`,
    [claimed.execution_id, claimed.step_id, claimed.attempt, claimed.id, claimed.principal] as SqlValue[],
  );
  if (twins.length > 0) {
    throw Object.assign(new Error('another worker of this principal claimed a replica of this attempt first'), {
      code: SERIALIZATION_FAILURE,
    });
  }
}

const SERIALIZATION_FAILURE = '40001';

/** Retry a transaction that lost a race PostgreSQL detected: serialization failure or deadlock. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_TX_ATTEMPTS = 8;
const UNIQUE_VIOLATION = '23505';

// BIGINT (int8) comes back as a string by default; every BIGINT here is milliseconds or micro-units, well
// inside 2^53.
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text') =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
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

/**
 * Statements are prepared once per connection and then only bound and executed: PostgreSQL skips parsing
 * and planning, which is most of the server's time for the step path's short statements. Texts are named by
 * their hash; the shared SQL varies only in IN-list lengths, so the set stays small, and past PREPARED_CAP
 * distinct texts the rest run unprepared rather than grow every connection's statement cache.
 */
const PREPARED_CAP = 1000;
const statementNames = new Map<string, string>();
function prepared(sql: string, params: readonly SqlValue[]): pg.QueryConfig<SqlValue[]> {
  const text = toNumbered(sql);
  let name = statementNames.get(text);
  // Statements without parameters (the migrations' DDL, run once) are not worth a name.
  if (name === undefined && params.length > 0 && statementNames.size < PREPARED_CAP) {
    name = `v_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return name === undefined ? { text, values: params as SqlValue[] } : { name, text, values: params as SqlValue[] };
}

/**
 * One pool's connection (reads outside transactions) or one transaction's client. A transaction's client
 * pipelines (`pipeline: true`): a statement sent without waiting goes out at once behind the ones before
 * it, so a transaction's writes share round trips with the next read or the COMMIT. PostgreSQL answers in
 * order, so the first failure is known before any later answer is: it is kept, and thrown by the next
 * statement waited for (which, in the aborted transaction, failed only because of it).
 */
class Connection implements SqlConnection {
  private failure: Error | undefined;

  constructor(private readonly client: pg.Pool | PoolClient) {}

  async all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return (await this.query(sql, params)).rows;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return (await this.query(sql, params)).rowCount ?? 0;
  }

  send(sql: string, params: readonly SqlValue[] = []): void {
    this.client.query(prepared(sql, params), (error: Error | undefined) => {
      if (error !== undefined && error !== null) this.failure ??= error;
    });
  }

  /** Throws the failure of a statement sent earlier, if one failed. */
  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async query(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult<QueryResultRow>> {
    let result: pg.QueryResult<QueryResultRow>;
    try {
      result = await this.client.query<QueryResultRow>(prepared(sql, params));
    } catch (error) {
      throw this.failure ?? error;
    }
    this.check();
    return result;
  }
}

/** PostgreSQL, for many nodes: replicas coordinate through row locks and SKIP LOCKED, never through memory. */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly location: string;
  readonly read: SqlReads;

  private readonly notices: JobsQueuedListener;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly readPool: pg.Pool,
    location: string,
    listenerConfig: pg.ClientConfig,
  ) {
    this.location = location;
    this.read = new SqlReads(new Connection(readPool), dialect);
    this.notices = new JobsQueuedListener(listenerConfig, [pool, readPool]);
  }

  onJobsQueued(listener: (availableAt: number) => void): () => void {
    return this.notices.subscribe(listener);
  }

  static async open(options: PostgresOptions): Promise<PostgresStore> {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch (error) {
      throw new StoreError(
        'invalid_url',
        `VERITY_DATABASE_URL is not a valid URL; use postgres://user@host:5432/database`,
        {
          cause: error,
        },
      );
    }
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
      throw new StoreError('invalid_url', `schema "${schema}" must be a lowercase identifier`);
    }
    const connection: pg.ClientConfig = {
      connectionString: url.toString(),
      types,
      ...(schema !== undefined && { options: `-c search_path=${schema}` }),
    };
    const poolOf = (max: number, pipeline: boolean) => {
      const pool = new pg.Pool({ ...connection, max, pipeline });
      // An idle client that loses its connection must not crash the process; the next query reconnects.
      pool.on('error', () => undefined);
      return pool;
    };
    const pool = poolOf(options.poolSize ?? 10, true);
    const readPool = poolOf(options.readPoolSize ?? 4, false);
    const safeUrl = new URL(url);
    safeUrl.password = '';
    const store = new PostgresStore(
      pool,
      readPool,
      safeUrl.toString() + (schema !== undefined ? ` (schema ${schema})` : ''),
      connection,
    );
    try {
      if (schema !== undefined) {
        // Under the migrators' lock: concurrent CREATE SCHEMA IF NOT EXISTS can fail with a duplicate key.
        await store.withClient(async (_conn, client) => {
          await client.query('SELECT pg_advisory_xact_lock(7283611)');
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        });
      }
      await migrate(
        schemaMigrations({
          int: 'BIGINT',
          serialKey: 'BIGSERIAL PRIMARY KEY',
          txOrderDefault: '(pg_current_xact_id()::text::bigint)',
          jobsQueuedNotice: JOBS_QUEUED_NOTICE_DDL,
          blobContents: BLOB_CONTENTS_DDL,
        }),
        (fn) =>
          store.withClient(async (conn, client) => {
            // One migrator at a time across every process that shares the database.
            await client.query('SELECT pg_advisory_xact_lock(7283611)');
            await fn(conn);
          }),
      );
    } catch (error) {
      await Promise.all([pool.end(), readPool.end()]);
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
          throw new StoreError(
            'conflict',
            `a concurrent write took the same key (${(error as { constraint?: string }).constraint ?? 'unique'})`,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
    }
  }

  private async withClient<T>(fn: (conn: SqlConnection, client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    // A server that ends the session between two queries (idle_in_transaction_session_timeout, after a
    // network cut) makes the client emit 'error': without a listener, that would end the process.
    const lost = () => {
      broken = true;
    };
    client.on('error', lost);
    try {
      const conn = new Connection(client);
      // BEGIN rides with the transaction's first statement.
      conn.send('BEGIN');
      const result = await fn(conn, client);
      // A COMMIT in a transaction that a sent statement failed rolls back (and says so without an error):
      // that failure is the transaction's.
      await client.query('COMMIT');
      conn.check();
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.notices.close();
    await Promise.all([this.pool.end(), this.readPool.end()]);
  }
}
