import { describe, expect, it } from 'vitest';
import { OVER_QUOTA_POLICIES, PRICING_MODELS } from '../../../src/attest/settlement/index.js';
import { createListingRequest } from '../../../src/api/schemas.js';
import { EnvError } from '../../../src/env.js';
import { MarketError } from '../../../src/market/errors.js';
import { DEFAULT_PLATFORM_FEE_BPS, platformFeeBps } from '../../../src/market/fee.js';
import { normalizeTags } from '../../../src/market/listings.js';
import { decodeCursor, encodeCursor } from '../../../src/market/search-cursor.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('it did not throw');
}

describe('listing rules', () => {
  it("the request schema's models and over-quota policies are exactly the settlement's", () => {
    const pricing = createListingRequest.shape.pricing.shape;
    expect(pricing.model.options).toEqual([...PRICING_MODELS]);
    expect(pricing.over_quota.unwrap().options).toEqual([...OVER_QUOTA_POLICIES]);
  });

  it('normalizes tags to trimmed lowercase, each once, and names a bad one by its index', () => {
    expect(normalizeTags([' PDF ', 'pdf', 'Nlp'])).toEqual(['pdf', 'nlp']);
    const error = thrown(() => normalizeTags(['ok', '  ']));
    expect(error).toBeInstanceOf(MarketError);
    expect((error as MarketError).context.field).toBe('tags[1]');
  });

  it('reads the platform fee from VERITY_PLATFORM_FEE_BPS, 0 to 10000, default 500', () => {
    expect(platformFeeBps({})).toBe(DEFAULT_PLATFORM_FEE_BPS);
    expect(DEFAULT_PLATFORM_FEE_BPS).toBe(500);
    expect(platformFeeBps({ VERITY_PLATFORM_FEE_BPS: '0' })).toBe(0);
    expect(platformFeeBps({ VERITY_PLATFORM_FEE_BPS: '10000' })).toBe(10_000);
    for (const bad of ['10001', '-1', '2.5', 'five']) {
      const error = thrown(() => platformFeeBps({ VERITY_PLATFORM_FEE_BPS: bad }));
      expect(error, bad).toBeInstanceOf(EnvError);
      expect((error as EnvError).message).toContain('VERITY_PLATFORM_FEE_BPS');
    }
  });

  it('round-trips a search cursor of its own sort and refuses any other', () => {
    const after = { key: -1, id: '0190f3c2-0000-7000-8000-000000000001' };
    const cursor = encodeCursor('rating', after);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor('rating', cursor)).toEqual(after);
    for (const [sort, bad] of [
      ['newest', cursor],
      ['rating', 'not a cursor'],
      ['rating', Buffer.from('["rating", 1.5, "x"]').toString('base64url')],
      ['rating', Buffer.from('["best", 1, "x"]').toString('base64url')],
      ['rating', Buffer.from('{"k": 1}').toString('base64url')],
    ] as const) {
      const error = thrown(() => decodeCursor(sort, bad));
      expect(error, bad).toBeInstanceOf(MarketError);
      expect((error as MarketError).code).toBe('invalid_cursor');
    }
  });
});
