import type { ListingSearch, ListingSearchPage } from '../store.js';
import type { ListingRecord, ListingSearchKey, ListingSort, ListingStats } from '../records.js';
import { placeholders } from './columns.js';
import type { SqlValue } from './columns.js';
import type { SqlConnection } from './sql-store.js';
import * as t from './tables.js';

/**
 * The marketplace's queries, shared by both adapters like the rest of sql-store.ts. Stats are derived here,
 * on every read, from market_runs and market_ratings; nothing ever writes them.
 */

/** A publisher's own runs of its listing, and its own ratings of it, never count. */
const COUNTED_RUN = "r.outcome = 'completed' AND r.buyer <> r.publisher";

/**
 * Each sort's key as an integer expression over a listing row `l`, and its direction. The rating is the
 * average in thousandths of a star, truncated (integer arithmetic on both databases, so a cursor's key
 * compares exactly), −1 without ratings so those come last.
 */
const SORTS: Record<ListingSort, { key: string; keyDesc: boolean; idDesc: boolean }> = {
  newest: { key: 'l.created_at', keyDesc: true, idDesc: true },
  price: { key: 'l.list_price', keyDesc: false, idDesc: false },
  executions: {
    key: `(SELECT COUNT(*) FROM market_runs r WHERE r.listing_id = l.id AND ${COUNTED_RUN})`,
    keyDesc: true,
    idDesc: false,
  },
  rating: {
    key: 'COALESCE((SELECT SUM(g.stars) * 1000 / COUNT(*) FROM market_ratings g WHERE g.listing_id = l.id AND g.buyer <> l.owner), -1)',
    keyDesc: true,
    idDesc: false,
  },
};

/** What a text search matches: title, description and tags, lowercased (so LIKE is case-insensitive on both). */
export function searchTextOf(listing: Pick<ListingRecord, 'title' | 'description' | 'tags'>): string {
  return [listing.title, listing.description, ...listing.tags].join('\n').toLowerCase();
}

/** What the price sort orders by: the most one run can cost (per_usage: its cap), or a subscription's price. */
export function listPriceOf(
  listing: Pick<ListingRecord, 'model' | 'executionPrice' | 'subscriptionPrice' | 'maxPrice'>,
): number {
  switch (listing.model) {
    case 'per_execution':
      return listing.executionPrice;
    case 'per_usage':
      return listing.maxPrice ?? 0;
    case 'subscription':
      return listing.subscriptionPrice;
  }
}

/** `%` and `_` match themselves: a search for "100%" finds "100%", not everything that starts with 100. */
function likePattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export async function searchListings(conn: SqlConnection, search: ListingSearch): Promise<ListingSearchPage> {
  const sort = SORTS[search.sort];
  const where: string[] = ["l.status <> 'retired'"];
  const params: SqlValue[] = [];
  if (!search.admin) {
    // Paused listings only for their owner; private ones only for their owner and authorized users.
    where.push("(l.status = 'active' OR l.owner = ?)");
    where.push(
      '(l.is_public = 1 OR l.owner = ? OR EXISTS (SELECT 1 FROM market_listing_users u WHERE u.listing_id = l.id AND u.principal = ?))',
    );
    params.push(search.viewer, search.viewer, search.viewer);
  }
  for (const term of search.terms ?? []) {
    where.push("l.search_text LIKE ? ESCAPE '\\'");
    params.push(likePattern(term.toLowerCase()));
  }
  if (search.tag !== undefined) {
    where.push('EXISTS (SELECT 1 FROM market_listing_tags tg WHERE tg.listing_id = l.id AND tg.tag = ?)');
    params.push(search.tag);
  }
  let after = '';
  if (search.after !== undefined) {
    after = `WHERE (s.sort_key ${sort.keyDesc ? '<' : '>'} ? OR (s.sort_key = ? AND s.id ${sort.idDesc ? '<' : '>'} ?))`;
    params.push(search.after.key, search.after.key, search.after.id);
  }
  const order = `s.sort_key ${sort.keyDesc ? 'DESC' : 'ASC'}, s.id ${sort.idDesc ? 'DESC' : 'ASC'}`;
  const columns = t.listings.fields.map((f) => `l.${t.listings.column(f)}`).join(', ');
  const rows = await conn.all(
    `SELECT * FROM (SELECT ${columns}, ${sort.key} AS sort_key FROM market_listings l WHERE ${where.join(' AND ')}) s
     ${after} ORDER BY ${order} LIMIT ?`,
    [...params, search.limit + 1],
  );
  const page = rows.slice(0, search.limit);
  const listings = page.map((row) => listingOf(t.listings.fromRow(row)));
  const last = page.at(-1);
  const next: ListingSearchKey | undefined =
    rows.length > search.limit && last ? { key: Number(last.sort_key), id: last.id as string } : undefined;
  return next ? { listings, next } : { listings };
}

