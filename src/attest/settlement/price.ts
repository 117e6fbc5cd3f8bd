import { BPS, amountOf, maxBig, minBig, mulDivFloor, toSafe } from './amounts.js';
import { SettlementError } from './errors.js';
import { checkTerms } from './terms.js';
import type { SettlementTerms } from './terms.js';

/** What the buyer asked for and what the run is, as known when the hold is placed. */
export interface RunPricing {
  /** The buyer's own cap (`max_price` in the execute request); absent means the listing's alone. */
  buyerMaxPrice?: number | undefined;
  /** A subscription run inside the period's quota (price 0). Only subscriptions have included runs. */
  includedRun?: boolean | undefined;
}

export interface PriceInput extends RunPricing {
  /** C: the sum of the counted attestations' attested costs. */
  computeCost: number;
}

export interface BudgetInput extends RunPricing {
  /** The workflow's own `max_cost_budget`; 0 means "no limit" to the engine. */
  workflowMaxCostBudget: number;
}

/** Whether a subscription run is included, charged E, or refused, given the runs already used this period. */
export type QuotaDecision = 'included' | 'charged' | 'refused';

export function quotaDecision(terms: SettlementTerms, executionsUsed: number): QuotaDecision {
  checkTerms(terms);
  amountOf(executionsUsed, 'executions_used');
  if (terms.model !== 'subscription') {
    throw new SettlementError('invalid_amount', `a ${terms.model} listing has no quota`, {
      context: { field: 'model' },
    });
  }
  if (executionsUsed < terms.included_executions) return 'included';
  return terms.over_quota === 'charge' ? 'charged' : 'refused';
}

function includedRun(terms: SettlementTerms, run: RunPricing): boolean {
  if (run.includedRun === true && terms.model !== 'subscription') {
    throw new SettlementError('invalid_amount', `a ${terms.model} run cannot be an included run`, {
      context: { field: 'includedRun' },
    });
  }
  return run.includedRun === true;
}

/**
 * The most the price P can be for this run, and whether it is fixed (independent of C). per_usage:
 * cap = min(listing max_price, buyer max_price). A fixed price above the buyer's max_price is refused:
 * the buyer said it would not pay that much.
 */
function priceCeiling(terms: SettlementTerms, run: RunPricing): { cap: bigint; fixed: boolean } {
  // Every entry point goes through here: the floors below assume non-negative amounts and a valid markup,
  // and terms may come from a statement or a row nobody checked.
  checkTerms(terms);
  const buyerMax = run.buyerMaxPrice === undefined ? null : amountOf(run.buyerMaxPrice, 'max_price');
  if (terms.model === 'per_usage') {
    const listingMax = BigInt(terms.max_price!); // checkTerms requires it for per_usage
    if (buyerMax === 0n && listingMax > 0n) {
      // A cap of 0 makes the price 0 whatever C is, and the publisher would carry C up to the workflow's
      // budget: a buyer's max_price must not turn a paid listing into a free one.
      throw new SettlementError(
        'above_buyer_max_price',
        "a max_price of 0 on a per_usage listing would make the run free at the publisher's expense: set a positive max_price",
        { context: { field: 'max_price', buyerMaxPrice: 0 } },
      );
    }
    return { cap: buyerMax === null ? listingMax : minBig(listingMax, buyerMax), fixed: false };
  }
  const price = includedRun(terms, run) ? 0n : amountOf(terms.execution_price, 'execution_price');
  if (buyerMax !== null && price > buyerMax) {
    throw new SettlementError(
      'above_buyer_max_price',
      `the listing's price is ${price} micro-units, above the max_price of ${buyerMax} the buyer set: raise max_price or do not run it`,
      { context: { field: 'max_price', price: Number(price), buyerMaxPrice: Number(buyerMax) } },
    );
  }
  return { cap: price, fixed: true };
}

/**
 * P, the price of a completed run: E (per_execution, or a subscription run past its quota); 0 for an
 * included subscription run; min(C + ⌊C·m/10⁴⌋, cap) for per_usage.
 */
export function priceOf(terms: SettlementTerms, input: PriceInput): number {
  const c = amountOf(input.computeCost, 'computeCost');
  const { cap, fixed } = priceCeiling(terms, input);
  if (fixed) return toSafe(cap, 'price');
  return toSafe(minBig(c + mulDivFloor(c, BigInt(terms.markup_bps), BPS), cap), 'price');
}

/** F = ⌊P·f/10⁴⌋, the platform fee on a price. */
export function feeOf(price: number, feeBps: number): number {
  const f = amountOf(feeBps, 'fee_bps');
  if (f > BPS) throw new SettlementError('invalid_amount', `fee_bps must be at most 10000, got ${feeBps}`);
  return toSafe(mulDivFloor(amountOf(price, 'price'), f, BPS), 'fee');
}

/**
 * The compute budget the execution runs under (the engine never lets C pass it):
 * - when P has a positive ceiling: cap − ⌊cap·f/10⁴⌋ (cap = E for fixed prices), so that a capped price
 *   still pays the fee and the compute and the publisher's part stays ≥ 0;
 * - when P is 0 whatever C is (a free listing, an included subscription run, a cap of 0), nothing the buyer
 *   pays bounds the compute, so the workflow's `max_cost_budget` does, and it must be finite.
 * A finite workflow budget below the listing's also applies: a listing is no way around its workflow's limit.
 * A result of 0 is refused rather than returned, since the engine reads 0 as "no limit".
 */
export function computeBudget(terms: SettlementTerms, input: BudgetInput): number {
  const workflow = amountOf(input.workflowMaxCostBudget, 'max_cost_budget');
  const { cap } = priceCeiling(terms, input);
  if (cap === 0n) {
    if (workflow === 0n) {
      throw new SettlementError(
        'no_budget',
        "this run's price can be 0, so the workflow's max_cost_budget bounds its compute, and it is 0 (no limit): set a finite max_cost_budget on the workflow",
        { context: { field: 'max_cost_budget' } },
      );
    }
    return toSafe(workflow, 'budget');
  }
  const listing = cap - mulDivFloor(cap, BigInt(terms.fee_bps), BPS);
  const budget = workflow === 0n ? listing : minBig(listing, workflow);
  if (budget === 0n) {
    throw new SettlementError(
      'no_budget',
      `the price ceiling of ${cap} micro-units leaves no compute budget after the platform fee (${terms.fee_bps} basis points); 0 would mean "no limit" to the engine`,
      { context: { field: 'fee_bps' } },
    );
  }
  return toSafe(budget, 'budget');
}

/**
 * The hold: the most the run can cost the buyer, whatever its outcome. A completed run costs P ≤ its
 * ceiling; a cancelled one costs C ≤ the compute budget. Those coincide except when the price is 0: a free
 * or included run that the buyer cancels still pays its compute, so it holds the workflow's budget.
 */
export function holdOf(terms: SettlementTerms, input: BudgetInput): number {
  const { cap } = priceCeiling(terms, input);
  return toSafe(maxBig(cap, BigInt(computeBudget(terms, input))), 'hold');
}

/**
 * Whether some run of a listing can cost its buyer 0 whatever its compute (then the listing's workflow
 * needs a finite max_cost_budget): a free per_execution listing, a per_usage one capped at 0, a
 * subscription with included runs or a free over-quota price.
 */
export function listingCanBeFree(terms: SettlementTerms): boolean {
  switch (terms.model) {
    case 'per_execution':
      return terms.execution_price === 0;
    case 'per_usage':
      return terms.max_price === 0;
    case 'subscription':
      return terms.included_executions > 0 || terms.execution_price === 0;
  }
}
