import { useState } from 'react';
import type { ListingView, RatingPage } from 'verity/sdk';
import { Pager, usePages } from '../../components/Pager';
import { Loaded, Time } from '../../components';
import { useApp } from '../../lib/app-context';
import { ratableRuns, ratingText, stars } from '../../lib/market';
import type { SettledRun } from '../../lib/market';
import { href } from '../../lib/router';
import { localTime } from '../../lib/time';
import { useLoad } from '../../lib/use-load';
import { refusal } from './errors';

const PAGE = 10;
/** How many of the caller's settlements are searched for runs of this listing: the newest ones. */
const SETTLEMENTS_SCANNED = 500;

/** The listing's reviews, newest first, page by page, and the caller's own rating form. */
export function Ratings({ listing, mine, onRated }: { listing: ListingView; mine: boolean; onRated: () => void }) {
  const { client } = useApp();
  const pages = usePages();
  const [load, retry] = useLoad<RatingPage>(
    () => client.listRatings(listing.id, { limit: PAGE, ...(pages.cursor !== undefined && { cursor: pages.cursor }) }),
    [client, listing.id, pages.cursor],
  );
  return (
    <div className="card ratings">
      <h2>
        Ratings <span className="muted small">{ratingText(listing.rating, listing.rating_count)}</span>
      </h2>
      {mine ? (
        <p className="muted small">Publishers do not rate their own listings; your runs of it do not count.</p>
      ) : (
        <RateForm
          listing={listing}
          onRated={() => {
            pages.reset();
            retry();
            onRated();
          }}
        />
      )}
      <Loaded
        load={load}
        retry={retry}
        isEmpty={(page) => page.ratings.length === 0 && pages.first}
        empty={<p>No reviews yet.</p>}
      >
        {(page) => (
          <>
            <ol className="reviews">
              {page.ratings.map((r) => (
                <li key={`${r.buyer}|${r.created_at}`} className="review" data-buyer={r.buyer}>
                  <div className="review-head">
                    <span className="stars" aria-label={`${r.stars} of 5 stars`}>
                      {stars(r.stars)}
                    </span>{' '}
                    <strong>{r.buyer}</strong> <Time at={r.created_at} />
                  </div>
                  {r.review ? <p className="review-text">{r.review}</p> : <p className="muted small">No review.</p>}
                </li>
              ))}
            </ol>
            <Pager pages={pages} next={page.next_cursor} />
          </>
        )}
      </Loaded>
    </div>
  );
}

/**
 * The API takes a rating that names one of the caller's runs of the listing that settled completed; those
 * runs are found among the caller's settlements (GET /v1/ledger/settlements). Without one there is nothing
 * to rate with, and the form says so instead of sending what would be refused.
 */
function RateForm({ listing, onRated }: { listing: ListingView; onRated: () => void }) {
  const { client, signOut } = useApp();
  const [load, retry] = useLoad<SettledRun[]>(
    async () => ratableRuns((await client.ledgerSettlements({ limit: SETTLEMENTS_SCANNED })).settlements, listing.id),
    [client, listing.id],
  );
  const [run, setRun] = useState('');
  const [chosen, setChosen] = useState(0);
  const [review, setReview] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [done, setDone] = useState(false);

  const send = async (executionId: string) => {
    setError(undefined);
    setDone(false);
    if (chosen < 1 || chosen > 5) {
      setError('Choose 1 to 5 stars.');
      return;
    }
    setBusy(true);
    try {
      await client.rateListing(listing.id, {
        execution_id: executionId,
        stars: chosen,
        ...(review.trim() !== '' && { review: review.trim() }),
      });
      setDone(true);
      setReview('');
      onRated();
    } catch (e) {
      const why = refusal(e);
      if (why.unauthorized) signOut(why.message);
      else setError(why.message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Loaded
      load={load}
      retry={retry}
      isEmpty={(runs) => runs.length === 0}
      empty={<p className="small">You can rate this listing once a run of yours has completed and been settled.</p>}
    >
      {(runs) => {
        const executionId = runs.some((r) => r.execution_id === run) ? run : runs[0]!.execution_id;
        return (
          <form
            className="rate-form"
            onSubmit={(e) => {
              e.preventDefault();
              void send(executionId);
            }}
          >
            <fieldset className="star-picker">
              <legend>Your rating</legend>
              {[1, 2, 3, 4, 5].map((n) => (
                <label key={n} className={n <= chosen ? 'star on' : 'star'} title={`${n} of 5`}>
                  <input
                    type="radio"
                    name="stars"
                    value={n}
                    checked={chosen === n}
                    onChange={() => setChosen(n)}
                    aria-label={`${n} star${n === 1 ? '' : 's'}`}
                  />
                  <span aria-hidden="true">★</span>
                </label>
              ))}
            </fieldset>
            {runs.length > 1 && (
              <label className="block">
                For the run
                <select value={executionId} onChange={(e) => setRun(e.target.value)}>
                  {runs.map((r) => (
                    <option key={r.execution_id} value={r.execution_id}>
                      {r.execution_id.slice(0, 8)} · settled {localTime(r.settled_at)}
                    </option>
                  ))}
                </select>
              </label>
            )}
            {runs.length === 1 && (
              <p className="small muted">
                For your run <a href={href({ page: 'execution', id: executionId })}>{executionId.slice(0, 8)}</a>. A new
                rating replaces your earlier one.
              </p>
            )}
            <label className="block">
              Review (optional)
              <textarea
                name="review"
                rows={3}
                maxLength={2000}
                value={review}
                onChange={(e) => setReview(e.target.value)}
              />
            </label>
            <button type="submit" className="primary" disabled={busy}>
              {busy ? 'Sending…' : 'Rate'}
            </button>
            {done && (
              <span role="status" className="small">
                {' '}
                Thank you: your rating is in.
              </span>
            )}
            {error && (
              <p className="error-text" role="alert">
                {error}
              </p>
            )}
          </form>
        );
      }}
    </Loaded>
  );
}
