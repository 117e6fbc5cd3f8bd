import { describe, expect, it } from 'vitest';
import { mulberry32, shuffled, stratifiedSplit } from '../../../src/executors/training/split.js';

describe('seeded split', () => {
  it('mulberry32 is a fixed sequence for a seed, in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const first = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(first);
    expect(first.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Array.from({ length: 5 }, mulberry32(43))).not.toEqual(first);
    // Pinned: a change to the generator would silently change every trained model's digest.
    expect(mulberry32(1)()).toBe(0.6270739405881613);
  });

  it('shuffles a copy into a permutation', () => {
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const out = shuffled(items, mulberry32(7));
    expect(items).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...out].sort((x, y) => x - y)).toEqual(items);
    expect(shuffled(items, mulberry32(7))).toEqual(out);
  });

  it('holds out the same share of every label, the same way for the same seed', () => {
    const items = [
      ...Array.from({ length: 10 }, (_, i) => ({ id: `a${i}`, label: 'a' })),
      ...Array.from({ length: 5 }, (_, i) => ({ id: `b${i}`, label: 'b' })),
    ];
    const split = stratifiedSplit(items, (x) => x.label, 0.2, 3);
    expect(split.test.filter((x) => x.label === 'a')).toHaveLength(2);
    expect(split.test.filter((x) => x.label === 'b')).toHaveLength(1);
    expect(split.train).toHaveLength(12);
    expect(new Set([...split.train, ...split.test].map((x) => x.id)).size).toBe(15);
    expect(stratifiedSplit([...items].reverse(), (x) => x.label, 0.2, 3).test.map((x) => x.id).length).toBe(3);
    expect(stratifiedSplit(items, (x) => x.label, 0.2, 3)).toEqual(split);
    const others = [4, 5, 6, 7, 8].map((seed) =>
      stratifiedSplit(items, (x) => x.label, 0.2, seed)
        .test.map((x) => x.id)
        .join(),
    );
    expect(others.some((ids) => ids !== split.test.map((x) => x.id).join())).toBe(true);
  });

  it('keeps at least one example of each label for training, and none held out at fraction 0', () => {
    const items = [{ label: 'a' }, { label: 'b' }, { label: 'b' }];
    const split = stratifiedSplit(items, (x) => x.label, 0.9, 1);
    expect(split.train.map((x) => x.label).sort()).toEqual(['a', 'b']);
    expect(split.test).toEqual([{ label: 'b' }]);
    expect(stratifiedSplit(items, (x) => x.label, 0, 1).test).toEqual([]);
  });
});
