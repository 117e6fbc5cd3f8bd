import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSummary, runCampaign } from '../../support/attack/campaign.js';
import { REGRESSIONS } from '../../support/attack/regressions.js';
import { startAttackTarget } from '../../support/attack/target.js';
import type { AttackTarget } from '../../support/attack/target.js';

/**
 * A real `verity serve` (the built CLI) attacked over HTTP: first each request that once broke the server
 * (issue 11), then a few thousand property-based requests on every route as every role. `npm run fuzz`
 * runs the same attack with 100,000 requests; FUZZ_SEED replays a run of either.
 */

const REQUESTS = Number(process.env.FUZZ_TEST_REQUESTS ?? 3_000);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);

let target: AttackTarget;
beforeAll(async () => {
  target = await startAttackTarget({ workers: 2 });
}, 120_000);
afterAll(() => target?.stop());

describe('requests that once broke the server', () => {
  it.each(REGRESSIONS.map((r) => [r.name, r] as const))('%s', async (_name, regression) => {
    await target.ensureFixtures();
    const started = performance.now();
    const response = await regression.send(target);
    expect(await regression.check(response, target, performance.now() - started)).toBeUndefined();
    expect(target.exitCode()).toBeNull();
  });
});

describe('an attack on every route as every role', () => {
  it(`${REQUESTS} requests: no 5xx, no state changed by refusals, memory bounded, /healthz answering (seed printed)`, async () => {
    const lines: string[] = [];
    const summary = await runCampaign({
      seed: SEED,
      requests: REQUESTS,
      perPair: 8,
      target,
      log: (line) => lines.push(line),
    });
    const report = formatSummary(summary);
    console.log(report);
    expect(summary.failures, `${report}\n${lines.join('\n')}`).toEqual([]);
    expect(summary.requests).toBeGreaterThanOrEqual(REQUESTS * 0.9);
    // Refused requests were compared, not only counted.
    expect(summary.checkedBatches).toBeGreaterThan(10);
  }, 300_000);
});
