import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * Counts the statements the store sends while `counting` is on: on PostgreSQL every query is a round trip
 * (node-postgres does not pipeline), so this is the step path's round-trip count; on SQLite it is the
 * number of statement executions. BEGIN counts as a transaction.
 */
export interface StatementCounter {
  on(): void;
  off(): void;
  readonly statements: number;
  readonly transactions: number;
}

export function countStatements(): StatementCounter {
  let counting = false;
  let statements = 0;
  let transactions = 0;
  const seen = (text: unknown) => {
    if (!counting || typeof text !== 'string') return;
    statements++;
    if (/^\s*BEGIN\b/i.test(text)) transactions++;
  };

  const client = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = client.query;
  client.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    seen(typeof first === 'string' ? first : (first as { text?: unknown } | undefined)?.text);
    return query.apply(this, args);
  };

  // better-sqlite3's Statement class is not exported; one statement's prototype is every statement's.
  const probe = new Database(':memory:');
  const statement = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...a: unknown[]) => unknown>;
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate'] as const) {
    const original = statement[method]!;
    statement[method] = function (this: { source: string }, ...args: unknown[]) {
      seen(this.source);
      return original.apply(this, args);
    };
  }
  // Transactions on SQLite are begun with exec() or db.transaction(); count the store's BEGINs there too.
  const db = Database.prototype as unknown as { exec: (sql: string) => unknown };
  const exec = db.exec;
  db.exec = function (this: unknown, sql: string) {
    seen(sql);
    return exec.call(this, sql);
  };

  return {
    on: () => void (counting = true),
    off: () => void (counting = false),
    get statements() {
      return statements;
    },
    get transactions() {
      return transactions;
    },
  };
}
