import { credits } from './money.js';

/**
 * What the marketplace pages compute from the API's views: a listing's price terms in words, its rating
 * as stars, the runs that entitle a rating, a transaction's effect on a balance. Pure, so they are tested
 * on their own (test/unit/web/market.test.ts); the shapes are the parts of the SDK's views they read.
 */

export interface PricedListing {
  execution_price: number;
  subscription_price: number;
  pricing: {
    model: 'per_execution' | 'per_usage' | 'subscription';
    markup_bps: number;
    max_price: number | null;
    included_executions: number;
    over_quota: 'charge' | 'refuse';
  };
}

/** Basis points as a percentage: 527 → "5.27 %" (integer arithmetic, as for money). */
export function percent(bps: number): string {
  const fraction = bps % 100;
  const whole = (bps - fraction) / 100;
  return `${whole}${fraction === 0 ? '' : `.${String(fraction).padStart(2, '0').replace(/0$/, '')}`} %`;
}

/** The price in a few words, for a list: what one run (or one period) costs. */
export function priceHeadline(listing: PricedListing): string {
  const { pricing } = listing;
  switch (pricing.model) {
    case 'per_execution':
      return listing.execution_price === 0 ? 'free' : `${credits(listing.execution_price)} / run`;
    case 'per_usage':
      return `compute + ${percent(pricing.markup_bps)}${pricing.max_price === null ? '' : `, at most ${credits(pricing.max_price)}`}`;
    case 'subscription':
      return `${credits(listing.subscription_price)} / 30 days`;
  }
}

/** Every term of the listing's price model, one sentence each (docs/marketplace.md, "Pricing"). */
export function priceTerms(listing: PricedListing): string[] {
  const { pricing } = listing;
  switch (pricing.model) {
    case 'per_execution':
      return [
        `A fixed price per completed run: ${credits(listing.execution_price)} credits.`,
        'A run that fails costs you nothing; a run you cancel costs the compute it used.',
      ];
    case 'per_usage':
      return [
        `The run's compute cost plus a markup of ${percent(pricing.markup_bps)}.`,
        pricing.max_price === null
          ? 'No cap on the price.'
          : `At most ${credits(pricing.max_price)} credits per run (you may set a lower cap).`,
        'A run that fails costs you nothing; a run you cancel costs the compute it used.',
      ];
    case 'subscription':
      return [
        `A subscription: ${credits(listing.subscription_price)} credits for 30 days, charged at once, never renewed.`,
        `${pricing.included_executions} run${pricing.included_executions === 1 ? '' : 's'} included in each period.`,
        pricing.over_quota === 'charge'
          ? `Past the included runs: ${credits(listing.execution_price)} credits per completed run.`
          : 'Past the included runs: refused until the next period.',
      ];
  }
}

/** An average of 1–5 stars as five characters, rounded to the nearest whole star: 3.6 → "★★★★☆". */
export function stars(average: number): string {
  const filled = Math.min(5, Math.max(0, Math.round(average)));
  return '★'.repeat(filled) + '☆'.repeat(5 - filled);
}

/** The listing's rating as shown next to its name: "4.5 (2 ratings)", or that nobody has rated it. */
export function ratingText(rating: number | null, count: number): string {
  if (rating === null || count === 0) return 'not rated yet';
  const average = (Math.round(rating * 10) / 10).toFixed(1);
  return `${average} (${count} rating${count === 1 ? '' : 's'})`;
}

export interface SettledRun {
  execution_id: string;
  listing_id: string;
  revision: number;
  outcome: string;
  settled_at: string;
}

/**
 * The caller's runs of a listing that may be rated: the API accepts a rating naming a run whose latest
 * settlement is `completed` (a retried run settles again, and its last revision is the one that counts).
 * Newest first.
 */
export function ratableRuns(settlements: readonly SettledRun[], listingId: string): SettledRun[] {
  const latest = new Map<string, SettledRun>();
  for (const s of settlements) {
    if (s.listing_id !== listingId) continue;
    const known = latest.get(s.execution_id);
    if (!known || s.revision > known.revision) latest.set(s.execution_id, s);
  }
  return [...latest.values()]
    .filter((s) => s.outcome === 'completed')
    .sort((a, b) => (a.settled_at < b.settled_at ? 1 : a.settled_at > b.settled_at ? -1 : 0));
}

export interface Posting {
  bucket: 'available' | 'held';
  amount: number;
}

/** How a transaction moved the caller's money, per bucket: a hold is −available and +held, for instance. */
export function netByBucket(postings: readonly Posting[]): { available: number; held: number } {
  let available = 0;
  let held = 0;
  for (const p of postings) {
    if (p.bucket === 'available') available += p.amount;
    else held += p.amount;
  }
  return { available, held };
}
