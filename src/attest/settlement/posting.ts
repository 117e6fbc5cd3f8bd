import { toSafe } from './amounts.js';
import { SettlementError } from './errors.js';

/** Why money moves, one word per rule of the settlement (the statement shows it next to each amount). */
export const POSTING_REASONS = [
  /** Completed: the buyer pays P. */
  'price',
  /** A worker (or sys:compute) is paid its attested share of C, whatever the outcome. */
  'compute',
  /** Completed: the platform's fee F. */
  'fee',
  /** Completed: the publisher's part P − F − C. */
  'proceeds',
  /** Failed, timed out or over budget: the publisher carries C. */
  'failed_run',
  /** Cancelled by the buyer: the buyer pays C. */
  'cancelled_run',
  /** The receipt does not verify: the platform pays C. */
  'unverified_receipt',
] as const;
export type PostingReason = (typeof POSTING_REASONS)[number];

/** One line of a settlement: a signed amount of micro-units to or from an account. */
export interface Posting {
  account: string;
  amount: number;
  why: PostingReason;
}

const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Merges postings per (account, why), drops the zeros, sorts by account then why (by code unit, not
 * locale, so every machine orders alike) and checks, in BigInt, that they sum to zero.
 */
export function normalizePostings(
  lines: readonly { account: string; amount: bigint; why: PostingReason }[],
): Posting[] {
  const merged = new Map<string, { account: string; amount: bigint; why: PostingReason }>();
  let total = 0n;
  for (const line of lines) {
    total += line.amount;
    const key = JSON.stringify([line.account, line.why]);
    const seen = merged.get(key);
    if (seen) seen.amount += line.amount;
    else merged.set(key, { ...line });
  }
  if (total !== 0n) {
    throw new SettlementError('unbalanced', `postings sum to ${total}, not 0: nothing may be posted from them`);
  }
  return [...merged.values()]
    .filter((p) => p.amount !== 0n)
    .sort((a, b) => order(a.account, b.account) || order(a.why, b.why))
    .map((p) => ({ account: p.account, amount: toSafe(p.amount, `posting to ${p.account}`), why: p.why }));
}
