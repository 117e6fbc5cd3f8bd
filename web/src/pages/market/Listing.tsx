import { useState } from 'react';
import type { ListingView } from 'verity/sdk';
import { Loaded, StatusBadge, Time } from '../../components';
import { useApp } from '../../lib/app-context';
import { priceHeadline, priceTerms, ratingText, stars } from '../../lib/market';
import { href } from '../../lib/router';
import { duration } from '../../lib/rows';
import { useLoad } from '../../lib/use-load';
import { refusal } from './errors';
import { Ratings } from './Ratings';
import { RunListing } from './RunListing';
import './market.css';

/** One listing (GET /v1/market/listings/{id}): what it is, what it costs, running it, and its ratings. */
export function Listing({ id }: { id: string }) {
  const { client } = useApp();
  const [load, retry] = useLoad<ListingView>(() => client.getListing(id), [client, id]);
  return (
    <Loaded load={load} retry={retry}>
      {(listing) => <ListingDetail listing={listing} reload={retry} />}
    </Loaded>
  );
}

function ListingDetail({ listing, reload }: { listing: ListingView; reload: () => void }) {
  const { session } = useApp();
  const mine = session.principal === listing.owner;
  return (
    <section className="market listing" data-listing={listing.id}>
      <p className="small">
        <a href={href({ page: 'market' })}>← Marketplace</a>
      </p>
      <div className="page-head">
        <h1>{listing.title}</h1>
        <StatusBadge status={listing.status} />
        <span className="rating-summary" title={listing.rating === null ? undefined : `average ${listing.rating}`}>
          {listing.rating !== null && (
            <span className="stars" aria-hidden="true">
              {stars(listing.rating)}{' '}
            </span>
          )}
          {ratingText(listing.rating, listing.rating_count)}
        </span>
      </div>
      {listing.description ? (
        <p className="description">{listing.description}</p>
      ) : (
        <p className="muted">No description.</p>
      )}
      <div className="market-grid">
        <div className="card">
          <h2>About</h2>
          <dl className="facts">
            <dt>Publisher</dt>
            <dd>
              {listing.owner}
              {mine && <span className="muted"> (you)</span>}
            </dd>
            <dt>Workflow</dt>
            <dd>
              {listing.workflow_id} <span className="muted">v{listing.workflow_version}</span>
            </dd>
            <dt>Digest</dt>
            <dd className="mono digest small">{listing.workflow_digest}</dd>
            <dt>Verification</dt>
            <dd>{listing.verification_level}</dd>
            <dt>Visibility</dt>
            <dd>
              {listing.is_public
                ? 'public'
                : `private${listing.authorized_users ? `: ${listing.authorized_users.join(', ') || 'owner only'}` : ''}`}
            </dd>
            {listing.tags.length > 0 && (
              <>
                <dt>Tags</dt>
                <dd className="tags">
                  {listing.tags.map((t) => (
                    <a key={t} className="tag" href={href({ page: 'market', tag: t })}>
                      {t}
                    </a>
                  ))}
                </dd>
              </>
            )}
            <dt>Completed runs</dt>
            <dd>{listing.total_executions}</dd>
            <dt>Success rate</dt>
            <dd>{listing.success_rate === null ? '—' : `${Math.round(listing.success_rate * 100)} %`}</dd>
            <dt>Median duration</dt>
            <dd>{listing.median_duration_ms === null ? '—' : duration(listing.median_duration_ms)}</dd>
            <dt>Listed</dt>
            <dd>
              <Time at={listing.created_at} />
            </dd>
            <dt>Changed</dt>
            <dd>
              <Time at={listing.updated_at} />
            </dd>
          </dl>
        </div>
        <div className="card price-card">
          <h2>Price</h2>
          <p className="price-headline">{priceHeadline(listing)}</p>
          <ul className="terms">
            {priceTerms(listing).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <p className="muted small">Credits; 1 credit = 1,000,000 micro-units.</p>
        </div>
      </div>
      {(mine || session.role === 'admin') && <OwnerActions listing={listing} onChanged={reload} />}
      <RunListing listing={listing} />
      <Ratings listing={listing} mine={mine} onRated={reload} />
    </section>
  );
}

/** Pause, resume and retire: the owner's (and an admin's). Retiring is final, so it asks twice. */
function OwnerActions({ listing, onChanged }: { listing: ListingView; onChanged: () => void }) {
  const { client, signOut } = useApp();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const act = async (action: 'pause' | 'resume' | 'retire') => {
    setBusy(true);
    setError(undefined);
    try {
      if (action === 'pause') await client.pauseListing(listing.id);
      else if (action === 'resume') await client.resumeListing(listing.id);
      else await client.retireListing(listing.id);
      onChanged();
    } catch (e) {
      const why = refusal(e);
      if (why.unauthorized) signOut(why.message);
      else setError(why.message);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  if (listing.status === 'retired')
    return <p className="card muted">This listing is retired: it no longer appears in search and cannot change.</p>;
  return (
    <div className="card owner-actions">
      <h2>Your listing</h2>
      <p className="muted small">
        {listing.status === 'paused'
          ? 'Paused: hidden from search for everyone but you and admins, and not runnable.'
          : 'Active: found by search and runnable by those who may see it.'}
      </p>
      <div className="row">
        {listing.status === 'active' && (
          <button type="button" disabled={busy} onClick={() => void act('pause')}>
            Pause
          </button>
        )}
        {listing.status === 'paused' && (
          <button type="button" disabled={busy} onClick={() => void act('resume')}>
            Resume
          </button>
        )}
        {confirming ? (
          <>
            <button type="button" className="danger" disabled={busy} onClick={() => void act('retire')}>
              Retire for good
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" disabled={busy} onClick={() => setConfirming(true)}>
            Retire…
          </button>
        )}
      </div>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
