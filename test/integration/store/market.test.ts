import { describe, expect, it } from 'vitest';
import type { ListingRecord, ListingSort, MarketRunRecord } from '../../../src/store/records.js';
import type { ListingSearch, Store } from '../../../src/store/store.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { newId, T0, useStore } from './fixtures.js';

function listing(overrides: Partial<ListingRecord> = {}): ListingRecord {
  return {
    id: newId(),
    owner: 'pub',
    workflowId: 'summarize',
    workflowVersion: 1,
    workflowDigest: 'sha256:' + 'a'.repeat(64),
    title: 'Summarizer',
    description: 'Summarizes documents',
    tags: ['nlp'],
    model: 'per_execution',
    executionPrice: 1000,
    subscriptionPrice: 0,
    markupBps: 0,
    includedExecutions: 0,
    overQuota: 'charge',
    verificationLevel: 'basic',
    isPublic: true,
    authorizedUsers: [],
    showDefinition: false,
    status: 'active',
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function run(listingId: string, overrides: Partial<MarketRunRecord> = {}): MarketRunRecord {
  return {
    executionId: newId(),
    listingId,
    buyer: 'buyer',
    publisher: 'pub',
    terms: { model: 'per_execution' },
    includedRun: 0,
    hold: 1000,
    createdAt: T0,
    ...overrides,
  };
}

async function insert(store: Store, ...records: ListingRecord[]): Promise<void> {
  await store.transaction(async (tx) => {
    for (const record of records) await tx.insertListing(record);
  });
}

/** Every page of a search, following `next` until the last. */
async function allPages(store: Store, search: Omit<ListingSearch, 'after'>): Promise<string[][]> {
  const pages: string[][] = [];
  let after: ListingSearch['after'];
  for (let i = 0; i < 100; i++) {
    const page = await store.read.searchListings({ ...search, ...(after && { after }) });
    pages.push(page.listings.map((l) => l.id));
    if (!page.next) return pages;
    after = page.next;
  }
  throw new Error('the search never ended');
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store: marketplace listings (${kind})`, () => {
    const h = useStore(kind, 'market');
    const admin = { viewer: 'root', admin: true };

    it('writes a listing and reads it back as written, and rewrites it with its tags and users', async () => {
      const { store } = h;
      const record = listing({ tags: ['nlp', 'pdf'], isPublic: false, authorizedUsers: ['alice', 'bob'] });
      await insert(store, record);
      expect(await store.read.getListing(record.id)).toEqual(record);
      expect(await store.read.getListing('nope')).toBeUndefined();

      const changed: ListingRecord = {
        ...record,
        title: 'Better summarizer',
        tags: ['ocr'],
        model: 'per_usage',
        markupBps: 600,
        maxPrice: 5000,
        isPublic: true,
        authorizedUsers: ['carol'],
        showDefinition: true,
        status: 'paused',
        updatedAt: T0 + 5,
      };
      await store.transaction(async (tx) => {
        expect(await tx.lockListing(record.id)).toEqual(record);
        await tx.updateListing(changed);
      });
      expect(await store.read.getListing(record.id)).toEqual(changed);
      // The tag rows followed: the old tag finds nothing, the new one finds it (as its owner, since it is paused).
      const byTag = (tag: string) =>
        store.read.searchListings({ viewer: 'pub', admin: false, tag, sort: 'newest', limit: 10 });
      expect((await byTag('nlp')).listings).toEqual([]);
      expect((await byTag('ocr')).listings.map((l) => l.id)).toEqual([record.id]);
      // And a cap can be removed again.
      const { maxPrice: _cap, ...uncapped } = { ...changed, model: 'per_execution' as const };
      await store.transaction((tx) => tx.updateListing(uncapped));
      expect((await store.read.getListing(record.id))?.maxPrice).toBeUndefined();
    });

    it('derives rating, counts, success rate and median duration, leaving out the publisher and unsettled runs', async () => {
      const { store } = h;
      const a = listing();
      const b = listing();
      await insert(store, a, b);
      await store.transaction(async (tx) => {
        for (const [outcome, durationMs] of [
          ['completed', 100],
          ['completed', 300],
          ['completed', 200],
          ['completed', 1000],
          ['failed', 50],
          ['cancelled', 10],
          ['unverified', 10],
        ] as const) {
          await tx.insertMarketRun(run(a.id, { outcome, durationMs, settledRevision: 0, settledAt: T0 }));
        }
        // Not settled yet, and the publisher's own runs: neither counts.
        await tx.insertMarketRun(run(a.id));
        await tx.insertMarketRun(run(a.id, { buyer: 'pub', outcome: 'completed', durationMs: 5 }));
        await tx.insertMarketRun(run(a.id, { buyer: 'pub', outcome: 'failed', durationMs: 5 }));
        await tx.putMarketRating({ listingId: a.id, buyer: 'x', executionId: 'e1', stars: 5, createdAt: T0 });
        await tx.putMarketRating({ listingId: a.id, buyer: 'y', executionId: 'e2', stars: 4, createdAt: T0 });
        await tx.putMarketRating({ listingId: a.id, buyer: 'pub', executionId: 'e3', stars: 1, createdAt: T0 });
        // A new rating by the same buyer replaces the old.
        await tx.putMarketRating({
          listingId: a.id,
          buyer: 'y',
          executionId: 'e4',
          stars: 2,
          review: 'meh',
          createdAt: T0,
        });
      });
      const stats = await store.read.getListingStats([a.id, b.id]);
      expect(stats.get(a.id)).toEqual({
        rating: 3.5,
        ratingCount: 2,
        totalExecutions: 4,
        successRate: 4 / 5,
        // 100, 200, 300, 1000: the floor of the mean of the two middle ones.
        medianDurationMs: 250,
      });
      expect(stats.get(b.id)).toEqual({
        rating: null,
        ratingCount: 0,
        totalExecutions: 0,
        successRate: null,
        medianDurationMs: null,
      });
      await store.transaction((tx) => tx.insertMarketRun(run(a.id, { outcome: 'completed', durationMs: 7000 })));
      expect((await store.read.getListingStats([a.id])).get(a.id)).toMatchObject({
        totalExecutions: 5,
        medianDurationMs: 300,
      });
      const settled = run(b.id);
      await store.transaction(async (tx) => {
        await tx.insertMarketRun(settled);
        await tx.updateMarketRun(settled.executionId, {
          outcome: 'failed',
          durationMs: 9,
          settledRevision: 0,
          settledAt: T0,
        });
      });
      expect(await store.read.getMarketRun(settled.executionId)).toEqual({
        ...settled,
        outcome: 'failed',
        durationMs: 9,
        settledRevision: 0,
        settledAt: T0,
      });
      expect((await store.read.getListingStats([b.id])).get(b.id)).toMatchObject({
        totalExecutions: 0,
        successRate: 0,
      });
    });

    it('pages every sort with no duplicate and no gap, in the sort order, ties broken by id', async () => {
      const { store } = h;
      // Ties on purpose: three prices, two creation times, shared ratings and execution counts.
      const records = Array.from({ length: 13 }, (_, i) =>
        listing({ executionPrice: (i % 3) * 100, createdAt: T0 + (i % 2), title: `listing ${i}` }),
      );
      await insert(store, ...records);
      await store.transaction(async (tx) => {
        for (const [i, record] of records.entries()) {
          for (let n = 0; n < i % 4; n++)
            await tx.insertMarketRun(run(record.id, { outcome: 'completed', durationMs: 1 }));
          if (i % 3 !== 0) {
            await tx.putMarketRating({
              listingId: record.id,
              buyer: 'x',
              executionId: 'e',
              stars: (i % 5) + 1,
              createdAt: T0,
            });
          }
        }
      });
      const stats = await store.read.getListingStats(records.map((r) => r.id));
      const byId = (a: ListingRecord, b: ListingRecord) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
      const expected: Record<ListingSort, ListingRecord[]> = {
        newest: [...records].sort((a, b) => b.createdAt - a.createdAt || -byId(a, b)),
        price: [...records].sort((a, b) => a.executionPrice - b.executionPrice || byId(a, b)),
        executions: [...records].sort(
          (a, b) => stats.get(b.id)!.totalExecutions - stats.get(a.id)!.totalExecutions || byId(a, b),
        ),
        rating: [...records].sort(
          (a, b) => (stats.get(b.id)!.rating ?? -1) - (stats.get(a.id)!.rating ?? -1) || byId(a, b),
        ),
      };
      for (const sort of ['newest', 'price', 'executions', 'rating'] as const) {
        const pages = await allPages(store, { ...admin, sort, limit: 4 });
        expect(pages.map((p) => p.length)).toEqual([4, 4, 4, 1]);
        expect(pages.flat(), sort).toEqual(expected[sort].map((r) => r.id));
      }
      // A page as long as everything has no next; an exact multiple ends with an empty page never asked for.
      expect((await store.read.searchListings({ ...admin, sort: 'price', limit: 13 })).next).toBeUndefined();
    });

    it('shows each principal what it may see: public, its own, those it is authorized for; paused to owners; retired to none', async () => {
      const { store } = h;
      const open = listing({ title: 'open' });
      const secret = listing({ title: 'secret', isPublic: false, authorizedUsers: ['alice'] });
      const pausedOwn = listing({ title: 'paused', status: 'paused' });
      const retired = listing({ title: 'retired', status: 'retired' });
      const othersSecret = listing({ title: 'other', owner: 'other', isPublic: false });
      await insert(store, open, secret, pausedOwn, retired, othersSecret);
      const seen = async (viewer: string, isAdmin = false) =>
        (await store.read.searchListings({ viewer, admin: isAdmin, sort: 'newest', limit: 100 })).listings
          .map((l) => l.title)
          .sort();
      expect(await seen('bob')).toEqual(['open']);
      expect(await seen('alice')).toEqual(['open', 'secret']);
      expect(await seen('pub')).toEqual(['open', 'paused', 'secret']);
      expect(await seen('other')).toEqual(['open', 'other']);
      expect(await seen('root', true)).toEqual(['open', 'other', 'paused', 'secret']);
    });

    it('matches every word in title, description or tags, in any case, with % and _ as plain characters', async () => {
      const { store } = h;
      const a = listing({ title: 'PDF Summarizer', description: 'Reads 100% of it', tags: ['nlp'] });
      const b = listing({ title: 'Translator', description: 'French to English', tags: ['i18n', 'nlp'] });
      const c = listing({ title: 'snake_case fixer', description: 'renames', tags: ['code'] });
      await insert(store, a, b, c);
      const find = async (terms: string[], tag?: string) =>
        (await store.read.searchListings({ ...admin, terms, ...(tag && { tag }), sort: 'newest', limit: 100 })).listings
          .map((l) => l.title)
          .sort();
      expect(await find(['summarizer'])).toEqual(['PDF Summarizer']);
      expect(await find(['NLP'])).toEqual(['PDF Summarizer', 'Translator']);
      expect(await find(['nlp', 'french'])).toEqual(['Translator']);
      expect(await find(['100%'])).toEqual(['PDF Summarizer']);
      expect(await find(['%'])).toEqual(['PDF Summarizer']);
      expect(await find(['e_c'])).toEqual(['snake_case fixer']);
      expect(await find(['_'])).toEqual(['snake_case fixer']);
      expect(await find([], 'nlp')).toEqual(['PDF Summarizer', 'Translator']);
      expect(await find(['summ'], 'i18n')).toEqual([]);
      expect(await find([], 'nl')).toEqual([]);
    });
  });
}
