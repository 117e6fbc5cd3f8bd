import { describe, expect, it } from 'vitest';
import { formatReport, runSoak } from '../../../bench/soak/soak.js';

/**
 * The short soak under failure (`npm run soak` is the long one): 40 executions of mixed workflows on a real
 * `verity serve` process with three remote `verity worker` processes, each under its own worker API key,
 * while the server and workers are killed with SIGKILL and started again on the same data directory.
 * Needs the built CLI (`npm run build`).
 */
describe('soak under failure (short)', () => {
  it('ends every execution right, accepts each step result once, and every receipt and checkpoint checks out', async () => {
    const lines: string[] = [];
    const report = await runSoak({
      executions: 40,
      seed: 7,
      backend: 'sqlite',
      workers: 3,
      window: 16,
      // The kills made at fixed points of the run (a worker, then the server), and seldom one more.
      forcedKills: 2,
      killGapMs: [60_000, 60_000],
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
    // One life per server start: the first, and one after each kill.
    expect(report.lives).toHaveLength(1 + report.counts['kills: server']!);
  }, 600_000);
});
