import { useState } from 'react';
import type { ListingPage, ListingSearchOptions } from 'verity/sdk';
import { Loaded, StatusBadge } from '../../components';
import { useApp } from '../../lib/app-context';
import { priceHeadline, ratingText, stars } from '../../lib/market';
import { href } from '../../lib/router';
import { useLoad } from '../../lib/use-load';
import './market.css';

const SORTS = [
  ['newest', 'newest'],
  ['price', 'cheapest'],
  ['rating', 'best rated'],
  ['executions', 'most run'],
] as const;
type Sort = NonNullable<ListingSearchOptions['sort']>;
const PAGE = 20;

function asSort(value: string | undefined): Sort | undefined {
  return SORTS.some(([s]) => s === value) ? (value as Sort) : undefined;
}

/** Search of the listings the key may see (GET /v1/market/listings): words, a tag, an order, page by page. */
export function Market({ q, tag, sort }: { q: string | undefined; tag: string | undefined; sort: string | undefined }) {
  const { client } = useApp();
  const order = asSort(sort);
  // The API's cursors of the pages before this one, so "Previous" goes back; they belong to one search
  // (a cursor is the sort's own), and another search, however it was reached, starts on its first page.
  const search = `${q ?? ''}|${tag ?? ''}|${order ?? ''}`;
  const [paging, setPaging] = useState<{ search: string; cursors: (string | undefined)[] }>({
    search,
    cursors: [undefined],
  });
  const cursors = paging.search === search ? paging.cursors : [undefined];
  const setCursors = (change: (c: (string | undefined)[]) => (string | undefined)[]) =>
    setPaging({ search, cursors: change(cursors) });
  const cursor = cursors[cursors.length - 1];
  const [load, retry] = useLoad<ListingPage>(
    () =>
      client.searchListings({
        limit: PAGE,
        ...(q && { q }),
        ...(tag && { tag }),
        ...(order && { sort: order }),
        ...(cursor !== undefined && { cursor }),
      }),
    [client, q, tag, order, cursor],
  );

  const go = (next: { q?: string; tag?: string; sort?: string }) => {
    location.hash = href({
      page: 'market',
      ...(next.q && { q: next.q }),
      ...(next.tag && { tag: next.tag }),
      ...(next.sort && { sort: next.sort }),
    }).slice(1);
  };

  return (
    <section className="market">
      <div className="page-head">
        <h1>Marketplace</h1>
        <form
          className="filters market-search"
          role="search"
          // The form is keyed by the route so that the back button shows the search it goes back to.
          key={search}
          onSubmit={(e) => {
            e.preventDefault();
            const form = new FormData(e.currentTarget);
            const text = (name: string) => {
              const value = form.get(name);
              return typeof value === 'string' ? value.trim() : '';
            };
            go({ q: text('q'), tag: text('tag'), sort: text('sort') });
          }}
        >
          <label>
            Search <input type="search" name="q" defaultValue={q ?? ''} placeholder="words" size={18} maxLength={200} />
          </label>
          <label>
            Tag <input name="tag" defaultValue={tag ?? ''} placeholder="any" size={10} maxLength={40} />
          </label>
          <label>
            Order{' '}
            <select name="sort" defaultValue={order ?? 'newest'}>
              {SORTS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary">
            Search
          </button>
          {(q || tag || order) && <a href={href({ page: 'market' })}>Clear</a>}
        </form>
      </div>
      <Loaded
        load={load}
        retry={retry}
        isEmpty={(page) => page.listings.length === 0 && cursors.length === 1}
        empty={
          <p>
            {q || tag
              ? 'No listing matches this search.'
              : 'Nothing is listed yet. A publisher lists a workflow with verity market publish.'}
          </p>
        }
      >
        {(page) => (
          <>
            <div className="table-wrap">
              <table className="list listings stack-on-phone">
                <thead>
                  <tr>
                    <th>Listing</th>
                    <th>Publisher</th>
                    <th>Price</th>
                    <th>Rating</th>
                    <th>Runs</th>
                  </tr>
                </thead>
                <tbody>
                  {page.listings.map((l) => (
                    <tr key={l.id} data-listing={l.id}>
                      <td className="listing-title">
                        <a href={href({ page: 'listing', id: l.id })}>{l.title}</a>
                        {l.status !== 'active' && (
                          <>
                            {' '}
                            <StatusBadge status={l.status} />
                          </>
                        )}
                        {l.tags.length > 0 && (
                          <div className="tags small">
                            {l.tags.map((t) => (
                              <a key={t} className="tag" href={href({ page: 'market', tag: t })}>
                                {t}
                              </a>
                            ))}
                          </div>
                        )}
                      </td>
                      <td data-label="Publisher">{l.owner}</td>
                      <td className="num price" data-label="Price">
                        {priceHeadline(l)}
                      </td>
                      <td
                        className="num rating"
                        data-label="Rating"
                        title={l.rating === null ? undefined : `average ${l.rating}`}
                      >
                        {l.rating !== null && (
                          <span className="stars" aria-hidden="true">
                            {stars(l.rating)}{' '}
                          </span>
                        )}
                        {ratingText(l.rating, l.rating_count)}
                      </td>
                      <td className="num" data-label="Completed runs">
                        {l.total_executions}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p className="muted small">Prices in credits (1 credit = 1,000,000 micro-units).</p>
            <div className="pager">
              <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
                ← Previous
              </button>
              <button
                type="button"
                disabled={page.next_cursor === undefined}
                onClick={() => setCursors((c) => [...c, page.next_cursor])}
              >
                Next →
              </button>
            </div>
          </>
        )}
      </Loaded>
    </section>
  );
}
