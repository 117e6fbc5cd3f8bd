import { v7 as uuidv7 } from 'uuid';
import type { z } from 'zod';
import { SettlementError, checkTerms, computeBudget, listingCanBeFree } from '../attest/settlement/index.js';
import type { SettlementTerms } from '../attest/settlement/index.js';
import { principalNameProblem } from '../auth/principal.js';
import type { createListingRequest, updateListingRequest } from '../api/schemas.js';
import type { ListingRecord, WorkflowVersionRecord } from '../store/records.js';
import type { Store, StoreReads } from '../store/store.js';
import { VERIFICATION_LEVELS } from '../workflow/types.js';
import type { VerificationLevel, WorkflowDefinition } from '../workflow/types.js';
import { MarketError, invalidField } from './errors.js';

/**
 * The rules of listings, one copy for the API's routes and the CLI's local commands: who may see and change
 * a listing, what a listing may say (its text, its terms under the money rules of src/attest/settlement/,
 * its workflow version and verification level), and its life (active, paused, retired for good). Input
 * arrives shaped by the request schemas of src/api/schemas.ts; everything past the shape is checked here.
 */

export type CreateListingInput = z.output<typeof createListingRequest>;
export type UpdateListingInput = z.output<typeof updateListingRequest>;

/** Who acts: a principal, and whether it is an admin (who may see and change every listing). */
export interface Actor {
  principal: string;
  admin: boolean;
}

export interface MarketOptions {
  /** f, the platform fee rate in basis points (VERITY_PLATFORM_FEE_BPS). */
  feeBps: number;
  /** The clock, in ms. Default: Date.now. */
  now?: () => number;
}

export type ListingAction = 'pause' | 'resume' | 'retire';

/** A listing that is not public exists only for its owner, admins and its authorized users. */
export function canSeeListing(listing: ListingRecord, actor: Actor): boolean {
  return (
    actor.admin ||
    listing.owner === actor.principal ||
    listing.isPublic ||
    listing.authorizedUsers.includes(actor.principal)
  );
}

/** Only the owner, or an admin, changes a listing. */
export function canChangeListing(listing: ListingRecord, actor: Actor): boolean {
  return actor.admin || listing.owner === actor.principal;
}

function notFound(id: string): MarketError {
  return new MarketError('listing_not_found', `no listing ${id} that this principal may see`, { context: { id } });
}

/** A listing the actor may see, or listing_not_found exactly as for an id that does not exist. */
export async function getListing(reads: StoreReads, actor: Actor, id: string): Promise<ListingRecord> {
  const listing = await reads.getListing(id);
  if (!listing || !canSeeListing(listing, actor)) throw notFound(id);
  return listing;
}

export async function createListing(
  store: Store,
  actor: Actor,
  input: CreateListingInput,
  options: MarketOptions,
): Promise<ListingRecord> {
  const now = (options.now ?? Date.now)();
  return store.transaction(async (tx) => {
    const { version, definition } = await ownedVersion(tx, actor, input.workflow_id, input.workflow_version);
    const listing: ListingRecord = {
      id: uuidv7(),
      owner: actor.principal,
      workflowId: version.workflowId,
      workflowVersion: version.version,
      workflowDigest: version.digest,
      title: checkTitle(input.title),
      description: input.description ?? '',
      tags: normalizeTags(input.tags ?? []),
      model: input.pricing.model,
      executionPrice: input.execution_price ?? 0,
      subscriptionPrice: input.subscription_price ?? 0,
      markupBps: input.pricing.markup_bps ?? 0,
      ...(input.pricing.max_price !== undefined &&
        input.pricing.max_price !== null && { maxPrice: input.pricing.max_price }),
      includedExecutions: input.pricing.included_executions ?? 0,
      overQuota: input.pricing.over_quota ?? 'charge',
      verificationLevel: levelFor(input.verification_level, definition.verification_level),
      isPublic: input.is_public ?? true,
      authorizedUsers: checkUsers(input.authorized_users ?? []),
      showDefinition: input.show_definition ?? false,
      status: 'active',
      createdAt: now,
      updatedAt: now,
    };
    checkListingTerms(listing, definition, options.feeBps);
    await tx.insertListing(listing);
    return listing;
  });
}

