import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalNameProblem } from '../../auth/principal.js';
import { isLedgerAccount } from '../../ledger/accounts.js';
import { accountBalance, creditPrincipal, ledgerTransactionView, payoutPrincipal } from '../../ledger/operations.js';
import type { ManualMove } from '../../ledger/operations.js';
import { ROLES } from '../../store/records.js';
import { principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import {
  errorBody,
  ledgerBalance,
  ledgerCreditRequest,
  ledgerPayoutRequest,
  ledgerPrincipalQuery,
  ledgerTransaction,
  ledgerTransactionPage,
  ledgerTransactionsQuery,
} from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['ledger'];
const idempotencyHeader = z.object({ 'idempotency-key': z.string().min(1).max(200).optional() });

/**
 * The account a request reads: the caller's own, or (admins only) the one `?principal=` names. Another's
 * account is a 404 for everyone else, as another's execution is: nobody learns whether it exists.
 */
export function accountOf(request: FastifyRequest, asked: string | undefined): string {
  const key = principalOf(request);
  if (asked === undefined || asked === key.principal) return key.principal;
  if (key.role !== 'admin') throw new ApiError('not_found', `no ledger account ${asked} that this key may read`);
  if (!isLedgerAccount(asked)) {
    const message = principalNameProblem(asked) ?? `"${asked}" is not a ledger account`;
    throw new ApiError('validation', `query.principal: ${message}`, {
      issues: [{ field: 'query.principal', message }],
    });
  }
  return asked;
}

/** The move a credit or payout asks for; the Idempotency-Key header and the body's field must agree. */
function moveOf(
  body: { principal: string; amount: number; idempotency_key?: string | undefined; memo?: string | undefined },
  header: string | undefined,
): ManualMove {
  const problem = principalNameProblem(body.principal);
  if (problem !== undefined) {
    throw new ApiError('validation', `body.principal: ${problem}`, {
      issues: [{ field: 'body.principal', message: problem }],
    });
  }
  if (header !== undefined && body.idempotency_key !== undefined && header !== body.idempotency_key) {
    const message = 'the Idempotency-Key header and idempotency_key differ; send one of them';
    throw new ApiError('validation', `body.idempotency_key: ${message}`, {
      issues: [{ field: 'body.idempotency_key', message }],
    });
  }
  const idempotencyKey = header ?? body.idempotency_key;
  return {
    principal: body.principal,
    amount: body.amount,
    ...(idempotencyKey !== undefined && { idempotencyKey }),
    ...(body.memo !== undefined && { memo: body.memo }),
  };
}

/** The ledger: every principal reads its own balance and transactions; admins credit and pay out. */
export function registerLedgerRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { store } = context.node;

  api.get('/ledger/balance', {
    config: { roles: ROLES },
    schema: {
      operationId: 'getLedgerBalance',
      tags,
      summary: "The caller's balance in integer micro-units (admins: any account's, with ?principal=)",
      querystring: ledgerPrincipalQuery,
      response: { 200: ledgerBalance, 400: errorBody, 404: errorBody },
    },
    handler: async (request) => accountBalance(store, accountOf(request, request.query.principal)),
  });

  api.get('/ledger/transactions', {
    config: { roles: ROLES },
    schema: {
      operationId: 'listLedgerTransactions',
      tags,
      summary: "The caller's ledger transactions, newest first, each with the caller's own postings",
      description:
        "Admins may pass ?principal= for another account, and see every posting of its transactions; everyone else sees only the postings to its own account (a publisher paid by a run does not see the buyer's side).",
      querystring: ledgerTransactionsQuery,
      response: { 200: ledgerTransactionPage, 400: errorBody, 404: errorBody },
    },
    handler: async (request) => {
      const account = accountOf(request, request.query.principal);
      const admin = principalOf(request).role === 'admin';
      const page = await store.read.listLedgerTransactions(account, {
        limit: request.query.limit,
        ...(request.query.cursor !== undefined && { cursor: request.query.cursor }),
      });
      return {
        transactions: page.transactions.map((t) => ledgerTransactionView(t, admin ? undefined : account)),
        ...(page.cursor !== undefined && { next_cursor: page.cursor }),
      };
    },
  });

  api.post('/ledger/credit', {
    config: { roles: ['admin'] },
    schema: {
      operationId: 'creditLedgerAccount',
      tags,
      summary: "Credit a principal's available balance (a top-up from sys:external)",
      description:
        'Amounts are integer micro-units. The same Idempotency-Key (or idempotency_key) with the same content returns the transaction posted the first time and changes nothing; with other content it is a 409.',
      headers: idempotencyHeader,
      body: ledgerCreditRequest,
      response: { 201: ledgerTransaction, 400: errorBody, 409: errorBody },
    },
    handler: async (request, reply) => {
      const posted = await creditPrincipal(store, moveOf(request.body, request.headers['idempotency-key']));
      return reply.code(201).send(ledgerTransactionView(posted.transaction));
    },
  });

  api.post('/ledger/payout', {
    config: { roles: ['admin'] },
    schema: {
      operationId: 'payoutLedgerAccount',
      tags,
      summary: "Record a payout from a principal's available balance (to sys:external)",
      description:
        'Amounts are integer micro-units. More than the available balance is a 402 that says how much is missing, and nothing changes. Idempotent like a credit.',
      headers: idempotencyHeader,
      body: ledgerPayoutRequest,
      response: { 201: ledgerTransaction, 400: errorBody, 402: errorBody, 409: errorBody },
    },
    handler: async (request, reply) => {
      const posted = await payoutPrincipal(store, moveOf(request.body, request.headers['idempotency-key']));
      return reply.code(201).send(ledgerTransactionView(posted.transaction));
    },
  });
}
