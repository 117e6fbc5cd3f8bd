import { describe, expect, it } from 'vitest';
import { formatReport, runSoak } from '../../../bench/soak/soak.js';
import { postgresAvailable } from '../../support/postgres.js';

/**
 * The short chaos run of a scaled-out deployment (`npm run chaos` is the full one, 500 executions): three
 * `verity serve` replicas on one PostgreSQL schema and four remote `verity worker` processes, each given all
 * three URLs, run 40 executions of mixed workflows (fan-outs, steps that fail their first attempt, a
 * workflow that fails for good, a redundant step) started across the replicas, while a replica or a worker
 * is killed with SIGKILL every few seconds and started again. Every execution must end right, the database
 * must hold each step result once, every receipt must verify, and checkpoints signed by different replicas
 * must be one log. Needs the built CLI (`npm run build`).
 */
describe.skipIf(!(await postgresAvailable()))('chaos: 3 replicas and 4 workers under kill -9 (short)', () => {
  it('ends every execution right, stores each step result once, and the replicas keep one verifiable log', async () => {
    const lines: string[] = [];
    const report = await runSoak({
      executions: 40,
      seed: 16,
      backend: 'postgres',
      replicas: 3,
      workers: 4,
      window: 12,
      killGapMs: [3000, 6000],
      // A worker, then a replica, at fixed points of the run, besides the loop's.
      forcedKills: 2,
      log: (line) => lines.push(line),
    });
    const table = formatReport(report);
    expect(report.violations, `${table}\n${lines.join('\n')}`).toEqual([]);
    expect(report.counts['executions: right state and result']).toBe(40);
    expect(report.counts['receipts verified: basic']).toBe(40);
    expect(report.counts['receipts verified: full']).toBe(40);
    expect(report.counts['kills: server']).toBeGreaterThanOrEqual(1);
    expect(report.counts['kills: worker']).toBeGreaterThanOrEqual(1);
    expect(report.counts['tlog: final size']).toBe(40);
    expect(report.counts['tlog: consistency proofs verified between checkpoints of two replicas']).toBeGreaterThan(0);
    // One life per replica start: three, and one after each kill.
    expect(report.lives).toHaveLength(3 + report.counts['kills: server']!);
  }, 600_000);
});
