import { SettlementError } from '../attest/settlement/errors.js';
import { computeBudget, holdOf as holdAmount } from '../attest/settlement/price.js';
import type { Engine } from '../engine/engine.js';
import { holdOf, postTransaction } from '../ledger/ledger.js';
import type { ExecutionRecord } from '../store/records.js';
import type { StoreReads } from '../store/store.js';
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
  if (listing.model === 'subscription') {
    throw new MarketError(
      'subscription_required',
      `listing ${listing.id} is sold by subscription, which this server does not sell yet; choose a per_execution or per_usage listing`,
      { context: { id: listing.id } },
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
  const terms = listingTerms(listing, context.feeBps);
  const pricing = {
    ...(request.maxPrice !== undefined && { buyerMaxPrice: request.maxPrice }),
    includedRun: false,
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
      await tx.insertMarketRun({
        executionId: execution.id,
        listingId: listing.id,
        buyer: actor.principal,
        publisher: listing.owner,
        terms,
        ...(request.maxPrice !== undefined && { buyerMaxPrice: request.maxPrice }),
        includedRun: 0,
        hold,
        createdAt: now,
      });
    },
  });
}
