import { describe, expect, it } from 'vitest';
import {
  computeBudget,
  feeOf,
  holdOf,
  listingCanBeFree,
  priceOf,
  quotaDecision,
} from '../../../src/attest/settlement/index.js';
import type { SettlementTerms } from '../../../src/attest/settlement/index.js';

/** P, F, the compute budget and the hold, pinned to the formulas with concrete numbers. */

const MAX = Number.MAX_SAFE_INTEGER;
const base: SettlementTerms = {
  model: 'per_execution',
  execution_price: 1_000_000,
  subscription_price: 0,
  markup_bps: 0,
  max_price: null,
  included_executions: 0,
  over_quota: 'charge',
  fee_bps: 250,
};
const usage = (over: Partial<SettlementTerms> = {}): SettlementTerms => ({
  ...base,
  model: 'per_usage',
  execution_price: 0,
  markup_bps: 2_500,
  max_price: 2_000_000,
  ...over,
});
const subscription = (over: Partial<SettlementTerms> = {}): SettlementTerms => ({
  ...base,
  model: 'subscription',
  subscription_price: 30_000_000,
  included_executions: 10,
  ...over,
});

describe('priceOf', () => {
  it('per_execution: E whatever C is', () => {
    expect(priceOf(base, { computeCost: 0 })).toBe(1_000_000);
    expect(priceOf(base, { computeCost: 975_000 })).toBe(1_000_000);
  });

  it('per_usage: C + ⌊C·m/10⁴⌋, floored', () => {
    // ⌊1,000,001 · 2,500 / 10⁴⌋ = ⌊250,000.25⌋
    expect(priceOf(usage(), { computeCost: 1_000_001 })).toBe(1_250_001);
    expect(priceOf(usage(), { computeCost: 3 })).toBe(3); // ⌊0.75⌋ = 0
    expect(priceOf(usage(), { computeCost: 0 })).toBe(0);
  });

  it('per_usage: capped by the smaller of the listing max_price and the buyer max_price', () => {
    expect(priceOf(usage(), { computeCost: 1_800_000 })).toBe(2_000_000); // 2,250,000 capped by the listing
    expect(priceOf(usage(), { computeCost: 800_000, buyerMaxPrice: 900_000 })).toBe(900_000); // 1,000,000 → buyer's cap
    expect(priceOf(usage(), { computeCost: 800_000, buyerMaxPrice: 5_000_000 })).toBe(1_000_000);
    expect(priceOf(usage({ max_price: 0 }), { computeCost: 10 })).toBe(0);
  });

  it('per_usage near MAX_SAFE_INTEGER: C·m passes 2^53 and is still exact', () => {
    // C·m = 3.0e19: a float would round; BigInt gives 6,004,799,503,160,661 + 3,002,399,751,580,330.
    expect(priceOf(usage({ markup_bps: 5_000, max_price: MAX }), { computeCost: 6_004_799_503_160_661 })).toBe(MAX);
    expect(priceOf(usage({ markup_bps: 3_333, max_price: MAX }), { computeCost: 2 ** 52 })).toBe(6_004_649_383_173_082);
    // C + markup beyond the safe range is fine as long as the cap brings it back.
    expect(priceOf(usage({ markup_bps: 10_000, max_price: MAX }), { computeCost: MAX })).toBe(MAX);
  });

  it('subscription: 0 for an included run, E after the quota', () => {
    expect(priceOf(subscription(), { computeCost: 500, includedRun: true })).toBe(0);
    expect(priceOf(subscription(), { computeCost: 500, includedRun: false })).toBe(1_000_000);
    expect(() => priceOf(base, { computeCost: 0, includedRun: true })).toThrow(/cannot be an included run/);
  });

  it('refuses a fixed price above the buyer max_price, and unsafe costs', () => {
    expect(() => priceOf(base, { computeCost: 0, buyerMaxPrice: 999_999 })).toThrow(
      expect.objectContaining({ code: 'above_buyer_max_price' }),
    );
    expect(priceOf(base, { computeCost: 0, buyerMaxPrice: 1_000_000 })).toBe(1_000_000);
    expect(() => priceOf(base, { computeCost: MAX + 1 })).toThrow(expect.objectContaining({ code: 'invalid_amount' }));
    expect(() => priceOf(base, { computeCost: -1 })).toThrow(/computeCost must be a non-negative safe integer/);
  });
});

describe('unchecked terms', () => {
  it('are checked by every entry point before any arithmetic (they may come from a row or a statement)', () => {
    const bad = [
      { ...base, execution_price: -5 },
      { ...base, fee_bps: 10_001 },
      usage({ markup_bps: 256, fee_bps: 250 }),
      usage({ max_price: null }),
    ];
    for (const terms of bad) {
      expect(() => priceOf(terms, { computeCost: 1 })).toThrow(expect.objectContaining({ code: 'invalid_terms' }));
      expect(() => computeBudget(terms, { workflowMaxCostBudget: 1 })).toThrow(
        expect.objectContaining({ code: 'invalid_terms' }),
      );
      expect(() => holdOf(terms, { workflowMaxCostBudget: 1 })).toThrow(
        expect.objectContaining({ code: 'invalid_terms' }),
      );
    }
    expect(() => quotaDecision({ ...base, model: 'subscription', included_executions: -1 }, 0)).toThrow(
      /^included_executions: /,
    );
  });
});

