import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { platformFeeBps } from '../../market/fee.js';
import type { Actor } from '../../market/listings.js';
import { listRatings, rateListing, ratingView } from '../../market/ratings.js';
import { listSubscriptions, subscribe, subscriptionView, unsubscribe } from '../../market/subscriptions.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import {
  errorBody,
  listingIdParams,
  ratingPage,
  ratingSchema,
  rateListingRequest,
  ratingsQuery,
  subscriptionList,
  subscriptionSchema,
  subscriptionsQuery,
} from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['market'];
function actorOf(request: FastifyRequest): Actor {
  const key = principalOf(request);
  return { principal: key.principal, admin: key.role === 'admin' };
}

/** Subscriptions to subscription listings, and ratings of listings by buyers whose runs completed. */
export function registerMarketSubscriptionRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { store } = context.node;
  // One fee rate for the life of the process, as for runs: frozen into each subscription's terms.
  const feeBps = platformFeeBps();

  api.post('/market/listings/:id/subscribe', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'subscribeListing',
      tags,
      summary: 'Subscribe to a subscription listing for one period of 30 days, charged at once',
      description:
        "Charges the listing's subscription_price now, from your available balance to the publisher less the platform fee (to sys:platform), in the transaction that records the subscription: the one charge without a receipt (it buys the period's included runs, not a run). 402 insufficient_funds records nothing. The period is 30 × 86,400 s and never renews; subscribing while a period runs is a 409 subscription_active saying when it ends. The subscription keeps the listing's terms as they are now.",
      params: listingIdParams,
      response: { 201: subscriptionSchema, 402: errorBody, 403: errorBody, 404: errorBody, 409: errorBody },
    },
    handler: async (request, reply) => {
      const created = await subscribe(store, actorOf(request), request.params.id, { feeBps });
      return reply.code(201).send(subscriptionView(created));
    },
  });

  api.post('/market/listings/:id/unsubscribe', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'unsubscribeListing',
      tags,
      summary: 'Unsubscribe: the period still runs to its end, and nothing is refunded or renewed',
      description:
        'Sets cancelled_at; the included runs stay usable until period_end. Asking again changes nothing. 404 when you have no subscription to the listing in its period.',
      params: listingIdParams,
      response: { 200: subscriptionSchema, 403: errorBody, 404: errorBody },
    },
    handler: async (request) => subscriptionView(await unsubscribe(store, actorOf(request), request.params.id)),
  });

  api.get('/market/subscriptions', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'listSubscriptions',
      tags,
      summary: "The caller's subscriptions, newest first (admins: anyone's, with ?principal=)",
      querystring: subscriptionsQuery,
      response: {
        200: subscriptionList,
        400: errorBody,
        403: errorBody,
        404: errorBody,
      },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      const asked = request.query.principal;
      if (asked !== undefined && asked !== actor.principal && !actor.admin) {
        // As for balances: another's subscriptions are not found, so nobody learns who subscribes to what.
        throw new ApiError('not_found', `no subscriptions of ${asked} that this key may read`);
      }
      const found = await listSubscriptions(store.read, asked ?? actor.principal, request.query.limit ?? 100);
      const now = Date.now();
      return { subscriptions: found.map((s) => subscriptionView(s, now)) };
    },
  });

  api.post('/market/listings/:id/ratings', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'rateListing',
      tags,
      summary: 'Rate a listing you ran: 1–5 stars and an optional review, replacing your earlier rating',
      description:
        "Only a buyer whose execution of this listing settled completed may rate it, naming that execution (execution_id); never the listing's publisher (403). An execution that is not your run of this listing is a 404, as is a listing you may not see. One rating per buyer per listing: a new one replaces the old.",
      params: listingIdParams,
      body: rateListingRequest,
      response: { 201: ratingSchema, 400: errorBody, 403: errorBody, 404: errorBody },
    },
    handler: async (request, reply) => {
      const { execution_id: executionId, stars, review } = request.body;
      const rating = await rateListing(store, actorOf(request), request.params.id, {
        executionId,
        stars,
        ...(review !== undefined && { review }),
      });
      return reply.code(201).send(ratingView(rating));
    },
  });

  api.get('/market/listings/:id/ratings', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'listRatings',
      tags,
      summary: "A listing's ratings and reviews, newest first",
      description:
        "The average and the count are on the listing itself (rating, rating_count). The publisher's own rating never shows. Paged by next_cursor.",
      params: listingIdParams,
      querystring: ratingsQuery,
      response: {
        200: ratingPage,
        400: errorBody,
        403: errorBody,
        404: errorBody,
      },
    },
    handler: async (request) => {
      const page = await listRatings(store.read, actorOf(request), request.params.id, {
        ...(request.query.limit !== undefined && { limit: request.query.limit }),
        ...(request.query.cursor !== undefined && { cursor: request.query.cursor }),
      });
      return {
        ratings: page.ratings.map(ratingView),
        ...(page.nextCursor !== undefined && { next_cursor: page.nextCursor }),
      };
    },
  });
}
