import type { Address, Hex } from 'viem';
import { SETTLEMENT_PREDICATE_TYPE, settlementPredicateSchema } from '../attest/settlement/statement.js';
import { readStatement } from '../attest/statement.js';
import { postTransaction } from '../ledger/ledger.js';
import type { Posted } from '../ledger/ledger.js';
import { EXTERNAL_ACCOUNT } from '../ledger/accounts.js';
import type { LedgerPosting } from '../store/records.js';
import type { Store } from '../store/store.js';
import { ChainError } from './errors.js';
import type { ChainPayment } from './payment-logs.js';
import { idToBytes32, sha256ToBytes32 } from './typed-data.js';

/**
 * The ledger's side of a payment the escrow made. The marketplace already settled the run in the ledger
 * (the buyer −P, the payees +their shares); when the escrow then pays payees from the buyer's deposit, the
 * buyer paid them directly, in tokens. So the payment moves, in the ledger, each payee's amount from the
 * payee back to the buyer: the buyer is charged once (tokens for what the chain paid, ledger money for the
 * rest), and each payee is paid once (tokens for what the chain paid, ledger credit for the rest). One token
 * unit is one micro-unit. Posted once per (chain, transaction, Settled event), whoever reports it.
 */
export interface ChainPaymentInput {
  chainId: number;
  transactionHash: Hex;
  executionId: string;
  payment: ChainPayment;
  /** The tokens the deployment accepts as money: a payment in any other is not recorded. */
  paymentTokens: readonly Address[];
  /** The address a ledger account is bound to on this chain now. */
  addressOf: (account: string) => Promise<Address | undefined>;
  now?: number;
}

export async function recordChainPayment(store: Store, input: ChainPaymentInput): Promise<Posted> {
  const { payment, executionId } = input;
  const context = { executionId, revision: Number(payment.revision), transactionHash: input.transactionHash };
  if (payment.executionId !== idToBytes32(executionId)) {
    throw new ChainError(
      'payment_mismatch',
      `the settlement at log ${payment.logIndex} is not for execution ${executionId}`,
      {
        context,
      },
    );
  }
  if (
    payment.token === undefined ||
    !input.paymentTokens.some((t) => t.toLowerCase() === payment.token!.toLowerCase())
  ) {
    throw new ChainError(
      'payment_mismatch',
      `the settlement at log ${payment.logIndex} paid in ${payment.token ?? 'no token'}, which this deployment does not take as money (its payment tokens: ${input.paymentTokens.join(', ')})`,
      { context },
    );
  }
  const record = (await store.read.listMarketSettlements(executionId)).find(
    (r) => BigInt(r.revision) === payment.revision,
  );
  if (!record) {
    throw new ChainError(
      'payment_mismatch',
      `execution ${executionId} has no settlement statement of revision ${payment.revision}`,
      {
        context,
      },
    );
  }
  const statement = readStatement(record.envelope, SETTLEMENT_PREDICATE_TYPE, settlementPredicateSchema).predicate;
  if (sha256ToBytes32(statement.receiptDigest) !== payment.receiptDigest.toLowerCase()) {
    throw new ChainError(
      'payment_mismatch',
      `the settlement paid receipt ${payment.receiptDigest}, not the one revision ${payment.revision} names`,
      {
        context,
      },
    );
  }
  // Each address the escrow paid is the bound address of one account the statement credits.
  const credited = [...new Set(statement.total.filter((p) => p.amount > 0).map((p) => p.account))];
  const accountAt = new Map<string, string>();
  for (const account of credited) {
    const address = await input.addressOf(account);
    if (address !== undefined) accountAt.set(address.toLowerCase(), account);
  }
  const postings: LedgerPosting[] = [];
  for (const transfer of payment.transfers) {
    const account = accountAt.get(transfer.to.toLowerCase());
    if (account === undefined) {
      throw new ChainError(
        'payment_mismatch',
        `the escrow paid ${transfer.to}, which no account of revision ${payment.revision}'s statement is bound to`,
        { context },
      );
    }
    postings.push({ account, bucket: 'available', amount: -safe(transfer.amount), reason: 'paid out on chain' });
  }
  if (postings.length === 0)
    throw new ChainError('payment_mismatch', `the settlement at log ${payment.logIndex} paid nothing`, { context });
  postings.push({
    account: statement.buyer,
    bucket: 'available',
    amount: safe(payment.paidNow),
    reason: 'paid on chain',
  });
  const payees = new Set(postings.slice(0, -1).map((p) => p.account));
  const now = input.now ?? Date.now();
  return store.transaction(async (tx) => {
    const posted = await postTransaction(
      tx,
      {
        idempotencyKey: `chain:${input.chainId}:${input.transactionHash.toLowerCase()}:${payment.logIndex}`,
        kind: 'chain_payment',
        executionId,
        revision: Number(payment.revision),
        postings,
      },
      {
        now,
        // A payee that withdrew its ledger credit before the chain paid it too owes it back: its balance goes
        // below zero, which blocks its withdrawals until it is positive again.
        allowNegative: (account) => account === EXTERNAL_ACCOUNT || payees.has(account),
      },
    );
    if (!posted.replayed) {
      tx.appendEvents([
        {
          executionId,
          at: now,
          type: 'chain.paid',
          actor: 'coordinator',
          data: {
            chainId: input.chainId,
            transactionHash: input.transactionHash,
            revision: Number(payment.revision),
            paidNow: safe(payment.paidNow),
            token: payment.token,
          },
        },
      ]);
    }
    return posted;
  });
}

function safe(amount: bigint): number {
  if (amount > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ChainError('payment_mismatch', `${amount} token units is beyond what the ledger holds in one posting`);
  }
  return Number(amount);
}
