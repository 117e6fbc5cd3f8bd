import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { platformFeeBps } from '../../market/fee.js';
import { listingViews } from '../../market/listing-view.js';
import type { ListingView } from '../../market/listing-view.js';
import { createListing, getListing, setListingStatus, updateListing } from '../../market/listings.js';
import type { Actor, ListingAction, MarketOptions } from '../../market/listings.js';
import { searchListings } from '../../market/search.js';
import type { ListingRecord } from '../../store/records.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import {
  createListingRequest,
  errorBody,
  listingIdParams,
  listingPage,
  listingSearchQuery,
  listingView,
  updateListingRequest,
} from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['market'];
/** Listings are made and changed by publishers (and admins); worker keys have no business here at all. */
const PUBLISHER_ROLES = ['publisher', 'admin'] as const;

const NOT_VISIBLE =
  'A listing that is not public exists only for its owner, admins and its authorized_users: for anyone else this is a 404, exactly as for an id that does not exist.';

function actorOf(request: FastifyRequest): Actor {
  const key = principalOf(request);
  return { principal: key.principal, admin: key.role === 'admin' };
}

/** The marketplace's listings: publish, read, search, change, pause, resume, retire. */
export function registerMarketRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { store } = context.node;
  // One fee rate for the life of the process: every listing this server checks is checked against it.
  const options: MarketOptions = { feeBps: platformFeeBps() };

  const viewOne = async (actor: Actor, listing: ListingRecord, withDefinition = false): Promise<ListingView> =>
    (await listingViews(store.read, actor, [listing], { withDefinition }))[0]!;

  api.post('/market/listings', {
    config: { roles: PUBLISHER_ROLES },
    schema: {
      operationId: 'createListing',
      tags,
      summary: 'List a workflow version you own on the marketplace',
      description:
        "Prices are integer micro-units. A per_usage listing needs pricing.max_price and pricing.markup_bps of at least ⌈f·10⁴/(10⁴ − f)⌉ for the platform fee f (VERITY_PLATFORM_FEE_BPS); a listing whose runs can cost the buyer 0 needs a workflow with a finite max_cost_budget. verification_level defaults to the workflow's and may only be stricter.",
      body: createListingRequest,
      response: { 201: listingView, 400: errorBody, 403: errorBody, 404: errorBody },
    },
    handler: async (request, reply) => {
      const actor = actorOf(request);
      const listing = await createListing(store, actor, request.body, options);
      return reply.code(201).send(await viewOne(actor, listing));
    },
  });

  api.get('/market/listings', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'searchListings',
      tags,
      summary: 'Search and browse listings',
      description: `Active listings the caller may see (owners and admins also see their paused ones; retired ones never), matching every word of q in the title, description or tags (any case) and the exact tag, ordered by sort (rating: best first; executions: most first; price: cheapest first, a per_usage listing by its max_price and a subscription by its price; newest: newest first), paged by next_cursor. ${NOT_VISIBLE}`,
      querystring: listingSearchQuery,
      response: { 200: listingPage, 400: errorBody, 403: errorBody },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      const found = await searchListings(store.read, actor, request.query);
      return {
        listings: await listingViews(store.read, actor, found.listings),
        ...(found.nextCursor !== undefined && { next_cursor: found.nextCursor }),
      };
    },
  });

  api.get('/market/listings/:id', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getListing',
      tags,
      summary: 'One listing, with its derived rating and execution stats',
      description: `The workflow's definition is included when the listing shows it (show_definition), and always for its owner and admins; the JSON Schema of its inputs (inputs_schema) always, since a buyer needs it to run the listing. ${NOT_VISIBLE}`,
      params: listingIdParams,
      response: { 200: listingView, 403: errorBody, 404: errorBody },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      return viewOne(actor, await getListing(store.read, actor, request.params.id), true);
    },
  });

  api.patch('/market/listings/:id', {
    config: { roles: PUBLISHER_ROLES },
    schema: {
      operationId: 'updateListing',
      tags,
      summary: "Change a listing's text, tags, prices, access or workflow version (owner or admin)",
      description: `Runs and subscriptions already started keep the terms they began with. The derived fields (rating, rating_count, total_executions, success_rate, median_duration_ms) and the server's (id, owner, workflow_id, workflow_digest, status, created_at, updated_at) cannot be written: naming one is a 400. A retired listing cannot change (409). Another's listing is a 404. ${NOT_VISIBLE}`,
      params: listingIdParams,
      body: updateListingRequest,
      response: { 200: listingView, 400: errorBody, 403: errorBody, 404: errorBody, 409: errorBody },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      return viewOne(actor, await updateListing(store, actor, request.params.id, request.body, options));
    },
  });

  const actions: { action: ListingAction; operationId: string; summary: string }[] = [
    { action: 'pause', operationId: 'pauseListing', summary: 'Pause a listing: it leaves search; nothing new starts' },
    { action: 'resume', operationId: 'resumeListing', summary: 'Resume a paused listing' },
    { action: 'retire', operationId: 'retireListing', summary: 'Retire a listing, for good' },
  ];
  for (const { action, operationId, summary } of actions) {
    api.post(`/market/listings/:id/${action}`, {
      config: { roles: PUBLISHER_ROLES },
      schema: {
        operationId,
        tags,
        summary: `${summary} (owner or admin)`,
        description: `Asking for the state the listing is in changes nothing. A retired listing is final: pausing or resuming it is a 409. Another's listing is a 404. ${NOT_VISIBLE}`,
        params: listingIdParams,
        response: { 200: listingView, 400: errorBody, 403: errorBody, 404: errorBody, 409: errorBody },
      },
      handler: async (request) => {
        const actor = actorOf(request);
        return viewOne(actor, await setListingStatus(store, actor, request.params.id, action));
      },
    });
  }
}
