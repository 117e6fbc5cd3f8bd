import type { MarketRatingRecord } from '../store/records.js';
import type { Store, StoreReads } from '../store/store.js';
import { MarketError } from './errors.js';
import { getListing } from './listings.js';
import type { Actor } from './listings.js';

export interface RatingInput {
  executionId: string;
  /** 1..5 (the API's schema checks it; so does this, for callers that skip the API). */
  stars: number;
  review?: string;
}

export const MAX_REVIEW = 2000;

/**
 * Rates a listing: only a buyer whose run of it settled `completed`, naming that run, and never the
 * listing's publisher. One rating per buyer per listing: a new one replaces the old. A run that is not the
 * caller's run of this listing is not found (nobody learns of another's executions).
 */
export async function rateListing(
  store: Store,
  actor: Actor,
  listingId: string,
  input: RatingInput,
  now = Date.now(),
): Promise<MarketRatingRecord> {
  if (!Number.isInteger(input.stars) || input.stars < 1 || input.stars > 5) {
    throw new MarketError('invalid_listing', 'stars: a whole number from 1 to 5', {
      context: { field: 'stars', in: 'body' },
    });
  }
  if (input.review !== undefined && input.review.length > MAX_REVIEW) {
    throw new MarketError('invalid_listing', `review: at most ${MAX_REVIEW} characters`, {
      context: { field: 'review', in: 'body' },
    });
  }
  const listing = await getListing(store.read, actor, listingId);
  if (listing.owner === actor.principal) {
    throw new MarketError(
      'rating_forbidden',
      `you publish listing ${listing.id}: a publisher cannot rate its own listing`,
      {
        context: { id: listing.id },
      },
    );
  }
  const run = await store.read.getMarketRun(input.executionId);
  if (!run || run.buyer !== actor.principal || run.listingId !== listing.id) {
    throw new MarketError(
      'run_not_found',
      `no run of listing ${listing.id} by you with execution id ${input.executionId}: name one of your own runs of this listing`,
      { context: { id: listing.id, executionId: input.executionId } },
    );
  }
  if (run.outcome !== 'completed') {
    throw new MarketError(
      'rating_forbidden',
      `execution ${run.executionId} ${run.outcome === undefined ? 'has not settled yet' : `settled ${run.outcome}`}: only a run that settled completed entitles a rating`,
      { context: { id: listing.id, executionId: run.executionId, outcome: run.outcome ?? null } },
    );
  }
  const record: MarketRatingRecord = {
    listingId: listing.id,
    buyer: actor.principal,
    executionId: run.executionId,
    stars: input.stars,
    ...(input.review !== undefined && { review: input.review }),
    createdAt: now,
  };
  await store.transaction((tx) => tx.putMarketRating(record));
  return record;
}

/** A page of a listing's ratings, newest first; `cursor` as the page before gave it. */
export async function listRatings(
  reads: StoreReads,
  actor: Actor,
  listingId: string,
  page: { limit?: number; cursor?: string },
): Promise<{ ratings: MarketRatingRecord[]; nextCursor?: string }> {
  const listing = await getListing(reads, actor, listingId);
  const limit = page.limit ?? 20;
  const after = page.cursor === undefined ? undefined : decodeRatingCursor(page.cursor);
  const rows = await reads.listMarketRatings(listing.id, { limit: limit + 1, ...(after && { after }) });
  const ratings = rows.slice(0, limit);
  const last = ratings.at(-1);
  return rows.length > limit && last
    ? { ratings, nextCursor: Buffer.from(JSON.stringify([last.createdAt, last.buyer])).toString('base64url') }
    : { ratings };
}

/** The last rating of a page (its time and buyer, the order's unique key), base64url JSON: opaque to clients. */
function decodeRatingCursor(cursor: string): { createdAt: number; buyer: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== 'string' ||
    parsed[1].length === 0 ||
    parsed[1].length > 200
  ) {
    throw new MarketError('invalid_cursor', 'cursor: not a cursor this server gave out; start again without a cursor', {
      context: { field: 'cursor', in: 'query' },
    });
  }
  return { createdAt: parsed[0] as number, buyer: parsed[1] };
}

/** A rating as the API and the CLI show it. */
export function ratingView(r: MarketRatingRecord) {
  return {
    listing_id: r.listingId,
    buyer: r.buyer,
    execution_id: r.executionId,
    stars: r.stars,
    review: r.review ?? null,
    created_at: new Date(r.createdAt).toISOString(),
  };
}
export type RatingView = ReturnType<typeof ratingView>;
