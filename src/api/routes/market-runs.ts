import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { startAndAnswer } from '../start-execution.js';
import { platformFeeBps } from '../../market/fee.js';
import { runThroughListing } from '../../market/runs.js';
import { checkInputBlobs } from '../access.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import { errorBody, executionView as executionViewSchema, listingExecuteRequest, listingIdParams } from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['market'];

/** Buying: running a listing's workflow, with a hold on the buyer's balance, settled from its receipt. */
export function registerMarketRunRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { node } = context;
  const feeBps = platformFeeBps();

  api.post('/market/listings/:id/execute', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'executeListing',
      tags,
      summary: "Run a listing's workflow: hold the most it can cost, run it, settle it from its receipt",
      description:
        "Places a hold on your balance for the most the run can cost and starts the execution, in one transaction: 402 insufficient_funds (saying how much is missing) starts nothing. The workflow version, budget and verification level are the listing's. When the execution ends, its settlement is computed from the receipt's attested costs and the terms frozen now, signed, logged and carried in the receipt bundle (docs/marketplace.md). The same Idempotency-Key returns the same execution and the same hold.",
      params: listingIdParams,
      headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
      body: listingExecuteRequest,
      response: {
        202: executionViewSchema,
        400: errorBody,
        402: errorBody,
        404: errorBody,
        409: errorBody,
        429: errorBody,
      },
    },
    handler: async (request, reply) => {
      const key = principalOf(request);
      const actor = { principal: key.principal, admin: key.role === 'admin' };
      const idempotencyKey = request.headers['idempotency-key'];
      const inputs = request.body.inputs === undefined ? {} : request.body.inputs;
      await checkInputBlobs(request, context, inputs);
      const start = () =>
        runThroughListing(
          { reads: node.store.read, engine: node.engine, feeBps, attests: node.options.attest },
          actor,
          {
            listingId: request.params.id,
            inputs,
            ...(request.body.max_price !== undefined && { maxPrice: request.body.max_price }),
            ...(idempotencyKey !== undefined && { idempotencyKey }),
          },
        );
      return startAndAnswer(context, reply, key.principal, idempotencyKey, start);
    },
  });
}
