import { z } from 'zod';
import { BPS, amountOf, divCeil } from './amounts.js';
import { SettlementError } from './errors.js';

/**
 * The terms frozen when a hold is placed: the listing's pricing and the platform fee rate in force then.
 * Every execution settles, and every revision re-settles, at these terms, so they travel whole in the
 * settlement statement and the verifier recomputes from them.
 *
 * Two spellings, one meaning. The arithmetic takes the plan's snake_case (`SettlementTerms`): that is what
 * the listing, the store and the API speak, and what the market freezes. The signed settlement statement is
 * camelCase like the receipt (`StatementTerms`). The mapping is `TERMS_FIELD_NAMES`, total and one-to-one,
 * applied by `termsToStatement` / `termsFromStatement` at that single boundary, rather than a second copy
 * of the arithmetic in the other spelling.
 */

export const PRICING_MODELS = ['per_execution', 'per_usage', 'subscription'] as const;
export type PricingModel = (typeof PRICING_MODELS)[number];

export const OVER_QUOTA_POLICIES = ['charge', 'refuse'] as const;
export type OverQuotaPolicy = (typeof OVER_QUOTA_POLICIES)[number];

/** Integer micro-units of one credit; a safe integer, so JSON and JavaScript numbers carry it exactly. */
const amount = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const bps = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
/** The platform fee cannot exceed the whole price. */
const feeBps = z.int().min(0).max(10_000);

export const settlementTermsSchema = z.strictObject({
  model: z.enum(PRICING_MODELS),
  /** E: the price of one completed execution (per_execution), or of one run past a subscription's quota. */
  execution_price: amount,
  /** Charged once per subscription period, at subscribe time (the one charge without a receipt). */
  subscription_price: amount,
  /** m: per_usage markup on the compute cost, in basis points. */
  markup_bps: bps,
  /** The listing's cap on a per_usage price; null where the model has no use for it. */
  max_price: amount.nullable(),
  /** Runs a subscription period includes at price 0. */
  included_executions: amount,
  /** What a subscription run past its quota does: pay E, or not start. */
  over_quota: z.enum(OVER_QUOTA_POLICIES),
  /** f: the platform fee rate (VERITY_PLATFORM_FEE_BPS when the hold was placed), 0..10,000. */
  fee_bps: feeBps,
});
export type SettlementTerms = z.infer<typeof settlementTermsSchema>;

export const statementTermsSchema = z.strictObject({
  model: z.enum(PRICING_MODELS),
  executionPrice: amount,
  subscriptionPrice: amount,
  markupBps: bps,
  maxPrice: amount.nullable(),
  includedExecutions: amount,
  overQuota: z.enum(OVER_QUOTA_POLICIES),
  feeBps: feeBps,
});
export type StatementTerms = z.infer<typeof statementTermsSchema>;

/** snake_case (listing, store, API) → camelCase (signed statement). */
export const TERMS_FIELD_NAMES = {
  model: 'model',
  execution_price: 'executionPrice',
  subscription_price: 'subscriptionPrice',
  markup_bps: 'markupBps',
  max_price: 'maxPrice',
  included_executions: 'includedExecutions',
  over_quota: 'overQuota',
  fee_bps: 'feeBps',
} as const satisfies Record<keyof SettlementTerms, keyof StatementTerms>;

export function termsToStatement(terms: SettlementTerms): StatementTerms {
  const out: Record<string, unknown> = {};
  for (const [snake, camel] of Object.entries(TERMS_FIELD_NAMES)) out[camel] = terms[snake as keyof SettlementTerms];
  return statementTermsSchema.parse(out);
}

/** The statement's terms in the arithmetic's spelling, checked like any other terms. */
export function termsFromStatement(terms: StatementTerms): SettlementTerms {
  const out: Record<string, unknown> = {};
  for (const [snake, camel] of Object.entries(TERMS_FIELD_NAMES)) out[snake] = terms[camel];
  return checkTerms(out);
}

/**
 * The least per_usage markup that keeps the publisher whole: m ≥ ⌈f·10⁴/(10⁴ − f)⌉. Below it the fee on
 * the marked-up price exceeds the markup and the publisher loses on every run. Undefined at f = 10,000
 * (the fee takes everything): null, and no per_usage listing is possible.
 */
export function minMarkupBps(feeBps: number): number | null {
  const f = amountOf(feeBps, 'fee_bps');
  if (f > BPS) refuse('fee_bps', `must be at most 10000, got ${feeBps}`);
  if (f === BPS) return null;
  return Number(divCeil(f * BPS, BPS - f));
}

function refuse(field: string, message: string): never {
  throw new SettlementError('invalid_terms', `${field}: ${message}`, { context: { field } });
}

/**
 * Parses and checks frozen terms (untrusted: a request body, a stored row, a statement). Returns them
 * typed, or throws a SettlementError `invalid_terms` whose message starts with the offending field.
 */
export function checkTerms(input: unknown): SettlementTerms {
  const parsed = settlementTermsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    refuse(issue.path.join('.') || '(terms)', issue.message);
  }
  const terms = parsed.data;
  if (terms.model === 'per_usage') {
    if (terms.max_price === null) {
      refuse(
        'max_price',
        'a per_usage listing needs a max_price (the hold reserves it; the compute budget follows from it)',
      );
    }
    const least = minMarkupBps(terms.fee_bps);
    if (least === null) {
      refuse(
        'fee_bps',
        'a fee of 10000 basis points takes the whole price: no per_usage listing can cover its compute',
      );
    }
    if (terms.markup_bps < least) {
      refuse(
        'markup_bps',
        `must be at least ${least} at a platform fee of ${terms.fee_bps} basis points, or the publisher loses on every run`,
      );
    }
  }
  return terms;
}
