import { describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { envelopePayload } from '../../../src/attest/dsse.js';
import type { SettlementPredicate } from '../../../src/attest/settlement/statement.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { LedgerError } from '../../../src/ledger/errors.js';
import { creditPrincipal } from '../../../src/ledger/operations.js';
import { MarketError } from '../../../src/market/errors.js';
import { createListing } from '../../../src/market/listings.js';
import { listRatings, rateListing } from '../../../src/market/ratings.js';
import { runThroughListing } from '../../../src/market/runs.js';
import { SUBSCRIPTION_PERIOD_MS, subscribe, unsubscribe } from '../../../src/market/subscriptions.js';
import { WorkflowRegistry } from '../../../src/registry/workflow-registry.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, sleepStep, useTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

/**
 * Subscriptions and ratings on a real node over both stores: the price (less the fee) moves once at
 * subscribe time; included runs cost 0 and settle with P = 0 that the payer verifies offline; past the
 * quota a run pays E or is refused; a run that does not complete gives its execution back, exactly once
 * across retries; only a buyer whose run settled completed rates.
 */
const FEE_BPS = 500;
const SUB_PRICE = 10_000;
const E = 1_000;
const LEDGER_OK = { ok: true };

const costly = (id: string, cost: number, extra: Record<string, unknown> = {}) =>
  echo(id, { input_mappings: { cost: String(cost) }, ...extra });
// One attempt: the runs here fail for good, and the default retries would only add their backoff (3 s).
const failing = (id: string) =>
  echo(id, { model_requirements: { name: 'builtin/fail' }, retry_policy: { max_attempts: 1 } });

async function subscriptionListing(
  t: TestNode,
  steps: unknown[],
  pricing: { included_executions: number; over_quota: 'charge' | 'refuse' },
) {
  const registry = new WorkflowRegistry(t.node.store, t.node.engine);
  const id = `wf-${Math.random().toString(36).slice(2, 8)}`;
  await registry.publish({ id, steps, max_cost_budget: 500 }, 'acme', false);
  const listing = await createListing(
    t.node.store,
    { principal: 'acme', admin: false },
    {
      workflow_id: id,
      title: 'Echo, by subscription',
      execution_price: E,
      subscription_price: SUB_PRICE,
      pricing: { model: 'subscription', ...pricing },
    },
    { feeBps: FEE_BPS },
  );
  const run = (buyer: string, extra: { idempotencyKey?: string } = {}) =>
    runThroughListing(
      { reads: t.node.store.read, engine: t.node.engine, feeBps: FEE_BPS, attests: true },
      { principal: buyer, admin: false },
      { listingId: listing.id, inputs: {}, ...extra },
    );
  const sub = (buyer: string, now?: number) =>
    subscribe(t.node.store, { principal: buyer, admin: false }, listing.id, {
      feeBps: FEE_BPS,
      ...(now !== undefined && { now }),
    });
  return { listing, run, sub };
}

const balance = async (t: TestNode, account: string) => t.node.store.read.getLedgerBalance(account);
const used = async (t: TestNode, buyer: string, listingId: string) =>
  (await t.node.store.read.findActiveSubscription(listingId, buyer, Date.now()))?.usedExecutions;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MarketError || error instanceof LedgerError) return error.code;
    throw error;
  }
  return 'none';
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`subscriptions and ratings (${kind})`, () => {
    const t = useTestNode(kind, 'market-subscriptions');

    it('subscribe charges the price less the fee once, refuses a second period, and 402s a short buyer', async () => {
      const { listing, sub } = await subscriptionListing(t, [costly('a', 100)], {
        included_executions: 2,
        over_quota: 'charge',
      });
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 12_000 });
      const subscription = await sub('bob');
      expect(subscription).toMatchObject({ price: SUB_PRICE, includedExecutions: 2, usedExecutions: 0 });
      expect(subscription.periodEnd - subscription.periodStart).toBe(SUBSCRIPTION_PERIOD_MS);
      expect(await balance(t, 'bob')).toMatchObject({ available: 2_000, held: 0 });
      expect(await balance(t, 'acme')).toMatchObject({ available: 9_500 });
      expect(await balance(t, 'sys:platform')).toMatchObject({ available: 500 });
      const charge = await t.node.store.read.findLedgerTransaction(`subscription:${subscription.id}`);
      expect(charge).toMatchObject({ kind: 'subscription', listingId: listing.id });

      // A period runs: no second charge, and the error says when it ends.
      await expect(sub('bob')).rejects.toMatchObject({
        code: 'subscription_active',
        context: { periodEnd: new Date(subscription.periodEnd).toISOString() },
      });
      expect(await balance(t, 'bob')).toMatchObject({ available: 2_000 });

      // Short of funds: nothing recorded, nothing moved.
      await creditPrincipal(t.node.store, { principal: 'carol', amount: 9_999 });
      expect(await codeOf(sub('carol'))).toBe('insufficient_funds');
      expect(await t.node.store.read.listMarketSubscriptions('carol', 10)).toEqual([]);
      expect(await balance(t, 'carol')).toMatchObject({ available: 9_999 });

      // After the period, a new one may begin (no renewal happened by itself).
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 8_000 });
      const later = await sub('bob', subscription.periodEnd);
      expect(later.id).not.toBe(subscription.id);
      expect(await balance(t, 'bob')).toMatchObject({ available: 0 });
      expect(await t.node.store.read.checkLedger()).toMatchObject(LEDGER_OK);
    });

    it('included runs cost 0 and settle with P = 0, verified offline; past the quota a run pays E', async () => {
      const { listing, run, sub } = await subscriptionListing(t, [costly('a', 100)], {
        included_executions: 1,
        over_quota: 'charge',
      });
      expect(await codeOf(run('bob'))).toBe('subscription_required');
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 20_000 });
      await sub('bob');
      const first = await run('bob');
      expect(await used(t, 'bob', listing.id)).toBe(1);
      // The hold of an included run is the workflow's budget (a cancel would pay C).
      expect(await balance(t, 'bob')).toMatchObject({ available: 9_500, held: 500 });
      await t.node.waitFor(first.id, 50);
      expect(await balance(t, 'bob')).toMatchObject({ available: 10_000, held: 0 });
      // The publisher pays the compute of its included runs out of the subscription price.
      expect(await balance(t, 'acme')).toMatchObject({ available: 9_500 - 100 });
      expect(await t.node.store.read.getMarketRun(first.id)).toMatchObject({ includedRun: 1, outcome: 'completed' });

      const bundle = (await t.node.bundle(first.id)) as Bundle;
      const report = await verifyBundle(bundle, {
        trustedKeys: [t.node.coordinatorSigner.publicKeyPem],
        level: 'basic',
      });
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      const predicate = (
        JSON.parse(new TextDecoder().decode(envelopePayload(bundle.settlements![0]!.statement))) as {
          predicate: SettlementPredicate;
        }
      ).predicate;
      expect(predicate).toMatchObject({ includedRun: true, price: 0, fee: 0, computeCost: 100 });

      // Past the quota: charged E (the listing says charge), the quota does not move.
      const second = await run('bob');
      expect(await t.node.store.read.getMarketRun(second.id)).toMatchObject({ includedRun: 0 });
      await t.node.waitFor(second.id, 50);
      expect(await balance(t, 'bob')).toMatchObject({ available: 10_000 - E, held: 0 });
      expect(await used(t, 'bob', listing.id)).toBe(1);
      expect(await t.node.store.read.checkLedger()).toMatchObject(LEDGER_OK);
    });

    it('refuses a run past the quota when the listing says so, even a run that costs 0', async () => {
      const { listing, run, sub } = await subscriptionListing(t, [costly('a', 0)], {
        included_executions: 1,
        over_quota: 'refuse',
      });
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 20_000 });
      await sub('bob');
      const first = await run('bob', { idempotencyKey: 'k1' });
      await t.node.waitFor(first.id, 50);
      expect(await codeOf(run('bob'))).toBe('over_quota');
      // A replay of the run that used the quota answers that run, not a refusal.
      expect((await run('bob', { idempotencyKey: 'k1' })).id).toBe(first.id);
      expect(await used(t, 'bob', listing.id)).toBe(1);
    });

    it('a failed included run gives its execution back, exactly once across retries', async () => {
      const { listing, run, sub } = await subscriptionListing(t, [failing('a')], {
        included_executions: 1,
        over_quota: 'refuse',
      });
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 20_000 });
      await sub('bob');
      const execution = await run('bob');
      expect(await used(t, 'bob', listing.id)).toBe(1);
      await t.node.waitFor(execution.id, 50);
      expect((await t.view(execution.id)).status).toBe('failed');
      expect(await used(t, 'bob', listing.id)).toBe(0);
      expect(await t.node.store.read.getMarketRun(execution.id)).toMatchObject({ quotaHeld: 0, outcome: 'failed' });
      // Settling the same revision again gives nothing more back.
      const receipt = (await t.node.store.read.listReceipts(execution.id))[0]!;
      const record = (await t.node.store.read.getExecution(execution.id))!;
      await t.node.store.transaction((tx) => t.node.engine['hooks']!.ended(tx, record, receipt, Date.now()));
      expect(await used(t, 'bob', listing.id)).toBe(0);

      // The retry takes it again, fails again, gives it back again: never below 0, never two held.
      await t.node.engine.retry(execution.id, 'client:bob');
      await t.node.waitFor(execution.id, 50);
      expect(await used(t, 'bob', listing.id)).toBe(0);
      expect((await t.node.store.read.listMarketSettlements(execution.id)).map((s) => s.revision)).toEqual([1, 2]);
      expect(await balance(t, 'bob')).toMatchObject({ held: 0 });
      expect(await t.node.store.read.checkLedger()).toMatchObject(LEDGER_OK);
    });

    it('refuses to retry an included run past the quota: the execution it gave back is gone', async () => {
      // Each run waits 2 s, then fails: long enough for the retry below to find the quota taken.
      const { listing, run, sub } = await subscriptionListing(
        t,
        [sleepStep('wait', 2_000), { ...failing('a'), depends_on: ['wait'] }],
        { included_executions: 1, over_quota: 'refuse' },
      );
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 20_000 });
      await sub('bob');
      const failed = await run('bob');
      await t.node.waitFor(failed.id, 50);
      expect(await used(t, 'bob', listing.id)).toBe(0);
      // Another run takes the one included execution the failed run gave back…
      const other = await run('bob');
      expect(await used(t, 'bob', listing.id)).toBe(1);
      // …so the first one's retry would pass the quota: refused, nothing held, nothing changed.
      const before = await balance(t, 'bob');
      expect(await codeOf(t.node.engine.retry(failed.id, 'client:bob'))).toBe('over_quota');
      expect((await t.view(failed.id)).status).toBe('failed');
      expect(await balance(t, 'bob')).toEqual(before);
      expect(await used(t, 'bob', listing.id)).toBe(1);
      await t.node.waitFor(other.id, 50);
      expect(await t.node.store.read.checkLedger()).toMatchObject(LEDGER_OK);
    }, 60_000);

    it('unsubscribing keeps the period: runs still go, no refund, and it does not renew', async () => {
      const { listing, run, sub } = await subscriptionListing(t, [costly('a', 10)], {
        included_executions: 3,
        over_quota: 'refuse',
      });
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 20_000 });
      const subscription = await sub('bob');
      const cancelled = await unsubscribe(t.node.store, { principal: 'bob', admin: false }, listing.id);
      expect(cancelled.cancelledAt).toBeTypeOf('number');
      expect(cancelled.periodEnd).toBe(subscription.periodEnd);
      expect(await balance(t, 'bob')).toMatchObject({ available: 10_000 });
      const execution = await run('bob');
      await t.node.waitFor(execution.id, 50);
      expect((await t.view(execution.id)).status).toBe('completed');
      // Past the period it is over: no subscription, so no unsubscribe, and runs need a new one.
      expect(
        await codeOf(unsubscribe(t.node.store, { principal: 'bob', admin: false }, listing.id, subscription.periodEnd)),
      ).toBe('no_subscription');
      expect(await codeOf(unsubscribe(t.node.store, { principal: 'carol', admin: false }, listing.id))).toBe(
        'no_subscription',
      );
    });

    it('only a buyer whose run settled completed rates, never the publisher; a new rating replaces the old', async () => {
      const { listing, run, sub } = await subscriptionListing(t, [costly('a', 10)], {
        included_executions: 5,
        over_quota: 'refuse',
      });
      for (const buyer of ['bob', 'dave']) {
        await creditPrincipal(t.node.store, { principal: buyer, amount: 20_000 });
        await sub(buyer);
      }
      const bobRun = await run('bob');
      const daveRun = await run('dave');
      await t.node.waitFor(bobRun.id, 50);
      await t.node.waitFor(daveRun.id, 50);
      const as = (principal: string) => ({ principal, admin: false });
      const rate = (who: string, executionId: string, stars: number, review?: string, now?: number) =>
        rateListing(
          t.node.store,
          as(who),
          listing.id,
          { executionId, stars, ...(review !== undefined && { review }) },
          now,
        );

      expect(await codeOf(rate('acme', bobRun.id, 5))).toBe('rating_forbidden');
      expect(await codeOf(rate('bob', daveRun.id, 5))).toBe('run_not_found');
      expect(await codeOf(rate('bob', 'no-such-execution', 5))).toBe('run_not_found');
      expect(await codeOf(rate('bob', bobRun.id, 6))).toBe('invalid_listing');
      expect(await codeOf(rate('bob', bobRun.id, 4, 'x'.repeat(2001)))).toBe('invalid_listing');

      await rate('bob', bobRun.id, 2, 'slow', 1_000);
      await rate('dave', daveRun.id, 5, 'great', 2_000);
      await rate('bob', bobRun.id, 4, 'better now', 3_000);
      const page1 = await listRatings(t.node.store.read, as('carol'), listing.id, { limit: 1 });
      expect(page1.ratings.map((r) => [r.buyer, r.stars, r.review])).toEqual([['bob', 4, 'better now']]);
      const page2 = await listRatings(t.node.store.read, as('carol'), listing.id, {
        limit: 1,
        cursor: page1.nextCursor!,
      });
      expect(page2.ratings.map((r) => r.buyer)).toEqual(['dave']);
      expect(page2.nextCursor).toBeUndefined();
      const stats = (await t.node.store.read.getListingStats([listing.id])).get(listing.id)!;
      expect(stats).toMatchObject({ rating: 4.5, ratingCount: 2 });
      expect(await codeOf(listRatings(t.node.store.read, as('carol'), listing.id, { cursor: 'bogus' }))).toBe(
        'invalid_cursor',
      );
    });

    it('concurrent subscribes charge once, and concurrent runs take the last included execution once', async () => {
      const { listing, run, sub } = await subscriptionListing(t, [costly('a', 10)], {
        included_executions: 1,
        over_quota: 'refuse',
      });
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 50_000 });
      const subscribes = await Promise.allSettled([sub('bob'), sub('bob'), sub('bob')]);
      expect(subscribes.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of subscribes) {
        if (r.status === 'rejected') expect((r.reason as MarketError).code).toBe('subscription_active');
      }
      expect(await balance(t, 'bob')).toMatchObject({ available: 40_000 });

      const runs = await Promise.allSettled([run('bob'), run('bob'), run('bob')]);
      const started = runs.filter((r) => r.status === 'fulfilled');
      expect(started).toHaveLength(1);
      for (const r of runs) {
        if (r.status === 'rejected') expect((r.reason as MarketError).code).toBe('over_quota');
      }
      expect(await used(t, 'bob', listing.id)).toBe(1);
      await t.node.waitFor((started[0] as PromiseFulfilledResult<{ id: string }>).value.id, 50);
      expect(await t.node.store.read.checkLedger()).toMatchObject(LEDGER_OK);
    });

    it('a run that failed does not entitle a rating', async () => {
      const { listing, run, sub } = await subscriptionListing(t, [failing('a')], {
        included_executions: 5,
        over_quota: 'refuse',
      });
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 20_000 });
      await sub('bob');
      const execution = await run('bob');
      await t.node.waitFor(execution.id, 50);
      expect(
        await codeOf(
          rateListing(t.node.store, { principal: 'bob', admin: false }, listing.id, {
            executionId: execution.id,
            stars: 5,
          }),
        ),
      ).toBe('rating_forbidden');
    });
  });
}
