import { SettlementError } from '../attest/settlement/errors.js';
import { computeBudget, holdOf as holdAmount, quotaDecision } from '../attest/settlement/price.js';
import type { QuotaDecision } from '../attest/settlement/price.js';
import { checkTerms } from '../attest/settlement/terms.js';
import type { Engine } from '../engine/engine.js';
import { holdOf, postTransaction } from '../ledger/ledger.js';
import type { ExecutionRecord, MarketSubscriptionRecord } from '../store/records.js';
import type { StoreReads, StoreTx } from '../store/store.js';
import { MarketError, invalidField } from './errors.js';
import { getListing, listingTerms } from './listings.js';
import type { Actor } from './listings.js';

/** A run through a listing, as the buyer asks for it. */
export interface ListingRunRequest {
  listingId: string;
  inputs: unknown;
  /** The most the buyer will pay (per_usage caps its price with it; a fixed price above it is refused). */
  maxPrice?: number;
  idempotencyKey?: string;
}

export interface ListingRunContext {
  reads: StoreReads;
  engine: Engine;
  /** f, the platform fee rate now: frozen into the run's terms. */
  feeBps: number;
  /** Whether this node issues receipts: without them nothing can be settled, so nothing is sold. */
  attests: boolean;
}

/**
 * Starts an execution through a listing: the listing's pinned workflow version, budget and level, the
 * terms frozen now, and a hold on the buyer's balance for the most the run can cost, all in the transaction
 * that starts the execution. A buyer short of funds gets LedgerError insufficient_funds and nothing starts.
 * The same idempotency key returns the execution (and so the hold) it started before.
 */
export async function runThroughListing(
  context: ListingRunContext,
  actor: Actor,
  request: ListingRunRequest,
): Promise<ExecutionRecord> {
  const listing = await getListing(context.reads, actor, request.listingId);
  if (listing.status !== 'active') {
    throw new MarketError(
      'listing_unavailable',
      `listing ${listing.id} is ${listing.status}: only an active listing runs${listing.status === 'paused' ? '; ask its publisher to resume it' : ''}`,
      { context: { id: listing.id, status: listing.status } },
    );
  }
  if (!context.attests) {
    throw new MarketError(
      'listing_unavailable',
      'this server issues no receipts (attestations are off), and nothing is charged without a receipt: start it with attestations',
      { context: { id: listing.id } },
    );
  }
  const workflow = await context.reads.getWorkflow(listing.workflowDigest);
  if (!workflow) {
    throw new MarketError('listing_unavailable', `listing ${listing.id} names a workflow this server no longer has`, {
      context: { id: listing.id },
    });
  }
  const quota =
    listing.model === 'subscription' ? await subscriptionQuota(context.reads, actor, listing.id, request) : undefined;
  // A subscriber's runs settle at the terms its subscription began with, whatever the listing says now.
  const terms = quota ? checkTerms(quota.subscription.terms) : listingTerms(listing, context.feeBps);
  const included = quota?.decision === 'included';
  const pricing = {
    ...(request.maxPrice !== undefined && { buyerMaxPrice: request.maxPrice }),
    includedRun: included,
    workflowMaxCostBudget: workflow.definition.max_cost_budget,
  };
  let budget: number;
  let hold: number;
  try {
    budget = computeBudget(terms, pricing);
    hold = holdAmount(terms, pricing);
  } catch (error) {
    if (!(error instanceof SettlementError)) throw error;
    if (error.code === 'above_buyer_max_price') throw invalidField('max_price', error.message);
    throw new MarketError('listing_unavailable', `listing ${listing.id} cannot run: ${error.message}`, {
      context: { id: listing.id },
      cause: error,
    });
  }
  return context.engine.start({
    workflow,
    inputs: request.inputs,
    clientId: actor.principal,
    budget,
    verificationLevel: listing.verificationLevel,
    ...(request.idempotencyKey !== undefined && { idempotencyKey: request.idempotencyKey }),
    onStarted: async (tx, execution, now) => {
      await postTransaction(
        tx,
        holdOf(actor.principal, hold, `hold:${execution.id}:1`, {
          executionId: execution.id,
          revision: 1,
          listingId: listing.id,
        }),
        { now },
      );
      if (quota && included) await takeIncludedRun(tx, quota.subscription.id, listing.id);
      await tx.insertMarketRun({
        executionId: execution.id,
        listingId: listing.id,
        buyer: actor.principal,
        publisher: listing.owner,
        terms,
        ...(request.maxPrice !== undefined && { buyerMaxPrice: request.maxPrice }),
        includedRun: included ? 1 : 0,
        ...(quota && { subscriptionId: quota.subscription.id }),
        ...(included && { quotaHeld: 1 }),
        hold,
        createdAt: now,
      });
    },
  });
}

