/**
 * Seeded, reproducible train/test splits: the same examples and seed always give the same split, on any
 * machine, so a trained model's digest is reproducible.
 */

/** mulberry32: a tiny 32-bit PRNG, good enough to shuffle, returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface Split<T> {
  train: T[];
  test: T[];
}

/**
 * Splits stratified by label: each label's examples (labels in sorted order, one PRNG stream) are shuffled
 * and `round(n × testFraction)` of them held out, keeping at least one for training, so every label is both
 * learnt and, when it has two examples or more and the fraction is not 0, tested.
 */
export function stratifiedSplit<T>(
  items: readonly T[],
  labelOf: (item: T) => string,
  testFraction: number,
  seed: number,
): Split<T> {
  const byLabel = new Map<string, T[]>();
  for (const item of items) {
    const label = labelOf(item);
    const group = byLabel.get(label);
    if (group) group.push(item);
    else byLabel.set(label, [item]);
  }
  const random = mulberry32(seed);
  const train: T[] = [];
  const test: T[] = [];
  for (const label of [...byLabel.keys()].sort()) {
    const group = shuffled(byLabel.get(label)!, random);
    let held = Math.round(group.length * testFraction);
    if (testFraction > 0 && held === 0 && group.length >= 2) held = 1;
    held = Math.min(held, group.length - 1);
    test.push(...group.slice(0, held));
    train.push(...group.slice(held));
  }
  return { train, test };
}