describe('quotaDecision', () => {
  it('includes runs below the quota, then charges or refuses as the listing says', () => {
    expect(quotaDecision(subscription(), 0)).toBe('included');
    expect(quotaDecision(subscription(), 9)).toBe('included');
    expect(quotaDecision(subscription(), 10)).toBe('charged');
    expect(quotaDecision(subscription({ over_quota: 'refuse' }), 10)).toBe('refused');
    expect(quotaDecision(subscription({ included_executions: 0 }), 0)).toBe('charged');
    expect(() => quotaDecision(base, 0)).toThrow(/has no quota/);
  });
});

describe('feeOf: F = ⌊P·f/10⁴⌋', () => {
  it('floors, and is exact at the edges', () => {
    expect(feeOf(1_250_001, 250)).toBe(31_250); // ⌊31,250.025⌋
    expect(feeOf(39, 250)).toBe(0); // ⌊0.975⌋
    expect(feeOf(1_000_000, 0)).toBe(0);
    expect(feeOf(1_000_000, 10_000)).toBe(1_000_000);
    expect(feeOf(0, 10_000)).toBe(0);
    expect(feeOf(MAX, 9_999)).toBe(9_006_298_534_815_516); // MAX·9999 is far past 2^53
    expect(() => feeOf(1, 10_001)).toThrow(/at most 10000/);
  });
});

describe('computeBudget and holdOf', () => {
  const none = { workflowMaxCostBudget: 0 };

  it('per_execution: E − ⌊E·f/10⁴⌋; the hold is E', () => {
    expect(computeBudget(base, none)).toBe(975_000);
    expect(computeBudget({ ...base, fee_bps: 0 }, none)).toBe(1_000_000);
    expect(computeBudget({ ...base, execution_price: 39 }, none)).toBe(39); // fee ⌊0.975⌋ = 0
    expect(holdOf(base, none)).toBe(1_000_000);
  });

  it('per_usage: cap − ⌊cap·f/10⁴⌋ with cap = min(listing, buyer); the hold is the cap', () => {
    expect(computeBudget(usage(), none)).toBe(1_950_000);
    expect(computeBudget(usage(), { ...none, buyerMaxPrice: 900_000 })).toBe(877_500);
    expect(holdOf(usage(), { ...none, buyerMaxPrice: 900_000 })).toBe(900_000);
    expect(computeBudget(usage({ max_price: MAX }), none)).toBe(8_782_019_273_372_467);
  });

  it("a finite workflow budget below the listing's applies too", () => {
    expect(computeBudget(base, { workflowMaxCostBudget: 500_000 })).toBe(500_000);
    expect(computeBudget(base, { workflowMaxCostBudget: 2_000_000 })).toBe(975_000);
    expect(holdOf(base, { workflowMaxCostBudget: 500_000 })).toBe(1_000_000);
  });

  it("when P is 0 whatever C is, the workflow's budget, which must be finite; the hold covers a cancellation", () => {
    const free = { ...base, execution_price: 0 };
    expect(computeBudget(free, { workflowMaxCostBudget: 40_000 })).toBe(40_000);
    expect(holdOf(free, { workflowMaxCostBudget: 40_000 })).toBe(40_000);
    expect(computeBudget(subscription(), { workflowMaxCostBudget: 40_000, includedRun: true })).toBe(40_000);
    expect(computeBudget(subscription(), { workflowMaxCostBudget: 40_000 })).toBe(40_000); // min(975,000, 40,000)
    expect(computeBudget(usage({ max_price: 0 }), { workflowMaxCostBudget: 7 })).toBe(7);
    for (const [terms, run] of [
      [free, {}],
      [subscription(), { includedRun: true }],
      [usage({ max_price: 0 }), {}],
    ] as const) {
      expect(() => computeBudget(terms, { ...none, ...run })).toThrow(
        expect.objectContaining({ code: 'no_budget', context: { field: 'max_cost_budget' } }),
      );
    }
  });

  it('refuses a buyer max_price of 0 on a paid per_usage listing (the publisher would carry C)', () => {
    expect(() => computeBudget(usage(), { workflowMaxCostBudget: 40_000, buyerMaxPrice: 0 })).toThrow(
      expect.objectContaining({ code: 'above_buyer_max_price', context: { field: 'max_price', buyerMaxPrice: 0 } }),
    );
    // 1 micro-unit is a real cap: the budget is 1, the publisher's part stays ≥ 0.
    expect(computeBudget(usage(), { workflowMaxCostBudget: 40_000, buyerMaxPrice: 1 })).toBe(1);
  });

  it('refuses a budget the fee leaves at 0 (0 is "no limit" to the engine)', () => {
    expect(() => computeBudget({ ...base, fee_bps: 10_000 }, none)).toThrow(
      expect.objectContaining({ code: 'no_budget', context: { field: 'fee_bps' } }),
    );
    // A finite workflow budget does not help: the listing's ceiling pays no compute at all.
    expect(() => computeBudget({ ...base, fee_bps: 10_000 }, { workflowMaxCostBudget: 5 })).toThrow(
      /no compute budget/,
    );
  });
});

describe('listingCanBeFree', () => {
  it('is true exactly when some run can cost its buyer 0 whatever its compute', () => {
    expect(listingCanBeFree(base)).toBe(false);
    expect(listingCanBeFree({ ...base, execution_price: 0 })).toBe(true);
    expect(listingCanBeFree(usage())).toBe(false);
    expect(listingCanBeFree(usage({ max_price: 0 }))).toBe(true);
    expect(listingCanBeFree(subscription())).toBe(true);
    expect(listingCanBeFree(subscription({ included_executions: 0 }))).toBe(false);
    expect(listingCanBeFree(subscription({ included_executions: 0, execution_price: 0 }))).toBe(true);
  });
});
