/** Classification metrics over a held-out set. */
export interface LabelMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Held-out examples with this label. */
  support: number;
}

export interface Metrics {
  /** Share of held-out examples classified right; null when nothing was held out. */
  accuracy: number | null;
  per_label: Record<string, LabelMetrics>;
  train_size: number;
  test_size: number;
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Precision, recall and F1 per label (0 where undefined: a label never predicted or never present). */
export function classificationMetrics(
  labels: readonly string[],
  pairs: readonly { actual: string; predicted: string }[],
  trainSize: number,
): Metrics {
  const correct = pairs.filter((p) => p.actual === p.predicted).length;
  const per_label: Record<string, LabelMetrics> = Object.fromEntries(
    labels.map((label) => {
      const tp = pairs.filter((p) => p.predicted === label && p.actual === label).length;
      const predicted = pairs.filter((p) => p.predicted === label).length;
      const actual = pairs.filter((p) => p.actual === label).length;
      const precision = predicted === 0 ? 0 : tp / predicted;
      const recall = actual === 0 ? 0 : tp / actual;
      const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
      return [label, { precision: round4(precision), recall: round4(recall), f1: round4(f1), support: actual }];
    }),
  );
  return {
    accuracy: pairs.length === 0 ? null : round4(correct / pairs.length),
    per_label,
    train_size: trainSize,
    test_size: pairs.length,
  };
}
