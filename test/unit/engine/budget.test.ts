import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitsBudget, settleCharge, stepReservation } from '../../../src/engine/budget.js';
import type { BudgetState } from '../../../src/engine/budget.js';

/** The budget arithmetic: integer micro-units, reserve before dispatch, settle after, never overspend; 0 = no limit. */

const MAX = Number.MAX_SAFE_INTEGER;
const state = (budget: number, spent = 0, reserved = 0): BudgetState => ({ budget, spent, reserved });

describe('stepReservation', () => {
  it("reserves a step's estimate per attempt, once per replica of a redundant step", () => {
    expect(stepReservation({ estimated_cost: 0 })).toBe(0);
    expect(stepReservation({ estimated_cost: 250 })).toBe(250);
    expect(stepReservation({ estimated_cost: 250, redundancy: { replicas: 3 } })).toBe(750);
  });
});

describe('fitsBudget', () => {
  it('fits an estimate up to exactly what is left, and not one micro-unit more', () => {
    expect(fitsBudget(state(1000, 300, 200), 500)).toBe(true);
    expect(fitsBudget(state(1000, 300, 200), 501)).toBe(false);
    expect(fitsBudget(state(1000), 1000)).toBe(true);
    expect(fitsBudget(state(1000), 1001)).toBe(false);
  });

  it('counts what is reserved for running jobs as well as what is spent', () => {
    expect(fitsBudget(state(1000, 0, 1000), 1)).toBe(false);
    expect(fitsBudget(state(1000, 1000, 0), 1)).toBe(false);
    expect(fitsBudget(state(1000, 1000, 0), 0)).toBe(true);
  });

  it('a budget of 0 has no limit', () => {
    expect(fitsBudget(state(0, MAX, MAX), MAX)).toBe(true);
  });

  it('stays exact at the largest budgets a definition may set (Number.MAX_SAFE_INTEGER)', () => {
    expect(fitsBudget(state(MAX), MAX)).toBe(true);
    expect(fitsBudget(state(MAX, MAX - 1), 1)).toBe(true);
    expect(fitsBudget(state(MAX, MAX - 1), 2)).toBe(false);
    expect(fitsBudget(state(MAX, 1, MAX - 1), 1)).toBe(false);
    // Sums past 2^53 round, but never down to the budget or below it.
    expect(fitsBudget(state(MAX, MAX, MAX), MAX)).toBe(false);
    expect(fitsBudget(state(MAX, 0, 0), stepReservation({ estimated_cost: MAX, redundancy: { replicas: 7 } }))).toBe(
      false,
    );
  });

  it('agrees with exact (BigInt) arithmetic for every safe integer amount', () => {
    const amount = fc.oneof(
      fc.integer({ min: 0, max: 2000 }),
      fc.integer({ min: 0, max: MAX }),
      fc.constantFrom(0, 1, MAX - 1, MAX),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX }), amount, amount, amount, (budget, spent, reserved, estimate) => {
        const exact = BigInt(spent) + BigInt(reserved) + BigInt(estimate) <= BigInt(budget);
        expect(fitsBudget(state(budget, spent, reserved), estimate)).toBe(exact);
      }),
    );
  });
});

describe('settleCharge', () => {
  it("releases the job's reservation and charges what it reported", () => {
    expect(settleCharge(state(1000, 100, 500), 300, 250)).toEqual({
      cost: 250,
      capped: false,
      spent: 350,
      reserved: 200,
    });
    // Cheaper than its estimate: the difference is free for the next step.
    expect(settleCharge(state(1000, 0, 300), 300, 0)).toEqual({ cost: 0, capped: false, spent: 0, reserved: 0 });
  });

  it('charges a report of exactly what is left in full', () => {
    expect(settleCharge(state(1000, 400, 600), 600, 600)).toEqual({
      cost: 600,
      capped: false,
      spent: 1000,
      reserved: 0,
    });
  });

  it('charges a report above what is left only up to the budget, and says it was capped', () => {
    expect(settleCharge(state(1000, 400, 600), 600, 601)).toEqual({
      cost: 600,
      capped: true,
      spent: 1000,
      reserved: 0,
    });
    expect(settleCharge(state(1000, 1000, 0), 0, 1)).toEqual({ cost: 0, capped: true, spent: 1000, reserved: 0 });
    expect(settleCharge(state(1000, 0, 0), 0, MAX)).toEqual({ cost: 1000, capped: true, spent: 1000, reserved: 0 });
  });

  it('without a limit charges whatever is reported', () => {
    expect(settleCharge(state(0, 5, 10), 10, MAX - 5)).toEqual({
      cost: MAX - 5,
      capped: false,
      spent: MAX,
      reserved: 0,
    });
  });

  it('never leaves a negative reservation (a release larger than what is held)', () => {
    expect(settleCharge(state(1000, 0, 100), 300, 50)).toMatchObject({ reserved: 0 });
  });

  it('never overspends: settling any sequence of reports keeps spent within the budget, and charges what was reported while it fits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: MAX }),
        fc.array(
          fc.record({
            estimate: fc.integer({ min: 0, max: 1_000_000 }),
            reported: fc.oneof(fc.integer({ min: 0, max: 2_000_000 }), fc.constant(MAX)),
          }),
          { maxLength: 20 },
        ),
        (budget, jobs) => {
          let e = state(budget);
          for (const { estimate, reported } of jobs) {
            // Dispatch reserves only what fits; settle releases it and charges.
            if (!fitsBudget(e, estimate)) continue;
            e = { ...e, reserved: e.reserved + estimate };
            const before = e.spent;
            const settled = settleCharge(e, estimate, reported);
            expect(Number.isSafeInteger(settled.cost) && settled.cost >= 0).toBe(true);
            expect(settled.spent).toBe(before + settled.cost);
            expect(settled.spent).toBeLessThanOrEqual(budget);
            expect(settled.capped).toBe(reported > budget - before);
            if (!settled.capped) expect(settled.cost).toBe(reported);
            e = { ...e, spent: settled.spent, reserved: settled.reserved };
            expect(e.reserved).toBe(0);
          }
        },
      ),
    );
  });
});
