import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Statement } from 'better-sqlite3';
import { StoreError } from '../errors.js';
import type { Store, StoreTx } from '../store.js';
import { claimStatement } from '../sql/claim.js';
import type { Row, SqlValue } from '../sql/columns.js';
import { migrate } from '../sql/migrate.js';
import { schemaMigrations } from '../sql/schema.js';
import { SqlReads, SqlTx } from '../sql/sql-store.js';
import { BACKSTOP_PAGES, SqliteCheckpointer } from './sqlite-checkpointer.js';
import type { SqlConnection, SqlDialect } from '../sql/sql-store.js';
import { executions } from '../sql/tables.js';
import { preparePrivateDatabaseFile } from './private-files.js';

export interface SqliteOptions {
  /** The database file; `:memory:` is refused because readers need a second connection to the same data. */
  file: string;
  /**
   * `full` syncs the write-ahead log on every commit (survives power loss); `normal` syncs at checkpoints
   * (survives a crash of the process, which is what kill -9 tests). Default: normal.
   */
  synchronous?: 'normal' | 'full';
  /** How long a writer waits for another process's write lock. Default: 10 s. */
  busyTimeoutMs?: number;
}

const dialect: SqlDialect = {
  lockExecutionSql: `SELECT ${executions.columns} FROM executions WHERE id = ?`,
  lockLedgerAccountSql:
    'SELECT CAST(available AS TEXT) AS available, CAST(held AS TEXT) AS held FROM ledger_accounts WHERE account = ?',
  forUpdate: '',
  forUpdateOf: () => '',
  async claimJob(conn, request) {
    const { sql, params } = claimStatement(request, '');
    return (await conn.all(sql, params))[0];
  },
};

/** One better-sqlite3 connection with a statement cache, seen through the async SqlConnection interface. */
class Connection implements SqlConnection {
  private readonly statements = new Map<string, Statement>();
  constructor(readonly db: Database.Database) {}

  private prepare(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement;
  }

  all(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    const statement = this.prepare(sql);
    if (!statement.reader) {
      statement.run(params);
      return Promise.resolve([]);
    }
    return Promise.resolve(statement.all(params) as Row[]);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return Promise.resolve(this.execute(sql, params));
  }

  /** Runs at once (SQLite answers in-process): a failure throws right here. */
  send(sql: string, params: readonly SqlValue[] = []): void {
    this.execute(sql, params);
  }

  private execute(sql: string, params: readonly SqlValue[]): number {
    const statement = this.prepare(sql);
    if (statement.reader) return statement.all(params).length;
    return statement.run(params).changes;
  }
}

/**
 * Write transactions on one database file, in this process, in order. Shared by every store open on the
 * file: `BEGIN IMMEDIATE` waits for the lock synchronously, so a second store in the same process must
 * queue behind the first's open transaction rather than block the event loop the first needs to commit.
 */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const fileQueues = new Map<string, { tail: Promise<unknown> }>();

/** Short-lived processes (a CLI command) never start a checkpointer thread; a server does within seconds. */
const CHECKPOINTER_AFTER_COMMITS = 200;

