import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  COMPUTE_ACCOUNT,
  SettlementError,
  computeBudget,
  feeOf,
  holdOf,
  minMarkupBps,
  normalizePostings,
  priceOf,
  revisionDelta,
  settle,
} from '../../../src/attest/settlement/index.js';
import type {
  CountedAttestation,
  Posting,
  SettlementOutcome,
  SettlementTerms,
} from '../../../src/attest/settlement/index.js';

/**
 * Properties of the money rules over random terms, runs and costs, with amounts up to MAX_SAFE_INTEGER.
 * A run's compute C stays within the budget computeBudget gives it, as the engine guarantees.
 */

const MAX = Number.MAX_SAFE_INTEGER;
const OUTCOMES: SettlementOutcome[] = ['completed', 'failed', 'cancelled', 'unverified'];
const WORKERS = ['w1', 'w2', 'w3', COMPUTE_ACCOUNT];

const amount = fc.oneof(
  fc.integer({ min: 0, max: 1_000 }),
  fc.integer({ min: 0, max: 2 ** 40 }),
  fc.integer({ min: MAX - 1_000, max: MAX }),
  fc.maxSafeNat(),
);
const feeBps = fc.oneof(fc.constantFrom(0, 1, 250, 1_000, 5_000, 9_999, 10_000), fc.integer({ min: 0, max: 10_000 }));

const fixedTerms = (f: number): fc.Arbitrary<SettlementTerms> =>
  fc.record({
    model: fc.constantFrom('per_execution' as const, 'subscription' as const),
    execution_price: amount,
    subscription_price: amount,
    markup_bps: fc.constant(0),
    max_price: fc.constant(null),
    included_executions: fc.integer({ min: 0, max: 100 }),
    over_quota: fc.constantFrom('charge' as const, 'refuse' as const),
    fee_bps: fc.constant(f),
  });

const usageTerms = (f: number, least: number): fc.Arbitrary<SettlementTerms> =>
  fc.record({
    model: fc.constant('per_usage' as const),
    execution_price: fc.constant(0),
    subscription_price: fc.constant(0),
    markup_bps: fc.oneof(
      fc.constant(least),
      fc.integer({ min: least, max: least + 50_000 }),
      fc.integer({ min: least, max: MAX }),
    ),
    max_price: amount,
    included_executions: fc.constant(0),
    over_quota: fc.constant('charge' as const),
    fee_bps: fc.constant(f),
  });

/** Valid frozen terms: per_usage ones carry a markup at or above the minimum for their fee. */
const terms: fc.Arbitrary<SettlementTerms> = feeBps.chain((f) => {
  const least = minMarkupBps(f);
  return least === null ? fixedTerms(f) : fc.oneof(fixedTerms(f), usageTerms(f, least));
});

/** Splits C into attestations at random cut points (so they sum to C exactly), paid to random workers. */
function split(c: bigint, cuts: bigint[], accounts: string[]): CountedAttestation[] {
  const points = [0n, ...cuts.map((x) => x % (c + 1n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), c];
  return points.slice(1).map((p, i) => ({ account: accounts[i % accounts.length]!, cost: Number(p - points[i]!) }));
}

const run = fc.record({
  terms,
  buyerMaxPrice: fc.option(amount, { nil: undefined }),
  included: fc.boolean(),
  workflowMaxCostBudget: fc.oneof(fc.constant(0), amount),
  level: fc.constantFrom('basic' as const, 'full' as const, 'zk' as const),
  cost: fc.bigInt({ min: 0n, max: 2n ** 64n }),
  cuts: fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n }), { maxLength: 6 }),
  accounts: fc.array(fc.constantFrom(...WORKERS), { minLength: 1, maxLength: 7 }),
});
type Run = typeof run extends fc.Arbitrary<infer T> ? T : never;

/** The run's budget and hold, and a C within the budget; null when the terms refuse the run (checked). */
function prepare(r: Run) {
  const pricing = {
    buyerMaxPrice: r.buyerMaxPrice,
    includedRun: r.terms.model === 'subscription' && r.included,
    workflowMaxCostBudget: r.workflowMaxCostBudget,
  };
  let budget: number;
  try {
    budget = computeBudget(r.terms, pricing);
  } catch (error) {
    expect(error).toBeInstanceOf(SettlementError);
    expect(['no_budget', 'above_buyer_max_price']).toContain((error as SettlementError).code);
    return null;
  }
  const c = r.cost % (BigInt(budget) + 1n);
  const input = {
    terms: r.terms,
    buyer: 'buyer',
    publisher: 'pub',
    level: r.level,
    attestations: split(c, r.cuts, r.accounts),
    buyerMaxPrice: pricing.buyerMaxPrice,
    includedRun: pricing.includedRun,
  };
  return { pricing, budget, hold: holdOf(r.terms, pricing), c, input };
}

const total = (postings: Posting[], pick: (p: Posting) => boolean): bigint =>
  postings.filter(pick).reduce((sum, p) => sum + BigInt(p.amount), 0n);

