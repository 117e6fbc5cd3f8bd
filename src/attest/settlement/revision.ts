import { SettlementError } from './errors.js';
import { POSTING_REASONS, normalizePostings } from './posting.js';
import type { Posting } from './posting.js';

function checkPosting(p: Posting, what: string): bigint {
  if (
    !Number.isSafeInteger(p.amount) ||
    typeof p.account !== 'string' ||
    p.account.length === 0 ||
    !POSTING_REASONS.includes(p.why)
  ) {
    throw new SettlementError(
      'invalid_amount',
      `${what}: a posting needs an account, a safe integer amount and a known why`,
      {
        context: { field: what },
      },
    );
  }
  return BigInt(p.amount);
}

/**
 * What a new revision of a settled execution posts (after `verity retry`): per (account, why), the full
 * settlement as it should now be minus everything posted for the execution before. Both sides must sum to
 * zero, so the delta does too; the delta of identical sets is empty. Adding the delta to what was posted
 * gives the full settlement exactly. Posting each revision once is the ledger's idempotency key
 * (execution, revision), not this function's concern.
 */
export function revisionDelta(previouslyPosted: readonly Posting[], fullSettlementNow: readonly Posting[]): Posting[] {
  const full = fullSettlementNow.map((p, i) => ({
    account: p.account,
    amount: checkPosting(p, `full[${i}]`),
    why: p.why,
  }));
  const previous = previouslyPosted.map((p, i) => ({
    account: p.account,
    amount: -checkPosting(p, `previous[${i}]`),
    why: p.why,
  }));
  // Each side on its own, so that two unbalanced sets cannot hide each other in the difference.
  normalizePostings(full);
  normalizePostings(previous);
  return normalizePostings([...full, ...previous]);
}