/** The record without the columns only searches read. */
export function listingOf(row: t.ListingRow): ListingRecord {
  const { searchText: _searchText, listPrice: _listPrice, ...listing } = row;
  return listing;
}

export async function listingStats(conn: SqlConnection, ids: readonly string[]): Promise<Map<string, ListingStats>> {
  const out = new Map<string, ListingStats>();
  const unique = [...new Set(ids)];
  for (const id of unique) {
    out.set(id, { rating: null, ratingCount: 0, totalExecutions: 0, successRate: null, medianDurationMs: null });
  }
  if (unique.length === 0) return out;
  const inList = placeholders(unique.length);
  const ratings = await conn.all(
    `SELECT g.listing_id, COUNT(*) AS n, SUM(g.stars) AS total FROM market_ratings g
     JOIN market_listings l ON l.id = g.listing_id
     WHERE g.listing_id IN (${inList}) AND g.buyer <> l.owner GROUP BY g.listing_id`,
    unique,
  );
  for (const row of ratings) {
    const stats = out.get(row.listing_id as string)!;
    stats.ratingCount = Number(row.n);
    stats.rating = Number(row.total) / Number(row.n);
  }
  const runs = await conn.all(
    `SELECT r.listing_id, r.outcome, COUNT(*) AS n, COUNT(r.duration_ms) AS timed FROM market_runs r
     WHERE r.listing_id IN (${inList}) AND r.outcome IN ('completed', 'failed') AND r.buyer <> r.publisher
     GROUP BY r.listing_id, r.outcome`,
    unique,
  );
  const counts = new Map<string, { completed: number; failed: number; timed: number }>();
  for (const row of runs) {
    const id = row.listing_id as string;
    const count = counts.get(id) ?? { completed: 0, failed: 0, timed: 0 };
    if (row.outcome === 'completed') {
      count.completed = Number(row.n);
      count.timed = Number(row.timed);
    } else count.failed = Number(row.n);
    counts.set(id, count);
  }
  for (const [id, count] of counts) {
    const stats = out.get(id)!;
    stats.totalExecutions = count.completed;
    if (count.completed + count.failed > 0) stats.successRate = count.completed / (count.completed + count.failed);
    if (count.timed > 0) stats.medianDurationMs = await medianDuration(conn, id, count.timed);
  }
  return out;
}

/** The middle duration (the floor of the two middle ones' mean for an even count), read from the index in order. */
async function medianDuration(conn: SqlConnection, listingId: string, timed: number): Promise<number> {
  const rows = await conn.all(
    `SELECT r.duration_ms FROM market_runs r WHERE r.listing_id = ? AND ${COUNTED_RUN} AND r.duration_ms IS NOT NULL
     ORDER BY r.duration_ms LIMIT ? OFFSET ?`,
    [listingId, timed % 2 === 1 ? 1 : 2, Math.floor((timed - 1) / 2)],
  );
  const values = rows.map((row) => Number(row.duration_ms));
  return Math.floor(values.reduce((a, b) => a + b, 0) / values.length);
}
