import { z } from 'zod';
import { STATEMENT_TYPE } from '../statement.js';
import type { Statement } from '../statement.js';
import { workerAccount } from '../counted.js';
import { POSTING_REASONS } from './posting.js';
import type { Posting } from './posting.js';
import { revisionDelta } from './revision.js';
import { SETTLEMENT_OUTCOMES, settle } from './settle.js';
import type { CountedAttestation, Settlement, SettlementOutcome } from './settle.js';
import { statementTermsSchema, termsFromStatement } from './terms.js';

/**
 * The settlement statement: what the coordinator signs each time money moves for an execution run through
 * a listing, and appends to the transparency log next to the receipt. It names the receipt it settles, the
 * terms frozen when the hold was placed, the amounts (C, P, F), the full settlement as it now stands and
 * the postings this revision made (the full settlement minus everything the execution's earlier
 * revisions posted). Every amount is recomputable offline from the receipt's counted attestations and the
 * terms (`recomputeSettlement`): the payer checks its charge without asking anyone.
 */
export const SETTLEMENT_PREDICATE_TYPE = 'https://verity.dev/attestation/settlement/v1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const amount = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const signedAmount = z.int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const account = z.string().min(1).max(200);

export const settlementPostingSchema = z.strictObject({
  account,
  amount: signedAmount,
  why: z.enum(POSTING_REASONS),
});

export const settlementPredicateSchema = z.strictObject({
  executionId: z.string().min(1),
  /** The receipt revision this settles: a retried execution settles again, once per revision. */
  revision: z.int().min(1),
  /** SHA-256 of the settled receipt's DSSE payload: its leaf in the transparency log. */
  receiptDigest: hex64,
  listingId: z.string().min(1),
  buyer: account,
  publisher: account,
  /** The level the execution ran at: at zk, all of C is one posting to sys:compute. */
  verificationLevel: z.enum(['basic', 'full', 'zk']),
  outcome: z.enum(SETTLEMENT_OUTCOMES),
  terms: statementTermsSchema,
  /** The most the buyer said it would pay for a per_usage run, or null. */
  buyerMaxPrice: amount.nullable(),
  /** A subscription run inside its period's included executions (its price is 0). */
  includedRun: z.boolean(),
  /** C: the sum of the counted attested costs. */
  computeCost: amount,
  /** What the buyer pays: P when completed, C when cancelled, 0 otherwise. */
  price: amount,
  /** F: the platform fee. */
  fee: amount,
  /** The full settlement of the execution as of this revision. */
  total: z.array(settlementPostingSchema).max(10_000),
  /** What this revision posted: `total` minus the postings of every earlier revision. */
  postings: z.array(settlementPostingSchema).max(10_000),
  settledAt: z.iso.datetime({ offset: false }),
});

export type SettlementPredicate = z.output<typeof settlementPredicateSchema>;

export function settlementStatement(predicate: SettlementPredicate): Statement<SettlementPredicate> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: `execution/${predicate.executionId}/settlement`, digest: { sha256: predicate.receiptDigest } }],
    predicateType: SETTLEMENT_PREDICATE_TYPE,
    predicate,
  };
}

/** A receipt status as a settlement outcome, for a receipt that verifies (`unverified` otherwise). */
export function outcomeOfStatus(status: string): SettlementOutcome {
  if (status === 'completed') return 'completed';
  if (status === 'cancelled') return 'cancelled';
  return 'failed';
}

/** What a settlement is computed from: the receipt's side and the run's frozen side. */
export interface SettlementBasis {
  outcome: SettlementOutcome;
  predicate: Pick<
    SettlementPredicate,
    'terms' | 'buyer' | 'publisher' | 'buyerMaxPrice' | 'includedRun' | 'verificationLevel'
  >;
  /** The receipt's counted attestations, each with the principal of the worker that made it. */
  counted: readonly { cost: number; principal: string }[];
}

/** The full settlement the statement's fields and the receipt's attestations call for. Throws SettlementError. */
export function recomputeSettlement(basis: SettlementBasis): Settlement {
  const { predicate } = basis;
  const attestations: CountedAttestation[] = basis.counted.map((a) => ({
    // A remote worker's principal, or sys:compute for a node's own (src/attest/counted.ts).
    account: workerAccount(a.principal),
    cost: a.cost,
  }));
  return settle(basis.outcome, {
    terms: termsFromStatement(predicate.terms),
    buyer: predicate.buyer,
    publisher: predicate.publisher,
    attestations,
    level: predicate.verificationLevel,
    buyerMaxPrice: predicate.buyerMaxPrice ?? undefined,
    includedRun: predicate.includedRun,
  });
}

/** Postings as one comparable string (they are normalized: merged, sorted, no zeros). */
export function postingsKey(postings: readonly Posting[]): string {
  return JSON.stringify(postings.map((p) => [p.account, p.why, p.amount]));
}

/**
 * The postings a revision makes: its full settlement minus what the earlier revisions' statements posted
 * (src/attest/settlement/revision.ts). The market posts exactly these; the verifier recomputes them.
 */
export function revisionPostings(earlier: readonly { postings: readonly Posting[] }[], total: readonly Posting[]) {
  return revisionDelta(
    earlier.flatMap((s) => s.postings),
    total,
  );
}
