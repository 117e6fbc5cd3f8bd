import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { envelopePayload } from '../../../src/attest/dsse.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { call, errorCode } from '../../support/api-http.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { runCli } from '../../support/cli.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * Subscriptions and ratings over real HTTP (the default platform fee, 500 bps): the charge and the fee
 * once, 409 with the end date while a period runs, 402 changing nothing, included runs at P = 0 whose
 * settlement the buyer verifies offline, over_quota, unsubscribe keeping the period, another's private
 * listing a 404, and ratings refused by field or by eligibility; the CLI against the same server.
 */
const SUB_PRICE = 10_000;

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`subscriptions and ratings over HTTP (${kind})`, () => {
    let server: TestServer;
    let pub: string;
    let bob: string;
    let carol: string;
    let listingId: string;
    let privateId: string;

    const balance = async (key: string) =>
      (await call(server.url, 'GET', '/v1/ledger/balance', { key })).json as { available: number; held: number };

    beforeAll(async () => {
      server = await startTestServer(kind, 'market-subs-http');
      pub = await server.key('pub', 'publisher');
      bob = await server.key('bob', 'client');
      carol = await server.key('carol', 'client');
      const flow = {
        id: 'subs-echo',
        steps: [echo('a', { input_mappings: { cost: '100' } })],
        max_cost_budget: 1_000,
      };
      expect((await call(server.url, 'POST', '/v1/workflows', { key: pub, json: flow })).status).toBe(201);
      const listing = (suffix: Record<string, unknown>) => ({
        workflow_id: 'subs-echo',
        title: 'Echo by subscription',
        execution_price: 1_000,
        subscription_price: SUB_PRICE,
        pricing: { model: 'subscription', included_executions: 1, over_quota: 'refuse' },
        ...suffix,
      });
      const created = await call(server.url, 'POST', '/v1/market/listings', { key: pub, json: listing({}) });
      expect(created.status).toBe(201);
      listingId = (created.json as { id: string }).id;
      const hidden = await call(server.url, 'POST', '/v1/market/listings', {
        key: pub,
        json: listing({ is_public: false }),
      });
      privateId = (hidden.json as { id: string }).id;
      for (const principal of ['bob', 'carol']) {
        await call(server.url, 'POST', '/v1/ledger/credit', {
          key: server.adminKey,
          json: { principal, amount: principal === 'bob' ? 15_000 : 5_000 },
        });
      }
    });

    afterAll(async () => {
      await server?.close();
    });

    it('subscribes once (price and fee), 409s a second period with its end, 402s a short buyer, 404s a private listing', async () => {
      const subscribe = (key: string, id = listingId) =>
        call(server.url, 'POST', `/v1/market/listings/${id}/subscribe`, { key });
      const first = await subscribe(bob);
      expect(first.status).toBe(201);
      const view = first.json as Record<string, unknown>;
      expect(view).toMatchObject({ buyer: 'bob', price: SUB_PRICE, included_executions: 1, status: 'active' });
      expect(Date.parse(view.period_end as string) - Date.parse(view.period_start as string)).toBe(30 * 86_400_000);
      expect(await balance(bob)).toMatchObject({ available: 5_000 });
      expect(await balance(pub)).toMatchObject({ available: 9_500 });

      const again = await subscribe(bob);
      expect(again.status).toBe(409);
      expect(errorCode(again)).toBe('subscription_active');
      expect(again.text).toContain(view.period_end as string);
      expect(await balance(bob)).toMatchObject({ available: 5_000 });

      const short = await subscribe(carol);
      expect(short.status).toBe(402);
      expect(await balance(carol)).toMatchObject({ available: 5_000 });
      expect(await server.client(carol).listSubscriptions()).toEqual([]);

      expect((await subscribe(carol, privateId)).status).toBe(404);
      // Without a subscription, a run is refused naming the route to subscribe.
      const run = await call(server.url, 'POST', `/v1/market/listings/${listingId}/execute`, {
        key: carol,
        json: { inputs: {} },
      });
      expect(run.status).toBe(409);
      expect(run.text).toContain(`/v1/market/listings/${listingId}/subscribe`);
    });

    it('an included run costs 0 and its settlement verifies offline; the next is over_quota; then rating it', async () => {
      const client = server.client(bob);
      const started = await call(server.url, 'POST', `/v1/market/listings/${listingId}/execute`, {
        key: bob,
        json: { inputs: {} },
      });
      expect(started.status).toBe(202);
      const executionId = (started.json as { executionId: string }).executionId;
      await server.test.node.waitFor(executionId, 50);
      expect(await balance(bob)).toMatchObject({ available: 5_000, held: 0 });
      const bundle = (await client.receipt(executionId)) as unknown as Bundle;
      const report = await verifyBundle(bundle, {
        trustedKeys: [server.test.node.coordinatorSigner.publicKeyPem],
        level: 'basic',
      });
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      const predicate = (
        JSON.parse(new TextDecoder().decode(envelopePayload(bundle.settlements![0]!.statement))) as {
          predicate: Record<string, unknown>;
        }
      ).predicate;
      expect(predicate).toMatchObject({ includedRun: true, price: 0, fee: 0 });
      expect((await client.listSubscriptions())[0]).toMatchObject({ used_executions: 1 });

      const over = await call(server.url, 'POST', `/v1/market/listings/${listingId}/execute`, {
        key: bob,
        json: { inputs: {} },
      });
      expect(over.status).toBe(409);
      expect(errorCode(over)).toBe('over_quota');

      // Ratings: the publisher may not, a field out of range names it, another's run is not found.
      const rate = (key: string, json: unknown) =>
        call(server.url, 'POST', `/v1/market/listings/${listingId}/ratings`, { key, json });
      expect((await rate(pub, { execution_id: executionId, stars: 5 })).status).toBe(403);
      const bad = await rate(bob, { execution_id: executionId, stars: 0 });
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('stars');
      expect((await rate(bob, { execution_id: executionId, stars: 3, review: 'x'.repeat(2001) })).status).toBe(400);
      expect((await rate(carol, { execution_id: executionId, stars: 1 })).status).toBe(404);
      expect((await rate(bob, { execution_id: executionId, stars: 4, review: 'solid' })).status).toBe(201);
      expect((await client.getListing(listingId)).rating_count).toBe(1);
      const page = await client.listRatings(listingId);
      expect(page.ratings.map((r) => [r.buyer, r.stars, r.review])).toEqual([['bob', 4, 'solid']]);
      expect((await call(server.url, 'GET', `/v1/market/listings/${privateId}/ratings`, { key: carol })).status).toBe(
        404,
      );
    });

    it('unsubscribe keeps the period; the CLI subscribes, lists and rates against the server', async () => {
      const client = server.client(bob);
      const cancelled = await client.unsubscribe(listingId);
      expect(cancelled).toMatchObject({ status: 'cancelled' });
      expect(cancelled.cancelled_at).not.toBeNull();
      expect((await client.listSubscriptions())[0]).toMatchObject({
        status: 'cancelled',
        period_end: cancelled.period_end,
      });
      // Others' subscriptions: admins only.
      expect((await call(server.url, 'GET', '/v1/market/subscriptions?principal=bob', { key: carol })).status).toBe(
        404,
      );
      const asAdmin = await call(server.url, 'GET', '/v1/market/subscriptions?principal=bob', { key: server.adminKey });
      expect((asAdmin.json as { subscriptions: unknown[] }).subscriptions).toHaveLength(1);

      const env = { VERITY_API_KEY: bob };
      const listed = await runCli(['market', 'subscriptions', '--server', server.url, '--json'], env);
      expect(listed.code).toBe(0);
      expect((JSON.parse(listed.stdout) as { subscriptions: { status: string }[] }).subscriptions[0]!.status).toBe(
        'cancelled',
      );
      const again = await runCli(['market', 'subscribe', listingId, '--server', server.url, '--json'], env);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain('you are subscribed to listing');
      const ratings = await runCli(['market', 'ratings', listingId, '--server', server.url, '--json'], env);
      expect(ratings.code).toBe(0);
      expect((JSON.parse(ratings.stdout) as { ratings: unknown[] }).ratings).toHaveLength(1);
    });
  });
}
