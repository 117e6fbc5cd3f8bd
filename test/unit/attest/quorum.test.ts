import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countAgreement, describeAgreement } from '../../../src/attest/quorum.js';

/** The quorum rule the engine and the verifier share: agreeing replicas count once per principal (and per key). */

describe('countAgreement', () => {
  it('counts principals, not keys: two keys of one principal are one voice', () => {
    expect(
      countAgreement([
        { principal: 'sybil', workerKeyId: 'k1' },
        { principal: 'sybil', workerKeyId: 'k2' },
      ]),
    ).toEqual({ principals: 1, keys: 2, count: 1 });
    expect(
      countAgreement([
        { principal: 'a', workerKeyId: 'k1' },
        { principal: 'b', workerKeyId: 'k2' },
      ]),
    ).toEqual({ principals: 2, keys: 2, count: 2 });
  });

  it('counts one key once even when stated under two principals', () => {
    expect(
      countAgreement([
        { principal: 'a', workerKeyId: 'k1' },
        { principal: 'b', workerKeyId: 'k1' },
      ]),
    ).toEqual({ principals: 2, keys: 1, count: 1 });
  });

  it('a replica recorded without a principal stands for itself by its key (or worker), and cannot pose as a principal of that name', () => {
    expect(countAgreement([{ workerKeyId: 'k1' }, { principal: 'k1', workerKeyId: 'k2' }])).toMatchObject({
      principals: 2,
      count: 2,
    });
    expect(countAgreement([{ workerId: 'w1' }, { workerId: 'w1' }])).toEqual({ principals: 1, keys: 1, count: 1 });
    expect(countAgreement([])).toEqual({ principals: 0, keys: 0, count: 0 });
  });

  it('never counts more than the distinct principals or the distinct keys, and never throws', () => {
    const voice = fc.record({
      principal: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: undefined }),
      workerKeyId: fc.option(fc.constantFrom('k1', 'k2', 'k3', 'k4'), { nil: undefined }),
      workerId: fc.option(fc.string(), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(voice, { maxLength: 8 }), (voices) => {
        const a = countAgreement(voices);
        const named = new Set(voices.filter((v) => v.principal !== undefined).map((v) => v.principal));
        expect(a.count).toBe(Math.min(a.principals, a.keys));
        expect(a.count).toBeLessThanOrEqual(voices.length);
        if (voices.every((v) => v.principal !== undefined)) expect(a.principals).toBe(named.size);
      }),
    );
  });
});

describe('describeAgreement', () => {
  it('names the principals, and the keys when they are fewer', () => {
    expect(describeAgreement({ principals: 1, keys: 1, count: 1 })).toBe('1 distinct principal');
    expect(describeAgreement({ principals: 2, keys: 3, count: 2 })).toBe('2 distinct principals');
    expect(describeAgreement({ principals: 3, keys: 1, count: 1 })).toBe(
      '3 distinct principals on 1 distinct worker key',
    );
  });
});
