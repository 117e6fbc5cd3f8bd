import { v7 as uuidv7 } from 'uuid';
import { principalNameProblem } from '../auth/principal.js';
import type { LedgerTransactionRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { LedgerError } from './errors.js';
import { creditOf, payoutOf, postTransaction } from './ledger.js';
import type { Posted } from './ledger.js';

/**
 * What an operator does to the ledger by hand, through the API's admin routes or the CLI on a data
 * directory: a top-up (credit) and a withdrawal (payout) of a principal's available balance. Both go
 * through postTransaction, in a store transaction of their own.
 */

export interface ManualMove {
  principal: string;
  /** Integer micro-units, > 0. */
  amount: number;
  /** The caller's key: the same key with the same content is a replay; absent, every call is a new one. */
  idempotencyKey?: string;
  /** The postings' reason. Default: the kind. */
  memo?: string;
}

/**
 * Keys that operators choose live in a namespace of their own, so that they never collide with the keys the
 * marketplace derives from executions and listings.
 */
function ledgerKey(idempotencyKey: string | undefined): string {
  return `manual:${idempotencyKey ?? uuidv7()}`;
}

function checkPrincipal(principal: string): void {
  const problem = principalNameProblem(principal);
  if (problem !== undefined) {
    throw new LedgerError('invalid_transaction', problem, { context: { field: 'principal' } });
  }
}

/** Credits a principal's available balance from `sys:external` (money paid in). */
export function creditPrincipal(store: Store, move: ManualMove): Promise<Posted> {
  checkPrincipal(move.principal);
  const transaction = creditOf(move.principal, move.amount, ledgerKey(move.idempotencyKey), {
    ...(move.memo !== undefined && { reason: move.memo }),
  });
  return store.transaction((tx) => postTransaction(tx, transaction));
}

/** Pays out of a principal's available balance to `sys:external`; LedgerError insufficient_funds if short. */
export function payoutPrincipal(store: Store, move: ManualMove): Promise<Posted> {
  checkPrincipal(move.principal);
  const transaction = payoutOf(move.principal, move.amount, ledgerKey(move.idempotencyKey), {
    ...(move.memo !== undefined && { reason: move.memo }),
  });
  return store.transaction((tx) => postTransaction(tx, transaction));
}

/** A transaction as the API and the CLI show it; `account`, when given, keeps only its postings. */
export function ledgerTransactionView(transaction: LedgerTransactionRecord, account?: string) {
  return {
    id: transaction.id,
    kind: transaction.kind,
    created_at: new Date(transaction.createdAt).toISOString(),
    ...(transaction.executionId !== undefined && { execution_id: transaction.executionId }),
    ...(transaction.revision !== undefined && { revision: transaction.revision }),
    ...(transaction.listingId !== undefined && { listing_id: transaction.listingId }),
    postings: transaction.postings
      .filter((p) => account === undefined || p.account === account)
      .map((p) => ({ account: p.account, bucket: p.bucket, amount: p.amount, reason: p.reason })),
  };
}

export type LedgerTransactionView = ReturnType<typeof ledgerTransactionView>;

/** An account's balance (a principal's, or a system account's for an operator), as the API and the CLI show it. */
export async function accountBalance(store: Store, account: string) {
  const balance = await store.read.getLedgerBalance(account);
  return { principal: account, available: balance.available, held: balance.held };
}
