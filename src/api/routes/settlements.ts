import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { settlementView } from '../../market/settlement-view.js';
import { ROLES } from '../../store/records.js';
import { ownExecution } from '../access.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import { errorBody, executionSettlements, idParam, ledgerTransactionsQuery, settlementPage } from '../schemas.js';
import type { ApiContext } from '../server.js';
import { accountOf } from './ledger.js';

/**
 * Reading settlements: the buyer reads its execution's statements in full (to check the charge offline);
 * a payee (publisher, worker) reads the ones that paid it, cut to what concerns it (src/market/settlement-view.ts).
 */
export function registerSettlementRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { store } = context.node;

  api.get('/executions/:id/settlements', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'listExecutionSettlements',
      tags: ['executions'],
      summary: "An execution's settlement statements, decoded, in revision order (its buyer, or an admin)",
      description:
        "One statement per settled revision (a retry settles again: its postings are the difference). Each carries the signed envelope, which the receipt bundle also carries and `verity verify` checks. Another's execution is a 404, as one that does not exist; an execution that did not run through a listing has none.",
      params: idParam,
      response: { 200: executionSettlements, 404: errorBody },
    },
    handler: async (request) => {
      const execution = await ownExecution(request, context, request.params.id);
      const records = await store.read.listMarketSettlements(execution.id);
      return { settlements: records.map((r) => settlementView(r, { kind: 'full' })) };
    },
  });

  api.get('/ledger/settlements', {
    config: { roles: ROLES },
    schema: {
      operationId: 'listLedgerSettlements',
      tags: ['ledger'],
      summary: "The settlement statements that posted to the caller's account, newest first",
      description:
        "For a publisher or a worker: the statements that paid (or charged) it, without the buyer's side: its own postings, the execution id and revision as references, the listing, the outcome and the log index; the publisher of the listing also sees C, the price and the fee. Admins may pass ?principal= and see every statement in full.",
      querystring: ledgerTransactionsQuery,
      response: { 200: settlementPage, 400: errorBody, 404: errorBody },
    },
    handler: async (request) => {
      const account = accountOf(request, request.query.principal);
      const admin = principalOf(request).role === 'admin';
      const page = await store.read.listSettlementsPostingTo(account, {
        limit: request.query.limit,
        ...(request.query.cursor !== undefined && { cursor: request.query.cursor }),
      });
      return {
        settlements: page.settlements.map((r) =>
          settlementView(r, admin ? { kind: 'full' } : { kind: 'payee', account }),
        ),
        ...(page.cursor !== undefined && { next_cursor: page.cursor }),
      };
    },
  });
}
