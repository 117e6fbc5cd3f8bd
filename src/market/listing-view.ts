import type { z } from 'zod';
import type { listingView } from '../api/schemas.js';
import type { ListingRecord } from '../store/records.js';
import type { StoreReads } from '../store/store.js';
import { canChangeListing } from './listings.js';
import type { Actor } from './listings.js';

export type ListingView = z.output<typeof listingView>;

/**
 * Listings as the API and the CLI show them (snake_case), with their derived stats, read in one batch. The
 * authorized users are the owner's and admins' to see (they name principals); the workflow's definition is
 * shown when `withDefinition` and the listing shows it, or to the owner and admins; with `withDefinition`
 * the inputs' JSON Schema is shown to everyone who sees the listing.
 */
export async function listingViews(
  reads: StoreReads,
  actor: Actor,
  listings: readonly ListingRecord[],
  options: { withDefinition?: boolean } = {},
): Promise<ListingView[]> {
  const stats = await reads.getListingStats(listings.map((l) => l.id));
  return Promise.all(
    listings.map(async (listing) => {
      const s = stats.get(listing.id)!;
      const privileged = canChangeListing(listing, actor);
      let definition: Record<string, unknown> | undefined;
      let inputsSchema: Record<string, unknown> | undefined;
      if (options.withDefinition) {
        const workflow = await reads.getWorkflow(listing.workflowDigest);
        // The inputs' schema is what a buyer must send, so it is shown even when the definition is not.
        inputsSchema = workflow?.definition.inputs;
        if (workflow && (listing.showDefinition || privileged))
          definition = workflow.definition as unknown as Record<string, unknown>;
      }
      return {
        id: listing.id,
        owner: listing.owner,
        workflow_id: listing.workflowId,
        workflow_version: listing.workflowVersion,
        workflow_digest: listing.workflowDigest,
        title: listing.title,
        description: listing.description,
        tags: listing.tags,
        execution_price: listing.executionPrice,
        subscription_price: listing.subscriptionPrice,
        pricing: {
          model: listing.model,
          markup_bps: listing.markupBps,
          max_price: listing.maxPrice ?? null,
          included_executions: listing.includedExecutions,
          over_quota: listing.overQuota,
        },
        verification_level: listing.verificationLevel,
        is_public: listing.isPublic,
        ...(privileged && { authorized_users: listing.authorizedUsers }),
        show_definition: listing.showDefinition,
        status: listing.status,
        rating: s.rating,
        rating_count: s.ratingCount,
        total_executions: s.totalExecutions,
        success_rate: s.successRate,
        median_duration_ms: s.medianDurationMs,
        created_at: new Date(listing.createdAt).toISOString(),
        updated_at: new Date(listing.updatedAt).toISOString(),
        ...(inputsSchema !== undefined && { inputs_schema: inputsSchema }),
        ...(definition !== undefined && { definition }),
      };
    }),
  );
}
