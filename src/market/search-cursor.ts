import type { ListingSearchKey, ListingSort } from '../store/records.js';
import { LISTING_SORTS } from '../store/records.js';
import { MarketError } from './errors.js';

/**
 * A search page's cursor: the sort it belongs to and the last listing's sort key and id, as base64url JSON.
 * Opaque to clients (only the server reads it) and checked like any input: a cursor of another sort would
 * compare keys of another kind, so it is refused rather than followed.
 */
export function encodeCursor(sort: ListingSort, after: ListingSearchKey): string {
  return Buffer.from(JSON.stringify([sort, after.key, after.id]), 'utf8').toString('base64url');
}

export function decodeCursor(sort: ListingSort, cursor: string): ListingSearchKey {
  const refuse = (why: string): never => {
    throw new MarketError('invalid_cursor', `cursor: ${why}; start again without a cursor`, {
      context: { field: 'cursor', in: 'query' },
    });
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    refuse('not a cursor this server gave out');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 3 ||
    !(LISTING_SORTS as readonly unknown[]).includes(parsed[0]) ||
    !Number.isSafeInteger(parsed[1]) ||
    typeof parsed[2] !== 'string' ||
    parsed[2].length === 0 ||
    parsed[2].length > 100
  ) {
    return refuse('not a cursor this server gave out');
  }
  const [of, key, id] = parsed as [ListingSort, number, string];
  if (of !== sort) refuse(`it pages a search sorted by ${of}, not by ${sort}`);
  return { key, id };
}
