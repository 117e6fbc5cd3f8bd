import type { ListingRecord, ListingSort } from '../store/records.js';
import type { StoreReads } from '../store/store.js';
import { invalidField } from './errors.js';
import type { Actor } from './listings.js';
import { decodeCursor, encodeCursor } from './search-cursor.js';

export interface ListingQuery {
  q?: string | undefined;
  tag?: string | undefined;
  sort: ListingSort;
  limit: number;
  cursor?: string | undefined;
}

export interface ListingResults {
  listings: ListingRecord[];
  nextCursor?: string;
}

const MAX_TERMS = 10;

/**
 * Search and browse, as the actor sees the marketplace: `q`'s words must each occur in the title,
 * description or tags (any case; `%` and `_` are plain characters), `tag` is an exact tag. Retired
 * listings are never found, paused ones only by their owner (and admins), private ones only by those who
 * may see them. Pages by an opaque cursor of the sort asked for.
 */
export async function searchListings(reads: StoreReads, actor: Actor, query: ListingQuery): Promise<ListingResults> {
  const terms = (query.q ?? '').split(/\s+/).filter((word) => word.length > 0);
  if (terms.length > MAX_TERMS) throw invalidField('q', `q: at most ${MAX_TERMS} words`, 'query');
  const tag = query.tag?.trim().toLowerCase();
  const page = await reads.searchListings({
    viewer: actor.principal,
    admin: actor.admin,
    terms,
    ...(tag !== undefined && tag.length > 0 && { tag }),
    sort: query.sort,
    limit: query.limit,
    ...(query.cursor !== undefined && { after: decodeCursor(query.sort, query.cursor) }),
  });
  return {
    listings: page.listings,
    ...(page.next !== undefined && { nextCursor: encodeCursor(query.sort, page.next) }),
  };
}
