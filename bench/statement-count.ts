import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * Counts the statements the store sends while `counting` is on (on SQLite, statement executions), and on
 * PostgreSQL the round trips: statements written while others on the same connection are still unanswered
 * ride in one round trip (the transaction connections pipeline), so a round trip starts only when a
 * statement leaves a connection with nothing in flight. BEGIN counts as a transaction. With
 * VERITY_TRACE_STATEMENTS=1 each counted PostgreSQL statement is printed to stderr, `+` marking the start
 * of a round trip.
 */
export interface StatementCounter {
  on(): void;
  off(): void;
  readonly statements: number;
  readonly transactions: number;
  readonly roundTrips: number;
}

export function countStatements(): StatementCounter {
  let counting = false;
  let statements = 0;
  let transactions = 0;
  let roundTrips = 0;
  const trace = process.env.VERITY_TRACE_STATEMENTS === '1';
  const seen = (text: unknown) => {
    if (!counting || typeof text !== 'string') return;
    statements++;
    if (/^\s*BEGIN\b/i.test(text)) transactions++;
  };

  const client = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const query = client.query;
  const inFlight = new WeakMap<object, number>();
  client.query = function (this: object, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | undefined)?.text;
    seen(text);
    const pending = inFlight.get(this) ?? 0;
    if (counting) {
      if (pending === 0) roundTrips++;
      if (trace)
        process.stderr.write(`${pending === 0 ? '+' : ' '} ${String(text).replace(/\s+/g, ' ').slice(0, 160)}\n`);
    }
    inFlight.set(this, pending + 1);
    const settle = () => void inFlight.set(this, (inFlight.get(this) ?? 1) - 1);
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (...answer: unknown[]) => {
        settle();
        return (last as (...a: unknown[]) => unknown)(...answer);
      };
    }
    const result = query.apply(this, args);
    if (result instanceof Promise) result.then(settle, settle);
    return result;
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
    get roundTrips() {
      return roundTrips;
    },
  };
}
