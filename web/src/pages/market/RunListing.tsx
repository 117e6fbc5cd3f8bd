import { useState } from 'react';
import type { ListingView, SubscriptionView } from 'verity/sdk';
import { Loaded, StatusBadge, Time } from '../../components';
import { InputsForm } from '../../components/InputsForm';
import { useApp } from '../../lib/app-context';
import { credits, parseCredits } from '../../lib/money';
import { href } from '../../lib/router';
import { useLoad } from '../../lib/use-load';
import { refusal } from './errors';

/**
 * Buying a run (POST /v1/market/listings/{id}/execute): the inputs in a form generated from the listing's
 * inputs schema (or as JSON without one), checked here before they are sent; the server holds the most the
 * run can cost and starts it, and the page follows it on the execution's own page. A refusal (short of
 * funds, paused, no subscription, inputs its schema refuses) is shown in the server's words.
 */
export function RunListing({ listing }: { listing: ListingView }) {
  const { client, signOut } = useApp();
  const [maxPrice, setMaxPrice] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const inputsSchema = listing.inputs_schema;

  const run = async (inputs: Record<string, unknown>) => {
    setError(undefined);
    let max: number | undefined;
    if (listing.pricing.model === 'per_usage' && maxPrice.trim() !== '') {
      const price = parseCredits(maxPrice);
      if ('error' in price) {
        setError(`Most you will pay: ${price.error}`);
        return;
      }
      max = price.micro;
    }
    setBusy(true);
    try {
      const started = await client.executeListing(listing.id, {
        inputs,
        ...(max !== undefined && { max_price: max }),
      });
      location.hash = href({ page: 'execution', id: started.executionId }).slice(1);
    } catch (e) {
      const why = refusal(e);
      if (why.unauthorized) signOut(why.message);
      else setError(why.message);
      setBusy(false);
    }
  };

  return (
    <div className="card run-listing">
      <h2>Run it</h2>
      {listing.pricing.model === 'subscription' && <Subscription listing={listing} />}
      {listing.status !== 'active' ? (
        <p className="muted">This listing is {listing.status}: it cannot be run now.</p>
      ) : (
        <>
          {listing.pricing.model === 'per_usage' && (
            <label className="block">
              Most you will pay (credits, optional)
              <input
                name="max_price"
                inputMode="decimal"
                value={maxPrice}
                placeholder={listing.pricing.max_price === null ? 'no cap' : credits(listing.pricing.max_price)}
                onChange={(e) => setMaxPrice(e.target.value)}
              />
            </label>
          )}
          <p className="muted small">
            The most the run can cost is held on your balance until it settles; what it does not cost comes back.
          </p>
          <InputsForm schema={inputsSchema} busy={busy} onSubmit={(inputs) => void run(inputs)} />
          {error && (
            <p className="error-text" role="alert">
              {error}
            </p>
          )}
        </>
      )}
    </div>
  );
}

/** A subscription listing runs only within a paid period: the caller's subscription to it, and the buttons. */
function Subscription({ listing }: { listing: ListingView }) {
  const { client, signOut } = useApp();
  const [load, retry] = useLoad<SubscriptionView | undefined>(
    async () =>
      (await client.listSubscriptions({ limit: 500 })).find((s) => s.listing_id === listing.id && s.status !== 'ended'),
    [client, listing.id],
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const act = async (action: 'subscribe' | 'unsubscribe') => {
    setBusy(true);
    setError(undefined);
    try {
      if (action === 'subscribe') await client.subscribe(listing.id);
      else await client.unsubscribe(listing.id);
      retry();
    } catch (e) {
      const why = refusal(e);
      if (why.unauthorized) signOut(why.message);
      else setError(why.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="subscription">
      <Loaded load={load} retry={retry}>
        {(subscription) =>
          subscription ? (
            <p>
              <StatusBadge status={subscription.status} /> {subscription.used_executions} of{' '}
              {subscription.included_executions} included runs used; the period ends{' '}
              <Time at={subscription.period_end} />.{' '}
              {subscription.status === 'active' && (
                <button type="button" disabled={busy} onClick={() => void act('unsubscribe')}>
                  Unsubscribe
                </button>
              )}
            </p>
          ) : (
            <p>
              Runs need a subscription: {credits(listing.subscription_price)} credits for 30 days, charged now.{' '}
              {listing.status === 'active' && (
                <button type="button" className="primary" disabled={busy} onClick={() => void act('subscribe')}>
                  Subscribe
                </button>
              )}
            </p>
          )
        }
      </Loaded>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
