import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffMs, mayRetry } from '../../../src/engine/backoff.js';
import { LIMITS } from '../../../src/workflow/limits.js';
import { retryPolicySchema } from '../../../src/workflow/schema.js';
import type { RetryPolicy } from '../../../src/workflow/types.js';

/** A step's retry policy: exponential backoff with a cap, no jitter, and which failures may retry. */

const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  ...retryPolicySchema.parse({}),
  ...overrides,
});

describe('backoffMs', () => {
  it('waits the initial delay after the first failure, then multiplies it by the multiplier each time', () => {
    const p = policy({ initial_backoff_ms: 1000, backoff_multiplier: 2, max_backoff_ms: 1_000_000 });
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(p, n))).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000]);
    const thrice = policy({ initial_backoff_ms: 10, backoff_multiplier: 3, max_backoff_ms: 1_000_000 });
    expect([1, 2, 3, 4].map((n) => backoffMs(thrice, n))).toEqual([10, 30, 90, 270]);
  });

  it('stops growing at max_backoff_ms', () => {
    const p = policy({ initial_backoff_ms: 1000, backoff_multiplier: 2, max_backoff_ms: 5000 });
    expect([1, 2, 3, 4, 5, 50].map((n) => backoffMs(p, n))).toEqual([1000, 2000, 4000, 5000, 5000, 5000]);
    // A cap below the initial delay caps that too.
    expect(backoffMs(policy({ initial_backoff_ms: 1000, max_backoff_ms: 300 }), 1)).toBe(300);
  });

  it('is the defaults of a definition that names no policy: 1 s, doubling, at most 60 s', () => {
    const p = policy();
    expect(p).toMatchObject({
      max_attempts: 3,
      initial_backoff_ms: 1000,
      backoff_multiplier: 2,
      max_backoff_ms: 60_000,
      non_retryable: [],
    });
    expect([1, 2, 3, 7, 8].map((n) => backoffMs(p, n))).toEqual([1000, 2000, 4000, 60_000, 60_000]);
  });

  it('a multiplier of 1 is a constant delay, and an initial delay of 0 retries at once, however many failures', () => {
    const constant = policy({ initial_backoff_ms: 250, backoff_multiplier: 1 });
    expect([1, 2, 10, 100].map((n) => backoffMs(constant, n))).toEqual([250, 250, 250, 250]);
    const immediate = policy({
      initial_backoff_ms: 0,
      backoff_multiplier: LIMITS.maxBackoffMultiplier,
      max_backoff_ms: LIMITS.maxBackoffMs,
    });
    expect([1, 2, LIMITS.maxAttempts].map((n) => backoffMs(immediate, n))).toEqual([0, 0, 0]);
  });

  it('treats zero or fewer failures as the first', () => {
    const p = policy({ initial_backoff_ms: 700 });
    expect(backoffMs(p, 0)).toBe(700);
    expect(backoffMs(p, -3)).toBe(700);
  });

  it('rounds a fractional multiplier to whole milliseconds', () => {
    const p = policy({ initial_backoff_ms: 100, backoff_multiplier: 1.5, max_backoff_ms: 1_000_000 });
    expect([1, 2, 3, 4].map((n) => backoffMs(p, n))).toEqual([100, 150, 225, 338]);
  });

  it('has no jitter, and at the largest values the schema allows stays a finite whole number within [0, max_backoff_ms], never decreasing', () => {
    const policies = fc.record({
      initial_backoff_ms: fc.integer({ min: 0, max: LIMITS.maxBackoffMs }),
      backoff_multiplier: fc.oneof(
        fc.integer({ min: 1, max: LIMITS.maxBackoffMultiplier }),
        fc.double({ min: 1, max: LIMITS.maxBackoffMultiplier, noNaN: true }),
      ),
      max_backoff_ms: fc.integer({ min: 0, max: LIMITS.maxBackoffMs }),
    });
    fc.assert(
      fc.property(policies, fc.integer({ min: 1, max: LIMITS.maxAttempts - 1 }), (overrides, failures) => {
        const p = policy(overrides);
        const delay = backoffMs(p, failures);
        expect(Number.isSafeInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(p.max_backoff_ms);
        expect(backoffMs(p, failures)).toBe(delay);
        expect(backoffMs(p, failures + 1)).toBeGreaterThanOrEqual(delay);
      }),
    );
    const extreme = policy({
      initial_backoff_ms: LIMITS.maxBackoffMs,
      backoff_multiplier: LIMITS.maxBackoffMultiplier,
      max_backoff_ms: LIMITS.maxBackoffMs,
    });
    expect(backoffMs(extreme, LIMITS.maxAttempts)).toBe(LIMITS.maxBackoffMs);
  });
});

describe('mayRetry', () => {
  const p = policy({ max_attempts: 3, non_retryable: ['invalid_input', 'quota_exceeded'] });

  it('retries a failure while the attempts of this round are fewer than max_attempts', () => {
    const error = { code: 'step_timeout', retryable: true };
    expect([0, 1, 2, 3, 4].map((used) => mayRetry(p, error, used))).toEqual([true, true, true, false, false]);
  });

  it('with max_attempts 1 never retries', () => {
    expect(mayRetry(policy({ max_attempts: 1 }), { code: 'step_timeout' }, 1)).toBe(false);
  });

  it('never retries a failure its executor marked non-retryable, attempts left or not', () => {
    expect(mayRetry(p, { code: 'invalid_output', retryable: false }, 1)).toBe(false);
  });

  it('never retries a code the policy lists as non-retryable, even one the executor thought retryable', () => {
    expect(mayRetry(p, { code: 'invalid_input' }, 1)).toBe(false);
    expect(mayRetry(p, { code: 'quota_exceeded', retryable: true }, 1)).toBe(false);
    // Codes match exactly: a prefix is another code.
    expect(mayRetry(p, { code: 'invalid', retryable: true }, 1)).toBe(true);
  });

  it('leaves a failure that says nothing about retrying to the policy', () => {
    expect(mayRetry(p, { code: 'executor_crashed' }, 1)).toBe(true);
    expect(mayRetry(p, { code: 'executor_crashed' }, 3)).toBe(false);
  });
});