export async function updateListing(
  store: Store,
  actor: Actor,
  id: string,
  patch: UpdateListingInput,
  options: MarketOptions,
): Promise<ListingRecord> {
  const now = (options.now ?? Date.now)();
  return store.transaction(async (tx) => {
    const current = changeable(await tx.lockListing(id), actor, id);
    const versionNumber = patch.workflow_version ?? current.workflowVersion;
    const { version, definition } = await ownedVersion(tx, actor, current.workflowId, versionNumber, current);
    const pricing = patch.pricing ?? {};
    const maxPrice = pricing.max_price !== undefined ? pricing.max_price : (current.maxPrice ?? null);
    const { maxPrice: _dropped, ...rest } = current;
    const next: ListingRecord = {
      ...rest,
      workflowVersion: version.version,
      workflowDigest: version.digest,
      ...(patch.title !== undefined && { title: checkTitle(patch.title) }),
      ...(patch.description !== undefined && { description: patch.description }),
      ...(patch.tags !== undefined && { tags: normalizeTags(patch.tags) }),
      ...(patch.execution_price !== undefined && { executionPrice: patch.execution_price }),
      ...(patch.subscription_price !== undefined && { subscriptionPrice: patch.subscription_price }),
      ...(pricing.model !== undefined && { model: pricing.model }),
      ...(pricing.markup_bps !== undefined && { markupBps: pricing.markup_bps }),
      ...(maxPrice !== null && { maxPrice }),
      ...(pricing.included_executions !== undefined && { includedExecutions: pricing.included_executions }),
      ...(pricing.over_quota !== undefined && { overQuota: pricing.over_quota }),
      // Moving to a stricter workflow version raises the listing's level with it, unless the change names one.
      verificationLevel: levelFor(
        patch.verification_level ?? stricterOf(current.verificationLevel, definition.verification_level),
        definition.verification_level,
      ),
      ...(patch.is_public !== undefined && { isPublic: patch.is_public }),
      ...(patch.authorized_users !== undefined && { authorizedUsers: checkUsers(patch.authorized_users) }),
      ...(patch.show_definition !== undefined && { showDefinition: patch.show_definition }),
      updatedAt: now,
    };
    checkListingTerms(next, definition, options.feeBps);
    await tx.updateListing(next);
    return next;
  });
}

/** Pause, resume or retire. Asking for the state a listing is in changes nothing; retired is final. */
export async function setListingStatus(
  store: Store,
  actor: Actor,
  id: string,
  action: ListingAction,
  options: Pick<MarketOptions, 'now'> = {},
): Promise<ListingRecord> {
  const now = (options.now ?? Date.now)();
  return store.transaction(async (tx) => {
    const listing = await tx.lockListing(id);
    if (
      listing?.status === 'retired' &&
      action === 'retire' &&
      canSeeListing(listing, actor) &&
      canChangeListing(listing, actor)
    ) {
      return listing;
    }
    const current = changeable(listing, actor, id);
    const status = action === 'pause' ? 'paused' : action === 'resume' ? 'active' : 'retired';
    if (current.status === status) return current;
    const next: ListingRecord = { ...current, status, updatedAt: now };
    await tx.updateListing(next);
    return next;
  });
}

/** A listing the actor may change and that can still change; another's is not found, as if it did not exist. */
function changeable(listing: ListingRecord | undefined, actor: Actor, id: string): ListingRecord {
  if (!listing || !canSeeListing(listing, actor) || !canChangeListing(listing, actor)) throw notFound(id);
  if (listing.status === 'retired') {
    throw new MarketError(
      'listing_retired',
      `listing ${id} is retired, which is final; publish a new listing instead`,
      {
        context: { id },
      },
    );
  }
  return listing;
}

/**
 * The workflow version a listing offers: it must exist and belong to the actor (an admin may list any), or,
 * for a listing that exists, to the listing's owner. Another's workflow is not found, as everywhere.
 */
async function ownedVersion(
  reads: StoreReads,
  actor: Actor,
  workflowId: string,
  versionNumber: number | undefined,
  listing?: ListingRecord,
): Promise<{ version: WorkflowVersionRecord; definition: WorkflowDefinition }> {
  const version = await reads.getWorkflowVersion(workflowId, versionNumber);
  const owner = listing?.owner ?? actor.principal;
  const field = listing ? 'workflow_version' : versionNumber === undefined ? 'workflow_id' : 'workflow_version';
  if (!version || (!actor.admin && version.owner !== owner)) {
    throw new MarketError(
      'unknown_workflow',
      `${field}: no published workflow ${workflowId}${versionNumber === undefined ? '' : ` v${versionNumber}`} owned by ${owner}; publish it first (verity workflow push)`,
      { context: { field, workflowId, version: versionNumber } },
    );
  }
  const workflow = await reads.getWorkflow(version.digest);
  if (!workflow) {
    throw new MarketError(
      'unknown_workflow',
      `${field}: workflow ${workflowId} v${version.version} has no definition`,
      {
        context: { field, workflowId, version: version.version },
      },
    );
  }
  return { version, definition: workflow.definition };
}

