import { describe, expect, it } from 'vitest';
import {
  SettlementError,
  TERMS_FIELD_NAMES,
  checkTerms,
  minMarkupBps,
  termsFromStatement,
  termsToStatement,
} from '../../../src/attest/settlement/index.js';
import type { SettlementTerms } from '../../../src/attest/settlement/index.js';

/** The frozen terms: their schema, the per_usage markup floor, and the snake_case ↔ camelCase mapping. */

const usage = (over: Partial<SettlementTerms> = {}): SettlementTerms => ({
  model: 'per_usage',
  execution_price: 0,
  subscription_price: 0,
  markup_bps: 2_500,
  max_price: 10_000_000,
  included_executions: 0,
  over_quota: 'charge',
  fee_bps: 1_000,
  ...over,
});

function refusal(input: unknown): SettlementError {
  try {
    checkTerms(input);
  } catch (error) {
    if (error instanceof SettlementError) return error;
    throw error;
  }
  throw new Error('checkTerms accepted it');
}

describe('minMarkupBps: m ≥ ⌈f·10⁴/(10⁴ − f)⌉', () => {
  it('is exact, rounding up', () => {
    expect(minMarkupBps(0)).toBe(0);
    expect(minMarkupBps(250)).toBe(257); // 2,500,000 / 9,750 = 256.41…
    expect(minMarkupBps(1_000)).toBe(1_112); // 10⁷ / 9,000 = 1,111.1…
    expect(minMarkupBps(5_000)).toBe(10_000); // exactly 10,000: no rounding
    expect(minMarkupBps(9_999)).toBe(99_990_000);
    expect(minMarkupBps(10_000)).toBeNull();
    expect(() => minMarkupBps(10_001)).toThrow(/^fee_bps: must be at most 10000/);
    expect(() => minMarkupBps(2.5)).toThrow(/fee_bps must be a non-negative safe integer/);
  });
});

describe('checkTerms', () => {
  it('accepts m exactly at the minimum and refuses one below, naming the field and the minimum', () => {
    expect(checkTerms(usage({ markup_bps: 1_112 }))).toEqual(usage({ markup_bps: 1_112 }));
    const error = refusal(usage({ markup_bps: 1_111 }));
    expect(error.code).toBe('invalid_terms');
    expect(error.context).toEqual({ field: 'markup_bps' });
    expect(error.message).toMatch(/^markup_bps: must be at least 1112 at a platform fee of 1000 basis points/);
  });

  it('accepts any markup at fee 0, and refuses per_usage at fee 10000 (no markup can cover it)', () => {
    expect(checkTerms(usage({ fee_bps: 0, markup_bps: 0 })).markup_bps).toBe(0);
    expect(refusal(usage({ fee_bps: 10_000, markup_bps: Number.MAX_SAFE_INTEGER })).message).toMatch(/^fee_bps: /);
    // Fixed prices have no markup to protect: fee 10000 is legal terms there (the budget refuses it later).
    expect(checkTerms(usage({ model: 'per_execution', fee_bps: 10_000, markup_bps: 0 })).fee_bps).toBe(10_000);
  });

  it('needs a max_price for per_usage only', () => {
    expect(refusal(usage({ max_price: null })).context).toEqual({ field: 'max_price' });
    expect(checkTerms(usage({ model: 'subscription', max_price: null })).max_price).toBeNull();
  });

  it('refuses negative, fractional and unsafe amounts, a fee above 10000, unknown fields, naming the field', () => {
    expect(refusal(usage({ execution_price: -1 })).message).toMatch(/^execution_price: /);
    expect(refusal(usage({ subscription_price: 1.5 })).message).toMatch(/^subscription_price: /);
    expect(refusal(usage({ max_price: Number.MAX_SAFE_INTEGER + 1 })).message).toMatch(/^max_price: /);
    expect(refusal(usage({ included_executions: -3 })).message).toMatch(/^included_executions: /);
    expect(refusal(usage({ fee_bps: 10_001 })).message).toMatch(/^fee_bps: /);
    expect(refusal({ ...usage(), executionPrice: 1 }).code).toBe('invalid_terms');
    expect(refusal({ ...usage(), model: 'per_token' }).message).toMatch(/^model: /);
    expect(refusal('free').code).toBe('invalid_terms');
  });
});

describe('the statement spelling', () => {
  it('maps every field one-to-one, and back', () => {
    const camel = Object.values(TERMS_FIELD_NAMES);
    expect(new Set(camel).size).toBe(camel.length);
    const terms = usage({ max_price: 7 });
    expect(termsToStatement(terms)).toEqual({
      model: 'per_usage',
      executionPrice: 0,
      subscriptionPrice: 0,
      markupBps: 2_500,
      maxPrice: 7,
      includedExecutions: 0,
      overQuota: 'charge',
      feeBps: 1_000,
    });
    expect(termsFromStatement(termsToStatement(terms))).toEqual(terms);
  });

  it('checks the statement terms like any others', () => {
    const statement = termsToStatement(usage());
    expect(() => termsFromStatement({ ...statement, markupBps: 1 })).toThrow(/^markup_bps: must be at least 1112/);
  });
});
