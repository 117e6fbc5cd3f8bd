import Database from 'better-sqlite3';

/**
 * What a refused request could have changed, read straight from the server's SQLite file, opened
 * read-only (not through the API under test): the rows of every table, and how many rows of each table
 * are in each status. Updates that change neither (a heartbeat's timestamp) are not state a refusal
 * could harm; a refusal that cancels, revokes, completes or adds anything shows here.
 */
export type Fingerprint = Record<string, number>;

/**
 * `result.refused` events, counted apart: only the worker holding a job leaves its refused reports in that
 * execution's history; anyone else's report is a metric, so a stranger's refused report changes nothing here.
 */
export const REFUSED_EVENTS = 'events[result.refused]';

export class StateReader {
  private readonly db: Database.Database;
  private readonly tables: string[];
  private readonly withStatus: string[];

  constructor(file: string) {
    this.db = new Database(file, { readonly: true, fileMustExist: true });
    const rows = this.db
      .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string; sql: string }[];
    this.tables = rows.map((r) => r.name).sort();
    this.withStatus = rows.filter((r) => /\bstatus\b/.test(r.sql)).map((r) => r.name);
  }

  fingerprint(): Fingerprint {
    const out: Fingerprint = {};
    for (const table of this.tables)
      out[table] = (this.db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
    for (const table of this.withStatus) {
      for (const row of this.db.prepare(`SELECT status, count(*) AS n FROM "${table}" GROUP BY status`).all() as {
        status: string;
        n: number;
      }[]) {
        out[`${table}[${row.status}]`] = row.n;
      }
    }
    if (this.tables.includes('api_keys'))
      out['api_keys[revoked]'] = (
        this.db.prepare('SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NOT NULL').get() as { n: number }
      ).n;
    if (this.tables.includes('events')) {
      const refused = (
        this.db.prepare("SELECT count(*) AS n FROM events WHERE type = 'result.refused'").get() as { n: number }
      ).n;
      out[REFUSED_EVENTS] = refused;
      out.events = (out.events ?? 0) - refused;
    }
    return out;
  }

  /**
   * Jobs the server's in-process workers will still run (builtin models and expressions): work that changes
   * the state in the background. Jobs for a model nobody serves wait for ever and change nothing.
   */
  busy(): number {
    return (
      this.db
        .prepare(
          "SELECT count(*) AS n FROM jobs WHERE status IN ('queued', 'assigned', 'running') AND step_type IN ('inference', 'data_processing') AND (model IS NULL OR model LIKE 'builtin/%')",
        )
        .get() as { n: number }
    ).n;
  }

  close(): void {
    this.db.close();
  }
}

/** The keys whose values differ, but for those in `ignore`. */
export function diff(
  before: Fingerprint,
  after: Fingerprint,
  ignore: readonly string[] = [],
): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (ignore.includes(key)) continue;
    const a = before[key] ?? 0;
    const b = after[key] ?? 0;
    if (a !== b) out[key] = [a, b];
  }
  return out;
}
