import type { Address, Hex } from 'viem';
import type { SettlementPredicate } from '../attest/settlement/statement.js';
import { ChainError } from './errors.js';
import { idToBytes32, settlementMessage } from './typed-data.js';
import type { OrderMessage, SettlementMessage } from './typed-data.js';

type StatementPosting = SettlementPredicate['total'][number];

/** The fields of a settlement statement's predicate the on-chain settlement is made of. */
export type PayableStatement = Pick<
  SettlementPredicate,
  'executionId' | 'revision' | 'receiptDigest' | 'listingId' | 'buyer' | 'outcome' | 'total'
>;

export interface OnChainSettlement {
  /** What the attestor signs: cumulative payouts to the bound payees. */
  message: SettlementMessage;
  /** Payouts to accounts with no address: not paid on chain (they stay in the off-chain ledger). */
  unbound: StatementPosting[];
}

/**
 * The on-chain form of a settlement statement that moves the buyer's money: the positive postings of its
 * `total` (the full settlement as of this revision, so the payouts are cumulative, as the escrow expects),
 * each paid to the address `addressOf` gives its account. Throws ChainError('not_payable') for a failed or
 * unverified run (no escrowed money moves) and for postings the buyer does not fund alone, and
 * ChainError('order_mismatch') when the order is for another listing.
 */
export function settlementFromStatement(
  predicate: PayableStatement,
  order: OrderMessage,
  orderDigest: Hex,
  addressOf: (account: string) => Address | undefined,
  /** The receipt's result digest (from its zk statement, for an order that pins a zk verifier); absent: zero. */
  resultDigest?: string,
): OnChainSettlement {
  const context = { executionId: predicate.executionId, revision: predicate.revision };
  if (predicate.outcome !== 'completed' && predicate.outcome !== 'cancelled') {
    throw new ChainError(
      'not_payable',
      `execution ${predicate.executionId} settled ${predicate.outcome}: only completed and buyer-cancelled runs move escrowed money`,
      { context },
    );
  }
  if (idToBytes32(predicate.listingId) !== order.listingId) {
    throw new ChainError('order_mismatch', `the order is not for listing ${predicate.listingId}`, { context });
  }
  const credits = predicate.total.filter((p) => p.amount > 0);
  const debits = predicate.total.filter((p) => p.amount < 0);
  // The escrow holds only the buyer's money, so every credit must be the buyer's debit (a publisher carrying
  // part of a run would be paying from money that is not in escrow).
  const foreign = debits.find((p) => p.account !== predicate.buyer);
  if (foreign) {
    throw new ChainError(
      'not_payable',
      `${foreign.account} is debited (${foreign.why}): the escrow pays only from the buyer's deposit`,
      { context },
    );
  }
  const unbound: StatementPosting[] = [];
  const payouts: { payee: Address; amount: number }[] = [];
  for (const posting of credits) {
    const payee = addressOf(posting.account);
    if (payee === undefined) unbound.push(posting);
    else payouts.push({ payee, amount: posting.amount });
  }
  return {
    message: settlementMessage({
      executionId: predicate.executionId,
      revision: predicate.revision,
      receiptDigest: predicate.receiptDigest,
      resultDigest,
      order,
      orderDigest,
      payouts,
    }),
    unbound,
  };
}
