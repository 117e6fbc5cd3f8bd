import type { VerificationLevel } from '../verify/report.js';
import { COMPUTE_ACCOUNT, PLATFORM_ACCOUNT } from './accounts.js';
import { amountOf, toSafe } from './amounts.js';
import { SettlementError } from './errors.js';
import { normalizePostings } from './posting.js';
import type { Posting, PostingReason } from './posting.js';
import { feeOf, priceOf } from './price.js';
import { checkTerms } from './terms.js';
import type { SettlementTerms } from './terms.js';

export const SETTLEMENT_OUTCOMES = ['completed', 'failed', 'cancelled', 'unverified'] as const;
/**
 * completed: the receipt was issued and verifies. failed: failed, timed out or over budget. cancelled: by
 * the buyer. unverified: a receipt that does not verify against the coordinator's key.
 */
export type SettlementOutcome = (typeof SETTLEMENT_OUTCOMES)[number];

/** One attestation the receipt commits to that counts, and whom its cost pays. */
export interface CountedAttestation {
  /** The principal of the key that registered the remote worker, or `sys:compute` for in-process ones. */
  account: string;
  /** Its attested cost, integer micro-units. */
  cost: number;
}

export interface SettlementInput {
  terms: SettlementTerms;
  buyer: string;
  publisher: string;
  /** The counted attestations: for a redundant step, the replicas that agreed. */
  attestations: readonly CountedAttestation[];
  level: VerificationLevel;
  buyerMaxPrice?: number | undefined;
  includedRun?: boolean | undefined;
}

/** The amounts a settlement statement carries, all recomputable from the receipt and the terms. */
export interface Settlement {
  outcome: SettlementOutcome;
  /** C. */
  computeCost: number;
  /** What the buyer pays: P when completed, C when cancelled, 0 otherwise. */
  price: number;
  /** F: ⌊P·f/10⁴⌋ when completed, 0 otherwise (no fee on failures). */
  fee: number;
  /** Sorted by account then why, merged, without zeros, summing to zero. */
  postings: Posting[];
}

function checkAccount(account: string, what: string): void {
  if (typeof account !== 'string' || account.length === 0) {
    throw new SettlementError('invalid_amount', `${what} must name an account`, { context: { field: what } });
  }
}

/**
 * The full settlement of an execution for an outcome: C from the counted attestations, then the rules of
 * src/attest/settlement/index.ts. Workers are paid C in every outcome (they did the work they signed); who
 * pays it is what the outcome decides.
 */
export function settle(outcome: SettlementOutcome, input: SettlementInput): Settlement {
  checkTerms(input.terms);
  checkAccount(input.buyer, 'buyer');
  checkAccount(input.publisher, 'publisher');
  let c = 0n;
  const lines: { account: string; amount: bigint; why: PostingReason }[] = [];
  for (const [i, a] of input.attestations.entries()) {
    checkAccount(a.account, `attestations[${i}].account`);
    const cost = amountOf(a.cost, `attestations[${i}].cost`);
    c += cost;
    // At level zk the statement must not reveal who ran what: one posting to sys:compute for all of C.
    lines.push({ account: input.level === 'zk' ? COMPUTE_ACCOUNT : a.account, amount: cost, why: 'compute' });
  }
  const computeCost = toSafe(c, 'computeCost');
  let price = 0n;
  let fee = 0n;
  switch (outcome) {
    case 'completed': {
      price = BigInt(priceOf(input.terms, { ...input, computeCost }));
      fee = BigInt(feeOf(Number(price), input.terms.fee_bps));
      lines.push({ account: input.buyer, amount: -price, why: 'price' });
      lines.push({ account: PLATFORM_ACCOUNT, amount: fee, why: 'fee' });
      lines.push({ account: input.publisher, amount: price - fee - c, why: 'proceeds' });
      break;
    }
    case 'failed':
      lines.push({ account: input.publisher, amount: -c, why: 'failed_run' });
      break;
    case 'cancelled':
      // Else cancelling before the last step would yield free intermediate outputs.
      price = c;
      lines.push({ account: input.buyer, amount: -c, why: 'cancelled_run' });
      break;
    case 'unverified':
      // The coordinator signed something that does not verify: its operator pays, never the buyer.
      lines.push({ account: PLATFORM_ACCOUNT, amount: -c, why: 'unverified_receipt' });
      break;
    default:
      throw new SettlementError('invalid_amount', `unknown outcome ${String(outcome)}`, {
        context: { field: 'outcome' },
      });
  }
  return {
    outcome,
    computeCost,
    price: toSafe(price, 'price'),
    fee: toSafe(fee, 'fee'),
    postings: normalizePostings(lines),
  };
}

/** The postings alone of `settle`. */
export function settlementPostings(outcome: SettlementOutcome, input: SettlementInput): Posting[] {
  return settle(outcome, input).postings;
}