function checkTitle(title: string): string {
  if (title.trim().length === 0) throw invalidField('title', 'title: must not be blank');
  return title;
}

/** Tags are matched exactly and case-insensitively: trimmed, lowercase, each once, in the order given. */
export function normalizeTags(tags: readonly string[]): string[] {
  const out: string[] = [];
  tags.forEach((tag, i) => {
    const normal = tag.trim().toLowerCase();
    if (normal.length === 0 || normal.length > 40) {
      throw invalidField(`tags[${i}]`, `tags[${i}]: must be 1 to 40 characters that are not all blank`);
    }
    if (!out.includes(normal)) out.push(normal);
  });
  if (out.length > 20) throw invalidField('tags', 'tags: at most 20');
  return out;
}

function checkUsers(users: readonly string[]): string[] {
  users.forEach((user, i) => {
    const problem = principalNameProblem(user);
    if (problem !== undefined) throw invalidField(`authorized_users[${i}]`, `authorized_users[${i}]: ${problem}`);
  });
  return [...new Set(users)];
}

/** A listing may ask for a stricter verification level than its workflow's, never a weaker one. */
function levelFor(requested: VerificationLevel | undefined, workflowLevel: VerificationLevel): VerificationLevel {
  if (requested === undefined) return workflowLevel;
  if (VERIFICATION_LEVELS.indexOf(requested) < VERIFICATION_LEVELS.indexOf(workflowLevel)) {
    throw invalidField(
      'verification_level',
      `verification_level: the workflow runs at ${workflowLevel}; a listing may only ask for a stricter level (${VERIFICATION_LEVELS.slice(VERIFICATION_LEVELS.indexOf(workflowLevel)).join(', ')})`,
    );
  }
  return requested;
}

function stricterOf(a: VerificationLevel, b: VerificationLevel): VerificationLevel {
  return VERIFICATION_LEVELS.indexOf(a) >= VERIFICATION_LEVELS.indexOf(b) ? a : b;
}

/** The terms a listing's runs would freeze at the current fee rate. */
export function listingTerms(listing: ListingRecord, feeBps: number): SettlementTerms {
  return {
    model: listing.model,
    execution_price: listing.executionPrice,
    subscription_price: listing.subscriptionPrice,
    markup_bps: listing.markupBps,
    max_price: listing.maxPrice ?? null,
    included_executions: listing.includedExecutions,
    over_quota: listing.overQuota,
    fee_bps: feeBps,
  };
}

/** Where each field of the terms is in a listing request. */
const TERM_FIELDS: Record<string, string> = {
  model: 'pricing.model',
  markup_bps: 'pricing.markup_bps',
  max_price: 'pricing.max_price',
  included_executions: 'pricing.included_executions',
  over_quota: 'pricing.over_quota',
  execution_price: 'execution_price',
  subscription_price: 'subscription_price',
  // The fee is the platform's: what the listing can change about it is its model.
  fee_bps: 'pricing.model',
};

/**
 * The money rules a listing must meet (src/attest/settlement/): terms checkTerms accepts (a per_usage
 * listing has a max_price and m ≥ minMarkupBps(f)), and a finite compute budget for every run: a listing
 * whose runs can cost the buyer 0 needs its workflow's max_cost_budget, since 0 means "no limit".
 */
function checkListingTerms(listing: ListingRecord, definition: WorkflowDefinition, feeBps: number): void {
  try {
    const terms = checkTerms(listingTerms(listing, feeBps));
    if (listingCanBeFree(terms) && definition.max_cost_budget === 0) {
      throw invalidField(
        'workflow_version',
        `workflow_version: a run of this listing can cost its buyer 0, so the workflow's max_cost_budget must bound its compute, and ${listing.workflowId} v${listing.workflowVersion} has max_cost_budget 0 (no limit): publish a version with a finite max_cost_budget, or set a price`,
      );
    }
    computeBudget(terms, { workflowMaxCostBudget: definition.max_cost_budget });
  } catch (error) {
    if (!(error instanceof SettlementError)) throw error;
    const termField = typeof error.context.field === 'string' ? error.context.field : 'model';
    const field = TERM_FIELDS[termField] ?? 'pricing';
    const message = error.message.startsWith(`${termField}: `)
      ? error.message.slice(termField.length + 2)
      : error.message;
    throw invalidField(field, `${field}: ${message}`);
  }
}
