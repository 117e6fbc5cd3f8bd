import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeVotes, tally } from '../../../src/engine/redundancy.js';
import type { Vote } from '../../../src/engine/redundancy.js';

/**
 * A redundant step's tally: k replicas of one attempt, the output is the one `quorum` of them agree on, and
 * agreeing replicas count once per principal (and per key): one party with many keys is one voter.
 */

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
let next = 0;
const vote = (outputDigest: string, principal: string | undefined, extra: Partial<Vote> = {}): Vote => {
  const n = next++;
  return {
    replica: n,
    outputDigest,
    workerId: `w${n}`,
    workerKeyId: `key-${n}`,
    ...(principal !== undefined && { principal }),
    ...extra,
  };
};

describe('tally', () => {
  it('agrees once quorum replicas of distinct principals report the same output', () => {
    const votes = [vote(A, 'p1', { replica: 0 }), vote(A, 'p2', { replica: 1 })];
    expect(tally(votes, 1, 2)).toEqual({ state: 'agreed', outputDigest: A, primary: 0, agreeing: 2 });
  });

  it('takes the lowest agreeing replica as the primary, whatever order the results came in', () => {
    const votes = [vote(B, 'p0', { replica: 0 }), vote(A, 'p2', { replica: 2 }), vote(A, 'p1', { replica: 1 })];
    expect(tally(votes, 0, 2)).toEqual({ state: 'agreed', outputDigest: A, primary: 1, agreeing: 2 });
  });

  it('counts a principal once, however many of its workers or keys agree', () => {
    const sybil = [vote(A, 'sybil'), vote(A, 'sybil'), vote(A, 'sybil')];
    expect(tally(sybil, 0, 2)).toEqual({ state: 'impossible', best: 1 });
    expect(tally(sybil, 1, 2)).toEqual({ state: 'waiting', best: 1 });
    expect(tally([...sybil, vote(A, 'honest')], 0, 2)).toMatchObject({ state: 'agreed', agreeing: 2 });
  });

  it('counts one key once, even under two principals', () => {
    const votes = [vote(A, 'p1', { workerKeyId: 'shared' }), vote(A, 'p2', { workerKeyId: 'shared' })];
    expect(tally(votes, 0, 2)).toEqual({ state: 'impossible', best: 1 });
  });

  it('waits while the replicas still running could make a quorum, and gives up once they cannot', () => {
    // 3 replicas, quorum 2: one result in, two running.
    expect(tally([vote(A, 'p1')], 2, 2)).toEqual({ state: 'waiting', best: 1 });
    // Two disagree, one running: it could side with either.
    expect(tally([vote(A, 'p1'), vote(B, 'p2')], 1, 2)).toEqual({ state: 'waiting', best: 1 });
    // All three disagree.
    expect(tally([vote(A, 'p1'), vote(B, 'p2'), vote(C, 'p3')], 0, 2)).toEqual({ state: 'impossible', best: 1 });
    // 5 replicas, quorum 3: 2 + 2 split with one running can still reach 3.
    expect(tally([vote(A, 'p1'), vote(A, 'p2'), vote(B, 'p3'), vote(B, 'p4')], 1, 3)).toEqual({
      state: 'waiting',
      best: 2,
    });
    expect(tally([vote(A, 'p1'), vote(A, 'p2'), vote(B, 'p3'), vote(B, 'p4')], 0, 3)).toEqual({
      state: 'impossible',
      best: 2,
    });
  });

  it('a tie is no answer: a 2–2 split of 4 replicas with quorum 3 fails rather than pick between equals', () => {
    const tie = [vote(A, 'p1'), vote(A, 'p2'), vote(B, 'p3'), vote(B, 'p4')];
    expect(tally(tie, 0, 3)).toEqual({ state: 'impossible', best: 2 });
  });

  it('with nothing in yet waits for the replicas running, or is impossible with none', () => {
    expect(tally([], 3, 2)).toEqual({ state: 'waiting', best: 0 });
    expect(tally([], 1, 2)).toEqual({ state: 'impossible', best: 0 });
  });

  it('counts replicas recorded without a principal by their key, or their worker when unattested', () => {
    expect(tally([vote(A, undefined), vote(A, undefined)], 0, 2)).toMatchObject({ state: 'agreed', agreeing: 2 });
    const unattested = (workerId: string): Vote => ({ replica: next++, outputDigest: A, workerId });
    expect(tally([unattested('w1'), unattested('w1')], 0, 2)).toEqual({ state: 'impossible', best: 1 });
    expect(tally([unattested('w1'), unattested('w2')], 0, 2)).toMatchObject({ state: 'agreed', agreeing: 2 });
  });

  it('never agrees without quorum distinct principals and keys behind one output, and is impossible only when the pending replicas could not close the gap', () => {
    const votes = fc.array(
      fc.record({
        replica: fc.nat(10),
        outputDigest: fc.constantFrom(A, B, C),
        workerId: fc.constantFrom('w1', 'w2', 'w3'),
        workerKeyId: fc.option(fc.constantFrom('k1', 'k2', 'k3', 'k4'), { nil: undefined }),
        principal: fc.option(fc.constantFrom('p1', 'p2', 'p3'), { nil: undefined }),
      }),
      { maxLength: 7 },
    );
    fc.assert(
      fc.property(votes, fc.nat(7), fc.integer({ min: 1, max: 7 }), (vs, pending, quorum) => {
        const result = tally(vs, pending, quorum);
        if (result.state === 'agreed') {
          const agreeing = vs.filter((v) => v.outputDigest === result.outputDigest);
          expect(result.agreeing).toBeGreaterThanOrEqual(quorum);
          expect(
            new Set(agreeing.map((v) => v.principal ?? `key:${v.workerKeyId ?? v.workerId}`)).size,
          ).toBeGreaterThanOrEqual(quorum);
          expect(result.primary).toBe(Math.min(...agreeing.map((v) => v.replica)));
        } else {
          expect(result.best).toBeLessThan(quorum);
          expect(result.state).toBe(result.best + pending >= quorum ? 'waiting' : 'impossible');
        }
      }),
    );
  });
});

describe('describeVotes', () => {
  it('names each replica, its worker, principal and key, and the output it reported', () => {
    const text = describeVotes([
      { replica: 0, outputDigest: A, workerId: 'w1', workerKeyId: '1a2b3c4d5e6f7a8b', principal: 'acme' },
      { replica: 1, outputDigest: B, workerId: 'w2' },
    ]);
    expect(text).toBe(
      `replica 0 on worker w1 of acme (key 1a2b3c4d5e6f…) → ${'a'.repeat(12)}…; replica 1 on worker w2 → ${'b'.repeat(12)}…`,
    );
  });
});
