import { describe, expect, it } from 'vitest';
import type { ListingRecord, MarketSubscriptionRecord } from '../../../src/store/records.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { newId, T0, useStore } from './fixtures.js';

const DAY = 86_400_000;

const listing = (owner = 'pub'): ListingRecord => ({
  id: newId(),
  owner,
  workflowId: 'summarize',
  workflowVersion: 1,
  workflowDigest: 'sha256:' + 'a'.repeat(64),
  title: 'Summarizer',
  description: 'Summarizes documents',
  tags: [],
  model: 'subscription',
  executionPrice: 1000,
  subscriptionPrice: 10_000,
  markupBps: 0,
  includedExecutions: 3,
  overQuota: 'refuse',
  verificationLevel: 'basic',
  isPublic: true,
  authorizedUsers: [],
  showDefinition: false,
  status: 'active',
  createdAt: T0,
  updatedAt: T0,
});

const subscription = (
  listingId: string,
  overrides: Partial<MarketSubscriptionRecord> = {},
): MarketSubscriptionRecord => ({
  id: newId(),
  listingId,
  buyer: 'bob',
  publisher: 'pub',
  price: 10_000,
  terms: { model: 'subscription', subscription_price: 10_000, included_executions: 3 },
  periodStart: T0,
  periodEnd: T0 + 30 * DAY,
  includedExecutions: 3,
  usedExecutions: 0,
  createdAt: T0,
  ...overrides,
});

/** Subscriptions and rating pages, as written and read by both adapters. */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store: market subscriptions and ratings (${kind})`, () => {
    const h = useStore(kind, 'market-subs');

    it('writes a subscription and reads it back; the active one is the one whose period has not ended', async () => {
      const l = listing();
      const old = subscription(l.id);
      const current = subscription(l.id, {
        periodStart: T0 + 30 * DAY,
        periodEnd: T0 + 60 * DAY,
        createdAt: T0 + 30 * DAY,
      });
      await h.store.transaction(async (tx) => {
        await tx.insertListing(l);
        await tx.insertMarketSubscription(old);
        await tx.insertMarketSubscription(current);
      });
      expect(await h.store.read.getMarketSubscription(old.id)).toEqual(old);
      expect(await h.store.read.findActiveSubscription(l.id, 'bob', T0 + DAY)).toEqual(old);
      // The period ends at periodEnd exactly: from then on it is the next one, or none.
      expect((await h.store.read.findActiveSubscription(l.id, 'bob', old.periodEnd))?.id).toBe(current.id);
      expect(await h.store.read.findActiveSubscription(l.id, 'bob', current.periodEnd)).toBeUndefined();
      expect(await h.store.read.findActiveSubscription(l.id, 'carol', T0 + DAY)).toBeUndefined();
      expect((await h.store.read.listMarketSubscriptions('bob', 10)).map((s) => s.id)).toEqual([current.id, old.id]);
      expect(await h.store.read.listMarketSubscriptions('bob', 1)).toHaveLength(1);

      await h.store.transaction(async (tx) => {
        const locked = await tx.lockMarketSubscription(current.id);
        expect(locked).toEqual(current);
        await tx.updateMarketSubscription(current.id, { usedExecutions: 2, cancelledAt: T0 + 31 * DAY });
      });
      expect(await h.store.read.getMarketSubscription(current.id)).toEqual({
        ...current,
        usedExecutions: 2,
        cancelledAt: T0 + 31 * DAY,
      });
    });

    it('keeps whether a run holds an included execution', async () => {
      const l = listing();
      const executionId = newId();
      await h.store.transaction(async (tx) => {
        await tx.insertListing(l);
        await tx.insertMarketRun({
          executionId,
          listingId: l.id,
          buyer: 'bob',
          publisher: 'pub',
          terms: { model: 'subscription' },
          includedRun: 1,
          subscriptionId: 'sub-1',
          quotaHeld: 1,
          hold: 500,
          createdAt: T0,
        });
      });
      expect(await h.store.read.getMarketRun(executionId)).toMatchObject({ subscriptionId: 'sub-1', quotaHeld: 1 });
      await h.store.transaction((tx) => tx.updateMarketRun(executionId, { quotaHeld: 0 }));
      expect(await h.store.read.getMarketRun(executionId)).toMatchObject({ quotaHeld: 0 });
    });

    it('pages ratings newest first, ties by buyer, without the publisher’s own', async () => {
      const l = listing('pub');
      await h.store.transaction(async (tx) => {
        await tx.insertListing(l);
        for (const [buyer, at] of [
          ['ann', 3],
          ['bob', 2],
          ['cat', 2],
          ['pub', 9],
          ['dan', 1],
        ] as const) {
          await tx.putMarketRating({ listingId: l.id, buyer, executionId: newId(), stars: 4, createdAt: T0 + at });
        }
      });
      const first = await h.store.read.listMarketRatings(l.id, { limit: 2 });
      expect(first.map((r) => r.buyer)).toEqual(['ann', 'bob']);
      const last = first.at(-1)!;
      const next = await h.store.read.listMarketRatings(l.id, {
        limit: 10,
        after: { createdAt: last.createdAt, buyer: last.buyer },
      });
      expect(next.map((r) => r.buyer)).toEqual(['cat', 'dan']);
    });
  });
}
