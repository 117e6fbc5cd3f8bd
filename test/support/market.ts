import type { Bundle } from '../../src/attest/bundle.js';
import { createListing } from '../../src/market/listings.js';
import type { CreateListingInput } from '../../src/market/listings.js';
import { runThroughListing } from '../../src/market/runs.js';
import { WorkflowRegistry } from '../../src/registry/workflow-registry.js';
import type { TestNode } from './node.js';

/**
 * Listings on a real test node, for the marketplace money tests: a publisher publishes a workflow and lists
 * it; a buyer runs through the listing the way the execute route does (runThroughListing), so the hold,
 * the settlement and the bundle are the node's own.
 */
export const MARKET_FEE_BPS = 500;

export type ListingPricing = CreateListingInput['pricing'];

export interface TestListing {
  id: string;
  workflowId: string;
  run(buyer: string, extra?: { idempotencyKey?: string; maxPrice?: number }): Promise<{ id: string }>;
}

let counter = 0;

export async function listWorkflow(
  t: TestNode,
  steps: unknown[],
  options: {
    publisher?: string;
    price?: number;
    /** For a subscription listing: the price of one period. */
    subscriptionPrice?: number;
    pricing?: ListingPricing;
    extra?: Record<string, unknown>;
  } = {},
): Promise<TestListing> {
  const publisher = options.publisher ?? 'acme';
  const registry = new WorkflowRegistry(t.node.store, t.node.engine);
  const workflowId = `wf-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 6)}`;
  await registry.publish({ id: workflowId, steps, ...options.extra }, publisher, false);
  const listing = await createListing(
    t.node.store,
    { principal: publisher, admin: false },
    {
      workflow_id: workflowId,
      title: `Listed ${workflowId}`,
      execution_price: options.price ?? 1_000,
      ...(options.subscriptionPrice !== undefined && { subscription_price: options.subscriptionPrice }),
      pricing: options.pricing ?? { model: 'per_execution' },
    },
    { feeBps: MARKET_FEE_BPS },
  );
  return {
    id: listing.id,
    workflowId,
    run: (buyer, extra = {}) =>
      runThroughListing(
        { reads: t.node.store.read, engine: t.node.engine, feeBps: MARKET_FEE_BPS, attests: true },
        { principal: buyer, admin: false },
        { listingId: listing.id, inputs: {}, ...extra },
      ),
  };
}

/** The execution's bundle (v2 when it was settled), with its data. */
export async function marketBundle(t: TestNode, executionId: string): Promise<Bundle> {
  return (await t.node.bundle(executionId, { includeData: true })) as Bundle;
}

/** Calls the settler's `ended` hook again for the execution's latest receipt: a replayed end. */
export async function settleAgain(t: TestNode, executionId: string): Promise<void> {
  // Newest first: the latest revision's receipt.
  const receipt = (await t.node.store.read.listReceipts(executionId))[0]!;
  const record = (await t.node.store.read.getExecution(executionId))!;
  const hooks = (t.node.engine as unknown as { hooks?: { ended: (...a: unknown[]) => Promise<void> } }).hooks;
  await t.node.store.transaction((tx) => hooks!.ended(tx, record, receipt, Date.now()));
}
