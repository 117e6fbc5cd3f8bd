/**
 * The marketplace's money arithmetic: pure, exact, and shared by the market (which posts it) and the
 * verifier (which recomputes every amount of a settlement statement offline from the receipt's attested
 * costs and the frozen terms). Nothing here does I/O or reads a clock; amounts are integer micro-units,
 * safe integers at the edges, BigInt inside (C·m can pass 2^53); ⌊x⌋ is BigInt division on x ≥ 0.
 *
 * Terms (terms.ts), frozen when the hold is placed: model, E = execution_price, m = markup_bps, max_price,
 * subscription_price, included_executions, over_quota, f = fee_bps (0..10⁴). A per_usage listing needs a
 * max_price and m ≥ ⌈f·10⁴/(10⁴ − f)⌉, or the fee on the marked-up price exceeds the markup and the
 * publisher loses on every run; at f = 10⁴ no per_usage listing is possible.
 *
 * Price (price.ts). C = Σ attested cost over the attestations the receipt commits to that count (for a
 * redundant step, the agreeing replicas).
 * - P = E for per_execution and for a subscription run past its quota (over_quota `charge`; `refuse`
 *   does not start it: quotaDecision); P = 0 for an included subscription run;
 *   P = min(C + ⌊C·m/10⁴⌋, cap) for per_usage, cap = min(listing max_price, buyer max_price).
 *   A fixed price above the buyer's max_price is refused, and so is a buyer max_price of 0 on a paid
 *   per_usage listing (it would make the run free while the publisher carries C).
 * - F = ⌊P·f/10⁴⌋.
 * - Compute budget = cap − ⌊cap·f/10⁴⌋ (cap = E for fixed prices); when P is 0 whatever C is, the
 *   workflow's max_cost_budget, which must then be finite (0 is "no limit" to the engine). A finite
 *   workflow budget below it applies too. With C ≤ budget the publisher's part P − F − C is ≥ 0 whenever
 *   P > 0 (capped: cap − F − C ≥ cap − ⌊cap·f/10⁴⌋ − C ≥ 0; uncapped: ⌊C·m/10⁴⌋ ≥ F by the bound on m).
 * - Hold = max(price ceiling, budget): a completed run costs P, a cancelled one C, neither more.
 *
 * Postings (settle.ts), by outcome; workers always get their attested share (c_i, summing to C):
 * - completed (receipt verifies): buyer −P, worker i +c_i, sys:platform +F, publisher +(P − F − C).
 * - failed (failed, timed out, over budget): publisher −C, workers +C; buyer 0, no fee.
 * - cancelled by the buyer: buyer −C, workers +C.
 * - unverified (receipt does not verify against the coordinator key): sys:platform −C, workers +C.
 * A remote worker's share goes to the principal that registered its key, an in-process worker's to
 * sys:compute; at level zk all of C is one posting to sys:compute (per-worker lines would reveal who ran
 * what). Postings merge per (account, why), zeros drop, order is account then why, and the sum is 0.
 *
 * What a settlement statement must carry so that the verifier can call `settle` again and compare: the
 * outcome, the terms (camelCase, termsToStatement), the buyer's max_price (or null) and whether the run was
 * an included subscription run (both change P), the level, the buyer and publisher, and for each counted
 * attestation the account it paid (its cost comes from the receipt, which must commit to it). At level zk
 * the accounts do not matter: all of C goes to sys:compute.
 *
 * Revisions (revision.ts): `verity retry` re-settles at the original terms; revision r posts
 * revisionDelta(everything posted before, full settlement now), so the postings of all revisions add up to
 * the latest full settlement.
 */

export { COMPUTE_ACCOUNT, EXTERNAL_ACCOUNT, PLATFORM_ACCOUNT, SYSTEM_ACCOUNTS } from './accounts.js';
export type { SystemAccount } from './accounts.js';
export { SettlementError } from './errors.js';
export type { SettlementErrorCode } from './errors.js';
export {
  OVER_QUOTA_POLICIES,
  PRICING_MODELS,
  TERMS_FIELD_NAMES,
  checkTerms,
  minMarkupBps,
  settlementTermsSchema,
  statementTermsSchema,
  termsFromStatement,
  termsToStatement,
} from './terms.js';
export type { OverQuotaPolicy, PricingModel, SettlementTerms, StatementTerms } from './terms.js';
export { computeBudget, feeOf, holdOf, listingCanBeFree, priceOf, quotaDecision } from './price.js';
export type { BudgetInput, PriceInput, QuotaDecision, RunPricing } from './price.js';
export { POSTING_REASONS, normalizePostings } from './posting.js';
export type { Posting, PostingReason } from './posting.js';
export { SETTLEMENT_OUTCOMES, settle, settlementPostings } from './settle.js';
export type { CountedAttestation, Settlement, SettlementInput, SettlementOutcome } from './settle.js';
export { revisionDelta } from './revision.js';
