import { describe, expect, it } from 'vitest';
import { credits, parseCredits, signedCredits } from '../../../web/src/lib/money.js';

/** Micro-units on the dashboard: integer arithmetic all the way to the text. */
describe('the dashboard money formatter', () => {
  it('shows micro-units as credits, with grouped thousands and no trailing zeros', () => {
    expect(credits(0)).toBe('0');
    expect(credits(1)).toBe('0.000001');
    expect(credits(1_000_000)).toBe('1');
    expect(credits(1_500_000)).toBe('1.5');
    expect(credits(2_050_000)).toBe('2.05');
    expect(credits(1_234_500_000)).toBe('1,234.5');
    expect(credits(-250_000)).toBe('−0.25');
  });

  it('is exact to the micro-unit at the largest amount the API allows', () => {
    // Past 2^33 a float quotient keeps too few bits for six decimals; the integer remainder keeps them all.
    expect(credits(Number.MAX_SAFE_INTEGER)).toBe('9,007,199,254.740991');
    expect(credits(9_007_199_254_740_001)).toBe('9,007,199,254.740001');
  });

  it('signs postings: money in with +, money out with −, nothing for zero', () => {
    expect(signedCredits(1_000)).toBe('+0.001');
    expect(signedCredits(-1_000)).toBe('−0.001');
    expect(signedCredits(0)).toBe('0');
  });

  it('reads typed credits as micro-units and refuses what is not an amount', () => {
    expect(parseCredits('2')).toEqual({ micro: 2_000_000 });
    expect(parseCredits(' 0.25 ')).toEqual({ micro: 250_000 });
    expect(parseCredits('1,000.000001')).toEqual({ micro: 1_000_000_001 });
    expect(parseCredits('3.')).toEqual({ micro: 3_000_000 });
    expect(parseCredits('')).toEqual({ error: 'Enter an amount in credits.' });
    expect(parseCredits('-1')).toHaveProperty('error', expect.stringContaining('not an amount'));
    expect(parseCredits('1e3')).toHaveProperty('error', expect.stringContaining('not an amount'));
    expect(parseCredits('0.0000001')).toHaveProperty('error', expect.stringContaining('At most 6 decimals'));
    expect(parseCredits('99999999999')).toHaveProperty('error', 'That amount is too large.');
  });
});
