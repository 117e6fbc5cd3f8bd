import { v7 as uuidv7 } from 'uuid';
import { PLATFORM_ACCOUNT } from '../attest/settlement/accounts.js';
import { feeOf } from '../attest/settlement/price.js';
import { postTransaction } from '../ledger/ledger.js';
import type { NewLedgerTransaction } from '../ledger/ledger.js';
import type { LedgerPosting, MarketSubscriptionRecord } from '../store/records.js';
import type { Store, StoreReads } from '../store/store.js';
import { MarketError } from './errors.js';
import { canSeeListing, getListing, listingTerms } from './listings.js';
import type { Actor } from './listings.js';

/** One period: 30 days of 86,400 s. Nothing renews it. */
export const SUBSCRIPTION_PERIOD_MS = 30 * 86_400 * 1000;

export interface SubscribeOptions {
  /** f, the platform fee rate now: frozen into the subscription's terms and taken from its price. */
  feeBps: number;
  /** The time of the subscription (ms); default now. */
  now?: number;
}

/**
 * Subscribes the caller to a subscription listing for one period: the listing's subscription_price moves at
 * once from the buyer's available balance to the publisher, less the platform fee F = ⌊price·f/10⁴⌋ to
 * sys:platform, in the transaction that records the subscription (idempotency key `subscription:{id}`).
 * It is the one charge without a receipt: it buys the period's included runs, not a run. The listing row is
 * locked, so two subscribes of one buyer cannot both find no active period. LedgerError insufficient_funds
 * (402) when the buyer is short: nothing is recorded.
 */
export async function subscribe(
  store: Store,
  actor: Actor,
  listingId: string,
  options: SubscribeOptions,
): Promise<MarketSubscriptionRecord> {
  const now = options.now ?? Date.now();
  return store.transaction(async (tx) => {
    const listing = await tx.lockListing(listingId);
    if (!listing || !canSeeListing(listing, actor)) {
      throw new MarketError('listing_not_found', `no listing ${listingId} that this principal may see`, {
        context: { id: listingId },
      });
    }
    if (listing.status !== 'active') {
      throw new MarketError(
        'listing_unavailable',
        `listing ${listing.id} is ${listing.status}: only an active listing sells subscriptions`,
        { context: { id: listing.id, status: listing.status } },
      );
    }
    if (listing.model !== 'subscription') {
      throw new MarketError(
        'listing_unavailable',
        `listing ${listing.id} is sold ${listing.model}, not by subscription: run it with POST /v1/market/listings/${listing.id}/execute`,
        { context: { id: listing.id, model: listing.model } },
      );
    }
    const active = await tx.findActiveSubscription(listing.id, actor.principal, now);
    if (active) {
      const end = new Date(active.periodEnd).toISOString();
      throw new MarketError(
        'subscription_active',
        `you are subscribed to listing ${listing.id} until ${end} (subscription ${active.id}); there is no extension: subscribe again after that`,
        { context: { id: listing.id, subscriptionId: active.id, periodEnd: end } },
      );
    }
    const terms = listingTerms(listing, options.feeBps);
    const record: MarketSubscriptionRecord = {
      id: uuidv7(),
      listingId: listing.id,
      buyer: actor.principal,
      publisher: listing.owner,
      price: terms.subscription_price,
      terms,
      periodStart: now,
      periodEnd: now + SUBSCRIPTION_PERIOD_MS,
      includedExecutions: terms.included_executions,
      usedExecutions: 0,
      createdAt: now,
    };
    await tx.insertMarketSubscription(record);
    const charge = subscriptionCharge(record, terms.fee_bps);
    if (charge) await postTransaction(tx, charge, { now });
    return record;
  });
}

/** The ledger transaction of a subscription's price; undefined for a free one (the ledger posts no zeros). */
export function subscriptionCharge(
  subscription: Pick<MarketSubscriptionRecord, 'id' | 'listingId' | 'buyer' | 'publisher' | 'price'>,
  feeBps: number,
): NewLedgerTransaction | undefined {
  const price = subscription.price;
  if (price === 0) return undefined;
  const fee = feeOf(price, feeBps);
  const postings: LedgerPosting[] = [
    { account: subscription.buyer, bucket: 'available', amount: -price, reason: 'subscription' },
  ];
  if (price - fee > 0) {
    postings.push({
      account: subscription.publisher,
      bucket: 'available',
      amount: price - fee,
      reason: 'subscription',
    });
  }
  if (fee > 0) postings.push({ account: PLATFORM_ACCOUNT, bucket: 'available', amount: fee, reason: 'fee' });
  return {
    idempotencyKey: `subscription:${subscription.id}`,
    kind: 'subscription',
    listingId: subscription.listingId,
    postings,
  };
}

/**
 * Unsubscribes: the period still runs to its end (it was paid for), and nothing renews it. Asking again
 * changes nothing. MarketError no_subscription when the caller has no subscription in its period.
 */
export async function unsubscribe(
  store: Store,
  actor: Actor,
  listingId: string,
  now = Date.now(),
): Promise<MarketSubscriptionRecord> {
  const listing = await getListing(store.read, actor, listingId);
  return store.transaction(async (tx) => {
    const found = await tx.findActiveSubscription(listing.id, actor.principal, now);
    const active = found && (await tx.lockMarketSubscription(found.id));
    if (!active) {
      throw new MarketError('no_subscription', `you have no subscription to listing ${listing.id} in its period`, {
        context: { id: listing.id },
      });
    }
    if (active.cancelledAt !== undefined) return active;
    await tx.updateMarketSubscription(active.id, { cancelledAt: now });
    return { ...active, cancelledAt: now };
  });
}

/** A principal's subscriptions, newest first. */
export function listSubscriptions(
  reads: StoreReads,
  principal: string,
  limit = 100,
): Promise<MarketSubscriptionRecord[]> {
  return reads.listMarketSubscriptions(principal, limit);
}

/** A subscription as the API and the CLI show it (snake_case, ISO times). */
export function subscriptionView(s: MarketSubscriptionRecord, now = Date.now()) {
  return {
    id: s.id,
    listing_id: s.listingId,
    buyer: s.buyer,
    publisher: s.publisher,
    price: s.price,
    period_start: new Date(s.periodStart).toISOString(),
    period_end: new Date(s.periodEnd).toISOString(),
    included_executions: s.includedExecutions,
    used_executions: s.usedExecutions,
    /** active: in its period; cancelled: in its period, unsubscribed (it ends then); ended: past its period. */
    status: s.periodEnd <= now ? 'ended' : s.cancelledAt !== undefined ? 'cancelled' : 'active',
    cancelled_at: s.cancelledAt === undefined ? null : new Date(s.cancelledAt).toISOString(),
    created_at: new Date(s.createdAt).toISOString(),
  } as const;
}
export type SubscriptionView = ReturnType<typeof subscriptionView>;