/**
 * The embedded default. One writer connection, used by one transaction at a time (an in-process queue
 * orders them; `BEGIN IMMEDIATE` takes the database's write lock, so other processes on the same file
 * wait rather than fail), and one read-only connection that sees committed data only.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly location: string;
  readonly read: SqlReads;
  private readonly writer: Connection;
  private readonly reader: Connection;
  private readonly begin: Statement;
  private readonly commit: Statement;
  private readonly rollback: Statement;
  private readonly queue: { tail: Promise<unknown> };
  /** Commits so far: a process that commits this much is long-lived enough for a checkpointer thread. */
  private commits = 0;
  private checkpointer: SqliteCheckpointer | undefined;

  private constructor(file: string, options: SqliteOptions) {
    this.location = file;
    const key = resolve(file);
    this.queue = fileQueues.get(key) ?? { tail: Promise.resolve() };
    fileQueues.set(key, this.queue);
    const busy = options.busyTimeoutMs ?? 10_000;
    const writer = new Database(file, { timeout: busy });
    writer.pragma('journal_mode = WAL');
    writer.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    writer.pragma('foreign_keys = ON');
    const reader = new Database(file, { timeout: busy });
    reader.pragma('query_only = ON');
    this.writer = new Connection(writer);
    this.reader = new Connection(reader);
    this.begin = writer.prepare('BEGIN IMMEDIATE');
    this.commit = writer.prepare('COMMIT');
    this.rollback = writer.prepare('ROLLBACK');
    this.read = new SqlReads(this.reader, dialect);
  }

  static async open(options: SqliteOptions): Promise<SqliteStore> {
    if (options.file === ':memory:' || options.file === '') {
      throw new StoreError('invalid_url', 'SQLite needs a file (a data directory); :memory: is not supported');
    }
    let store: SqliteStore;
    try {
      preparePrivateDatabaseFile(options.file);
      store = new SqliteStore(options.file, options);
    } catch (error) {
      throw new StoreError('unavailable', `cannot open SQLite database ${options.file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      await migrate(
        schemaMigrations({
          int: 'INTEGER',
          serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
          txOrderDefault: '0',
          jobsQueuedNotice: [],
          blobContents: [],
        }),
        (fn) => store.exclusive(() => fn(store.writer)),
      );
    } catch (error) {
      // A refused database (schema_too_new, a failed migration) must not keep its connections open.
      store.reader.db.close();
      store.writer.db.close();
      throw error;
    }
    return store;
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      const tx = new SqlTx(this.writer, dialect);
      const result = await fn(tx);
      await tx.beforeCommit();
      return { result, committed: tx.committed };
    }).then(({ result, committed }) => {
      for (const hook of committed) hook();
      return result;
    });
  }

  /** Runs fn inside BEGIN IMMEDIATE … COMMIT, one at a time in this process. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const db = this.writer.db;
      try {
        this.begin.run();
      } catch (error) {
        throw new StoreError('busy', `the SQLite database is locked by another process: ${(error as Error).message}`, {
          cause: error,
        });
      }
      try {
        const result = await fn();
        this.commit.run();
        if (++this.commits === CHECKPOINTER_AFTER_COMMITS) this.startCheckpointer();
        return result;
      } catch (error) {
        if (db.inTransaction) this.rollback.run();
        const code = (error as { code?: string }).code;
        if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
          throw new StoreError('conflict', `a write took a key that already exists: ${(error as Error).message}`, {
            cause: error,
          });
        }
        throw error;
      }
    };
    // Each transaction starts from a macrotask (setImmediate), not straight from the last one's promise:
    // better-sqlite3 is synchronous, so a chain of queued transactions would otherwise run back to back in
    // one microtask drain and hold off every waiting request (a status read behind sixteen results). This
    // way the event loop takes in new requests between transactions.
    const next = this.queue.tail.then(yieldToEventLoop).then(run);
    this.queue.tail = next.catch(() => undefined);
    return next;
  }

  /** The thread that checkpoints the WAL, once this store has committed enough to start it (diagnostics). */
  get checkpointThread(): SqliteCheckpointer | undefined {
    return this.checkpointer;
  }

  /** Checkpoints move to a thread (SqliteCheckpointer); the writer keeps its own only as a backstop. */
  private startCheckpointer(): void {
    const writer = this.writer.db;
    this.checkpointer = new SqliteCheckpointer(this.location, () => {
      this.checkpointer = undefined;
      if (writer.open) writer.pragma('wal_autocheckpoint = 1000');
    });
    writer.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  }

  close(): Promise<void> {
    // Wait for queued transactions, then close; WAL is checkpointed by SQLite on the last close.
    return this.queue.tail.then(async () => {
      await this.checkpointer?.close();
      this.reader.db.close();
      this.writer.db.close();
    });
  }
}
