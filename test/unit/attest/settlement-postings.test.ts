import { describe, expect, it } from 'vitest';
import {
  COMPUTE_ACCOUNT,
  PLATFORM_ACCOUNT,
  revisionDelta,
  settle,
  settlementPostings,
} from '../../../src/attest/settlement/index.js';
import type { Posting, SettlementInput, SettlementTerms } from '../../../src/attest/settlement/index.js';

/** The postings of each outcome and of a revision, pinned with concrete numbers. */

const terms: SettlementTerms = {
  model: 'per_usage',
  execution_price: 0,
  subscription_price: 0,
  markup_bps: 2_500,
  max_price: 10_000_000,
  included_executions: 0,
  over_quota: 'charge',
  fee_bps: 1_000,
};
// C = 650,000: alice twice (two steps), bob once, an in-process worker once.
const input: SettlementInput = {
  terms,
  buyer: 'buyer',
  publisher: 'pub',
  level: 'full',
  attestations: [
    { account: 'alice', cost: 300_000 },
    { account: 'bob', cost: 200_000 },
    { account: COMPUTE_ACCOUNT, cost: 100_000 },
    { account: 'alice', cost: 50_000 },
  ],
};
const workers: Posting[] = [
  { account: 'alice', amount: 350_000, why: 'compute' },
  { account: 'bob', amount: 200_000, why: 'compute' },
];
const inProcess: Posting = { account: 'sys:compute', amount: 100_000, why: 'compute' };

