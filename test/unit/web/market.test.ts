import { describe, expect, it } from 'vitest';
import {
  netByBucket,
  percent,
  priceHeadline,
  priceTerms,
  ratableRuns,
  ratingText,
  stars,
} from '../../../web/src/lib/market.js';
import type { PricedListing, SettledRun } from '../../../web/src/lib/market.js';

/** What the dashboard's marketplace pages compute from the API's listings, settlements and transactions. */
describe('the dashboard marketplace', () => {
  const listing = (pricing: Partial<PricedListing['pricing']>, prices: Partial<PricedListing> = {}): PricedListing => ({
    execution_price: 2_500_000,
    subscription_price: 10_000_000,
    ...prices,
    pricing: {
      model: 'per_execution',
      markup_bps: 0,
      max_price: null,
      included_executions: 0,
      over_quota: 'charge',
      ...pricing,
    },
  });

  it('writes basis points as a percentage without floats', () => {
    expect(percent(527)).toBe('5.27 %');
    expect(percent(550)).toBe('5.5 %');
    expect(percent(505)).toBe('5.05 %');
    expect(percent(10_000)).toBe('100 %');
    expect(percent(0)).toBe('0 %');
  });

  it('states every price model in credits', () => {
    expect(priceHeadline(listing({}))).toBe('2.5 / run');
    expect(priceHeadline(listing({}, { execution_price: 0 }))).toBe('free');
    expect(priceHeadline(listing({ model: 'per_usage', markup_bps: 1000, max_price: 3_000_000 }))).toBe(
      'compute + 10 %, at most 3',
    );
    expect(priceHeadline(listing({ model: 'subscription', included_executions: 5 }))).toBe('10 / 30 days');

    expect(priceTerms(listing({}))[0]).toBe('A fixed price per completed run: 2.5 credits.');
    expect(priceTerms(listing({ model: 'per_usage', markup_bps: 527, max_price: null }))).toContain(
      'No cap on the price.',
    );
    const subscription = priceTerms(listing({ model: 'subscription', included_executions: 1, over_quota: 'refuse' }));
    expect(subscription).toContain('1 run included in each period.');
    expect(subscription).toContain('Past the included runs: refused until the next period.');
    expect(priceTerms(listing({ model: 'subscription', included_executions: 3 }))).toContain(
      'Past the included runs: 2.5 credits per completed run.',
    );
  });

  it('shows a rating as stars and an average with its count', () => {
    expect(stars(5)).toBe('★★★★★');
    expect(stars(3.6)).toBe('★★★★☆');
    expect(stars(1.2)).toBe('★☆☆☆☆');
    expect(ratingText(null, 0)).toBe('not rated yet');
    expect(ratingText(4, 1)).toBe('4.0 (1 rating)');
    expect(ratingText(4.666, 3)).toBe('4.7 (3 ratings)');
  });

  it("finds the runs that may be rated: this listing's, whose latest revision settled completed", () => {
    const s = (execution_id: string, revision: number, outcome: string, at: number, listing_id = 'L'): SettledRun => ({
      execution_id,
      listing_id,
      revision,
      outcome,
      settled_at: new Date(Date.UTC(2026, 0, 1, 0, 0, at)).toISOString(),
    });
    const runs = ratableRuns(
      [
        s('a', 1, 'completed', 1),
        // Failed first, completed on retry: ratable.
        s('b', 2, 'completed', 5),
        s('b', 1, 'failed', 3),
        // Completed, then a retry that failed: its latest settlement is not completed.
        s('c', 1, 'completed', 2),
        s('c', 2, 'failed', 6),
        s('d', 1, 'completed', 9, 'other listing'),
        s('e', 1, 'cancelled', 4),
      ],
      'L',
    );
    expect(runs.map((r) => r.execution_id)).toEqual(['b', 'a']);
    expect(ratableRuns([], 'L')).toEqual([]);
  });

  it("sums a transaction's postings per bucket", () => {
    expect(
      netByBucket([
        { bucket: 'available', amount: -5_000 },
        { bucket: 'held', amount: 5_000 },
      ]),
    ).toEqual({ available: -5_000, held: 5_000 });
    expect(
      netByBucket([
        { bucket: 'held', amount: -5_000 },
        { bucket: 'available', amount: 4_000 },
      ]),
    ).toEqual({ available: 4_000, held: -5_000 });
  });
});
