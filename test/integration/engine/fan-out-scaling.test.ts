import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { backendAvailable } from '../../support/backends.js';
import { echo, startTestNode } from '../../support/node.js';
import { POSTGRES_URL } from '../../support/postgres.js';

/**
 * A wide fan-out advances in work proportional to its steps, not to their square (issue 11, item 7: each
 * transition used to rescan every step of the execution, so a 10,000-step fan-out crawled at ~50 steps/s).
 * Measured without a clock: PostgreSQL counts the rows each table hands out (pg_stat_user_tables), and
 * each test node has a schema of its own. Four times the steps must cost about four times the step rows
 * read; a rescan per transition costs sixteen times.
 */

const fanOut = (width: number) => ({
  id: `fan-out-${width}`,
  concurrency: width,
  steps: [
    echo('source'),
    ...Array.from({ length: width }, (_, i) => echo(`w${i}`, { depends_on: ['source'] })),
    echo('join', { depends_on: Array.from({ length: width }, (_, i) => `w${i}`) }),
  ],
});

/** Rows read from the steps table (by sequential scans and through indexes) over one execution of a fan-out. */
async function stepRowsRead(width: number): Promise<number> {
  const test = await startTestNode('postgres', `scaling-${width}`, { workers: 4 });
  const schema = new URL(test.backend.databaseUrl!).searchParams.get('schema')!;
  try {
    const view = await test.run(fanOut(width));
    expect(view.status).toBe('completed');
  } finally {
    // Closing the node's connections flushes their statistics.
    await test.node.stop();
  }
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    // Statistics arrive shortly after the sessions that made them end: wait until they stop changing.
    let last = -1;
    for (let i = 0; i < 50; i++) {
      await client.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await client.query<{ n: string | null }>(
        'SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) AS n FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = $2',
        [schema, 'steps'],
      );
      const n = Number(rows[0]?.n ?? 0);
      if (n > 0 && n === last) return n;
      last = n;
      await new Promise((r) => setTimeout(r, 200));
    }
    return last;
  } finally {
    await client.end();
    await test.backend.cleanup();
  }
}

describe.skipIf(!(await backendAvailable('postgres')))('a wide fan-out (postgres)', () => {
  it('reads step rows in proportion to its steps, not to their square', { timeout: 240_000 }, async () => {
    const small = await stepRowsRead(100);
    const large = await stepRowsRead(400);
    process.stdout.write(`step rows read: ${small} for 102 steps, ${large} for 402\n`);
    // Linear: ~4×. One rescan per transition: ~16×. The margin absorbs sweeps and retries of a busy machine.
    expect(large / small, `${small} step rows read for 102 steps, ${large} for 402`).toBeLessThan(8);
  });
});