describe('settle', () => {
  it('completed: buyer −P, workers their shares, platform +F, publisher +(P − F − C), merged and sorted', () => {
    // P = 650,000 + ⌊650,000·2,500/10⁴⌋ = 812,500; F = ⌊812,500·1,000/10⁴⌋ = 81,250; P − F − C = 81,250.
    expect(settle('completed', input)).toEqual({
      outcome: 'completed',
      computeCost: 650_000,
      price: 812_500,
      fee: 81_250,
      postings: [
        ...workers,
        { account: 'buyer', amount: -812_500, why: 'price' },
        { account: 'pub', amount: 81_250, why: 'proceeds' },
        inProcess,
        { account: PLATFORM_ACCOUNT, amount: 81_250, why: 'fee' },
      ],
    });
  });

  it('failed: the publisher carries C, the buyer pays nothing, no fee', () => {
    expect(settle('failed', input)).toMatchObject({ price: 0, fee: 0, computeCost: 650_000 });
    expect(settlementPostings('failed', input)).toEqual([
      ...workers,
      { account: 'pub', amount: -650_000, why: 'failed_run' },
      inProcess,
    ]);
  });

  it('cancelled: the buyer pays C', () => {
    expect(settle('cancelled', input)).toMatchObject({ price: 650_000, fee: 0 });
    expect(settlementPostings('cancelled', input)).toEqual([
      ...workers,
      { account: 'buyer', amount: -650_000, why: 'cancelled_run' },
      inProcess,
    ]);
  });

  it('unverified: the platform pays C, the buyer nothing', () => {
    expect(settle('unverified', input)).toMatchObject({ price: 0, fee: 0 });
    expect(settlementPostings('unverified', input)).toEqual([
      ...workers,
      inProcess,
      { account: PLATFORM_ACCOUNT, amount: -650_000, why: 'unverified_receipt' },
    ]);
  });

  it('level zk: all of C is one posting to sys:compute', () => {
    expect(settlementPostings('completed', { ...input, level: 'zk' })).toEqual([
      { account: 'buyer', amount: -812_500, why: 'price' },
      { account: 'pub', amount: 81_250, why: 'proceeds' },
      { account: COMPUTE_ACCOUNT, amount: 650_000, why: 'compute' },
      { account: PLATFORM_ACCOUNT, amount: 81_250, why: 'fee' },
    ]);
  });

  it('C = 0 and fee 0: zero postings are dropped', () => {
    const fixed: SettlementTerms = { ...terms, model: 'per_execution', execution_price: 1_000, fee_bps: 0 };
    expect(settle('completed', { ...input, terms: fixed, attestations: [{ account: 'alice', cost: 0 }] })).toEqual({
      outcome: 'completed',
      computeCost: 0,
      price: 1_000,
      fee: 0,
      postings: [
        { account: 'buyer', amount: -1_000, why: 'price' },
        { account: 'pub', amount: 1_000, why: 'proceeds' },
      ],
    });
    expect(settlementPostings('failed', { ...input, attestations: [] })).toEqual([]);
  });

  it('fee 10000 on a fixed price: the platform takes P, the publisher carries C', () => {
    const all: SettlementTerms = { ...terms, model: 'per_execution', execution_price: 1_000, fee_bps: 10_000 };
    expect(
      settlementPostings('completed', { ...input, terms: all, attestations: [{ account: 'a', cost: 10 }] }),
    ).toEqual([
      { account: 'a', amount: 10, why: 'compute' },
      { account: 'buyer', amount: -1_000, why: 'price' },
      { account: 'pub', amount: -10, why: 'proceeds' },
      { account: PLATFORM_ACCOUNT, amount: 1_000, why: 'fee' },
    ]);
  });

  it('a buyer who is also the publisher gets two lines, one per reason', () => {
    expect(settlementPostings('completed', { ...input, publisher: 'buyer', level: 'zk' })).toEqual([
      { account: 'buyer', amount: -812_500, why: 'price' },
      { account: 'buyer', amount: 81_250, why: 'proceeds' },
      { account: COMPUTE_ACCOUNT, amount: 650_000, why: 'compute' },
      { account: PLATFORM_ACCOUNT, amount: 81_250, why: 'fee' },
    ]);
  });

  it('huge costs: a sum of safe costs past 2^53 is refused, not rounded', () => {
    const big = Number.MAX_SAFE_INTEGER - 1;
    expect(() =>
      settle('failed', {
        ...input,
        attestations: [
          { account: 'a', cost: big },
          { account: 'b', cost: 2 },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'invalid_amount' }));
    expect(settle('failed', { ...input, attestations: [{ account: 'a', cost: big }] }).computeCost).toBe(big);
  });

  it('refuses an unsafe or negative cost and an unnamed account', () => {
    expect(() => settle('failed', { ...input, attestations: [{ account: 'a', cost: -1 }] })).toThrow(
      /attestations\[0\]\.cost/,
    );
    expect(() => settle('failed', { ...input, attestations: [{ account: '', cost: 1 }] })).toThrow(/account/);
    expect(() => settle('failed', { ...input, buyer: '' })).toThrow(/buyer must name an account/);
    expect(() => settle('completed', { ...input, terms: { ...terms, markup_bps: 1_111 } })).toThrow(
      /^markup_bps: must be at least 1112/,
    );
  });
});

describe('revisionDelta', () => {
  it('a failed run retried to completion: reverses the failure, posts the completion, keeps paid work', () => {
    const first = settlementPostings('failed', { ...input, attestations: [{ account: 'alice', cost: 300_000 }] });
    const now = settlementPostings('completed', input);
    const delta = revisionDelta(first, now);
    expect(delta).toEqual([
      { account: 'alice', amount: 50_000, why: 'compute' },
      { account: 'bob', amount: 200_000, why: 'compute' },
      { account: 'buyer', amount: -812_500, why: 'price' },
      { account: 'pub', amount: 300_000, why: 'failed_run' },
      { account: 'pub', amount: 81_250, why: 'proceeds' },
      inProcess,
      { account: PLATFORM_ACCOUNT, amount: 81_250, why: 'fee' },
    ]);
    expect(delta.reduce((sum, p) => sum + p.amount, 0)).toBe(0);
  });

  it('is empty for identical sets, and refuses an unbalanced side', () => {
    const now = settlementPostings('completed', input);
    expect(revisionDelta(now, now)).toEqual([]);
    expect(revisionDelta([], [])).toEqual([]);
    const unbalanced: Posting[] = [{ account: 'x', amount: 1, why: 'fee' }];
    expect(() => revisionDelta(unbalanced, unbalanced)).toThrow(expect.objectContaining({ code: 'unbalanced' }));
    expect(() => revisionDelta([{ account: 'x', amount: 0.5, why: 'fee' }], [])).toThrow(/previous\[0\]/);
  });
});
