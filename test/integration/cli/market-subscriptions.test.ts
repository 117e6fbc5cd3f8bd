import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../support/api-http.js';
import { runCli } from '../../support/cli.js';
import { echo } from '../../support/node.js';
import { startServerProcess } from '../../support/server.js';

/**
 * `verity market subscribe|unsubscribe|subscriptions|rate` on a data directory, the operator acting --as
 * the buyer (the server-side commands are covered over HTTP in test/integration/market/).
 */
describe('verity market subscriptions, locally', () => {
  let dir: string;
  let listingId: string;
  const local = () => ({ VERITY_DATA_DIR: join(dir, 'server'), VERITY_DATABASE_URL: '' });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-subs-cli-'));
    const server = await startServerProcess({ dataDir: join(dir, 'server'), workers: 0 });
    const pub = (
      await call(server.url, 'POST', '/v1/keys', {
        key: server.adminKey,
        json: { principal: 'pub', role: 'publisher' },
      })
    ).json as { token: string };
    const flow = { id: 'cli-subs', steps: [echo('a')], max_cost_budget: 1_000 };
    expect((await call(server.url, 'POST', '/v1/workflows', { key: pub.token, json: flow })).status).toBe(201);
    const created = await call(server.url, 'POST', '/v1/market/listings', {
      key: pub.token,
      json: {
        workflow_id: 'cli-subs',
        title: 'Subscribe me',
        subscription_price: 4_000,
        pricing: { model: 'subscription', included_executions: 2, over_quota: 'refuse' },
      },
    });
    expect(created.status, created.text).toBe(201);
    listingId = (created.json as { id: string }).id;
    await server.stop();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('subscribes --as the buyer, refuses a second period and a bad rating, unsubscribes keeping the period', async () => {
    expect((await runCli(['ledger', 'credit', 'bob', '5000'], local())).code).toBe(0);
    const noBuyer = await runCli(['market', 'subscribe', listingId], local());
    expect(noBuyer.code).toBe(2);
    expect(noBuyer.stderr).toContain('--as');

    const subscribed = await runCli(['market', 'subscribe', listingId, '--as', 'bob', '--json'], local());
    expect(subscribed.code, subscribed.stderr).toBe(0);
    expect(JSON.parse(subscribed.stdout)).toMatchObject({ buyer: 'bob', price: 4_000, status: 'active' });
    const balance = await runCli(['ledger', 'balance', '--principal', 'bob', '--json'], local());
    expect(JSON.parse(balance.stdout)).toMatchObject({ available: 1_000 });

    const again = await runCli(['market', 'subscribe', listingId, '--as', 'bob'], local());
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('you are subscribed');
    const rate = await runCli(
      ['market', 'rate', listingId, '--as', 'bob', '--execution', 'nope', '--stars', '5'],
      local(),
    );
    expect(rate.code).toBe(2);
    expect(
      (await runCli(['market', 'rate', listingId, '--as', 'bob', '--execution', 'x', '--stars', '9'], local())).code,
    ).toBe(2);

    const cancelled = await runCli(['market', 'unsubscribe', listingId, '--as', 'bob'], local());
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain('the period still runs to its end');
    const listed = await runCli(['market', 'subscriptions', '--as', 'bob', '--json'], local());
    expect(JSON.parse(listed.stdout)).toMatchObject({ subscriptions: [{ status: 'cancelled' }] });
  });
});