/**
 * Whether a subscriber's run is included, charged E, or refused, from the quota as read before the run
 * starts (the start's transaction takes the included execution under the subscription's lock, and refuses
 * if a concurrent run took the last one in between). A replayed Idempotency-Key answers the run it started,
 * which took its execution already: it is not refused for the quota it used.
 */
async function subscriptionQuota(
  reads: StoreReads,
  actor: Actor,
  listingId: string,
  request: ListingRunRequest,
): Promise<{ subscription: MarketSubscriptionRecord; decision: QuotaDecision }> {
  const subscription = await reads.findActiveSubscription(listingId, actor.principal, Date.now());
  if (!subscription) {
    throw new MarketError(
      'subscription_required',
      `listing ${listingId} is sold by subscription and you have none in its period: subscribe with POST /v1/market/listings/${listingId}/subscribe (verity market subscribe ${listingId})`,
      { context: { id: listingId } },
    );
  }
  const decision = quotaDecision(checkTerms(subscription.terms), subscription.usedExecutions);
  const replay =
    request.idempotencyKey !== undefined &&
    (await reads.findExecutionByIdempotencyKey(actor.principal, request.idempotencyKey)) !== undefined;
  if (decision === 'refused' && !replay) throw overQuota(subscription);
  return { subscription, decision };
}

function overQuota(subscription: MarketSubscriptionRecord): MarketError {
  return new MarketError(
    'over_quota',
    `your subscription ${subscription.id} has used all ${subscription.includedExecutions} included runs of this period, and the listing refuses runs past them; the period ends at ${new Date(subscription.periodEnd).toISOString()}`,
    {
      context: {
        id: subscription.listingId,
        subscriptionId: subscription.id,
        includedExecutions: subscription.includedExecutions,
        periodEnd: new Date(subscription.periodEnd).toISOString(),
      },
    },
  );
}

/** Takes one included execution, under the subscription's lock, in the transaction that starts the run. */
async function takeIncludedRun(tx: StoreTx, subscriptionId: string, listingId: string): Promise<void> {
  const locked = await tx.lockMarketSubscription(subscriptionId);
  if (!locked) {
    throw new MarketError('subscription_required', `subscription ${subscriptionId} is gone`, {
      context: { id: listingId },
    });
  }
  if (locked.usedExecutions >= locked.includedExecutions) {
    // A concurrent run took the last included execution after this one read the quota: the hold here was
    // sized for a free run, so start nothing; running again is decided afresh (charged E, or refused).
    throw new MarketError(
      locked.terms.over_quota === 'charge' ? 'listing_unavailable' : 'over_quota',
      `the last included run of subscription ${subscriptionId} was taken by another run a moment ago: run again${locked.terms.over_quota === 'charge' ? ' to be charged the execution price' : ''}`,
      { context: { id: listingId, subscriptionId } },
    );
  }
  await tx.updateMarketSubscription(subscriptionId, { usedExecutions: locked.usedExecutions + 1 });
}