describe('settlement properties', () => {
  it('postings balance, are canonical, pay workers C, and never take more from the buyer than the hold', () => {
    fc.assert(
      fc.property(run, (r) => {
        const ready = prepare(r);
        if (ready === null) return;
        const { hold, c, input } = ready;
        expect(hold).toBeGreaterThanOrEqual(ready.budget);
        for (const outcome of OUTCOMES) {
          const s = settle(outcome, input);
          expect(total(s.postings, () => true)).toBe(0n);
          for (const p of s.postings) {
            expect(Number.isSafeInteger(p.amount) && p.amount !== 0).toBe(true);
          }
          const keys = s.postings.map((p) => JSON.stringify([p.account, p.why]));
          expect(keys).toEqual([...new Set(keys)]);
          expect(
            [...s.postings].sort((a, b) =>
              a.account < b.account ? -1 : a.account > b.account ? 1 : a.why < b.why ? -1 : 1,
            ),
          ).toEqual(s.postings);
          expect(BigInt(s.computeCost)).toBe(c);
          expect(total(s.postings, (p) => p.why === 'compute')).toBe(c);
          const paid = -total(s.postings, (p) => p.account === 'buyer');
          expect(paid).toBe(BigInt(s.price));
          expect(paid >= 0n && paid <= BigInt(hold)).toBe(true);
          if (outcome === 'failed' || outcome === 'unverified') {
            expect(s.postings.filter((p) => p.account === 'buyer')).toEqual([]);
            expect(s.fee).toBe(0);
          }
          if (r.level === 'zk') {
            const compute = s.postings.filter((p) => p.why === 'compute');
            expect(compute).toEqual(c === 0n ? [] : [{ account: COMPUTE_ACCOUNT, amount: Number(c), why: 'compute' }]);
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('completed: P ≤ the ceiling, F = ⌊P·f/10⁴⌋ ≤ P, and the publisher keeps P − F − C ≥ 0 unless the run is free by its terms', () => {
    fc.assert(
      fc.property(run, (r) => {
        const ready = prepare(r);
        if (ready === null) return;
        const s = settle('completed', ready.input);
        const listingCap = r.terms.max_price ?? MAX;
        const cap = r.terms.model === 'per_usage' ? Math.min(listingCap, r.buyerMaxPrice ?? MAX) : null;
        if (cap !== null) expect(s.price).toBeLessThanOrEqual(cap);
        else expect(s.price).toBe(ready.pricing.includedRun ? 0 : r.terms.execution_price);
        expect(s.price).toBeLessThanOrEqual(ready.hold);
        expect(s.fee).toBe(feeOf(s.price, r.terms.fee_bps));
        expect(s.fee).toBeLessThanOrEqual(s.price);
        const proceeds = BigInt(s.price) - BigInt(s.fee) - ready.c;
        expect(total(s.postings, (p) => p.account === 'pub')).toBe(proceeds);
        // Free by its terms: a 0 price ceiling (free listing, included run, cap 0). There the publisher
        // carries C, as for a failure; everywhere else the budget leaves room for the fee and the compute.
        const free = cap === 0 || (cap === null && s.price === 0);
        if (!free) expect(proceeds >= 0n).toBe(true);
        else expect(proceeds).toBe(-ready.c);
      }),
      { numRuns: 400 },
    );
  });

  it('per_usage with m at or above the minimum: an uncapped price covers the fee and C for any C', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: 9_999 })
          .chain((f) =>
            fc.tuple(fc.constant(f), fc.integer({ min: minMarkupBps(f)!, max: minMarkupBps(f)! + 20_000 }), amount),
          ),
        ([f, m, c]) => {
          const t: SettlementTerms = {
            model: 'per_usage',
            execution_price: 0,
            subscription_price: 0,
            markup_bps: m,
            max_price: MAX,
            included_executions: 0,
            over_quota: 'charge',
            fee_bps: f,
          };
          const uncapped = BigInt(c) + (BigInt(c) * BigInt(m)) / 10_000n;
          fc.pre(uncapped <= BigInt(MAX));
          const p = priceOf(t, { computeCost: c });
          expect(BigInt(p)).toBe(uncapped);
          expect(BigInt(p) - BigInt(feeOf(p, f)) - BigInt(c) >= 0n).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('revisions: what was posted plus each delta equals the latest full settlement; a repeated revision posts nothing', () => {
    fc.assert(
      fc.property(
        run,
        fc.array(
          fc.record({
            outcome: fc.constantFrom(...OUTCOMES),
            cost: fc.bigInt({ min: 0n, max: 2n ** 64n }),
            cuts: fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n }), { maxLength: 4 }),
            accounts: fc.array(fc.constantFrom(...WORKERS), { minLength: 1, maxLength: 5 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (r, revisions) => {
          const ready = prepare(r);
          if (ready === null) return;
          let posted: Posting[] = [];
          for (const revision of revisions) {
            const c = revision.cost % (BigInt(ready.budget) + 1n);
            const full = settle(revision.outcome, {
              ...ready.input,
              attestations: split(c, revision.cuts, revision.accounts),
            }).postings;
            const delta = revisionDelta(posted, full);
            expect(total(delta, () => true)).toBe(0n);
            posted = [...posted, ...delta];
            const asLines = posted.map((p) => ({ ...p, amount: BigInt(p.amount) }));
            expect(normalizePostings(asLines)).toEqual(full);
            expect(revisionDelta(posted, full)).toEqual([]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
