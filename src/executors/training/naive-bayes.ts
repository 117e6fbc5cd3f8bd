import { bagOfWords } from './text-features.js';
import type { FeatureOptions } from './text-features.js';

/**
 * Multinomial naive Bayes over bags of words, with Laplace (add-alpha) smoothing. The model keeps integer
 * counts, not probabilities, so its canonical JSON is exact and the same data always gives the same bytes;
 * probabilities are computed from the counts when classifying.
 */

export const NAIVE_BAYES_FORMAT = 'verity/naive-bayes';
export const NAIVE_BAYES_VERSION = 1;
export const NAIVE_BAYES_MEDIA_TYPE = 'application/vnd.verity.naive-bayes+json';

export interface LabelledText {
  text: string;
  label: string;
}

export interface NaiveBayesModel {
  format: typeof NAIVE_BAYES_FORMAT;
  version: typeof NAIVE_BAYES_VERSION;
  features: FeatureOptions;
  alpha: number;
  /** Sorted. */
  labels: string[];
  /** Training texts per label (the priors). */
  documents: Record<string, number>;
  /** Feature occurrences per label, then per feature. */
  counts: Record<string, Record<string, number>>;
  /** Total feature occurrences per label. */
  totals: Record<string, number>;
  /** Distinct features seen in training. */
  vocabulary: number;
}

export interface Prediction {
  label: string;
  /** Posterior probability of each label, rounded to 6 decimals. */
  scores: Record<string, number>;
}

export function trainNaiveBayes(
  examples: readonly LabelledText[],
  options: { alpha: number; features: FeatureOptions },
): NaiveBayesModel {
  const documents = new Map<string, number>();
  const counts = new Map<string, Map<string, number>>();
  const totals = new Map<string, number>();
  const vocabulary = new Set<string>();
  for (const { text, label } of examples) {
    documents.set(label, (documents.get(label) ?? 0) + 1);
    let labelCounts = counts.get(label);
    if (!labelCounts) counts.set(label, (labelCounts = new Map<string, number>()));
    for (const [feature, n] of bagOfWords(text, options.features)) {
      labelCounts.set(feature, (labelCounts.get(feature) ?? 0) + n);
      totals.set(label, (totals.get(label) ?? 0) + n);
      vocabulary.add(feature);
    }
  }
  const labels = [...documents.keys()].sort();
  // fromEntries defines own properties, so a feature or label named like an Object.prototype member is safe.
  return {
    format: NAIVE_BAYES_FORMAT,
    version: NAIVE_BAYES_VERSION,
    features: { ...options.features },
    alpha: options.alpha,
    labels,
    documents: Object.fromEntries(labels.map((l) => [l, documents.get(l)!])),
    counts: Object.fromEntries(
      labels.map((l) => [l, Object.fromEntries([...counts.get(l)!].sort(([a], [b]) => (a < b ? -1 : 1)))]),
    ),
    totals: Object.fromEntries(labels.map((l) => [l, totals.get(l) ?? 0])),
    vocabulary: vocabulary.size,
  };
}

/** Log P(label) + Σ n(f) · log P(f | label) for each label; features never seen in training are ignored. */
export function logScores(model: NaiveBayesModel, text: string): Map<string, number> {
  const totalDocuments = model.labels.reduce((sum, l) => sum + model.documents[l]!, 0);
  const bag = [...bagOfWords(text, model.features)].filter(([feature]) =>
    model.labels.some((l) => Object.hasOwn(model.counts[l]!, feature)),
  );
  const scores = new Map<string, number>();
  for (const label of model.labels) {
    const counts = model.counts[label]!;
    const denominator = model.totals[label]! + model.alpha * model.vocabulary;
    let score = Math.log(model.documents[label]! / totalDocuments);
    for (const [feature, n] of bag) {
      const count = Object.hasOwn(counts, feature) ? counts[feature]! : 0;
      score += n * Math.log((count + model.alpha) / denominator);
    }
    scores.set(label, score);
  }
  return scores;
}

/** The most probable label (the first in sorted order on a tie) and every label's posterior. */
export function classify(model: NaiveBayesModel, text: string): Prediction {
  const logs = logScores(model, text);
  let best = model.labels[0]!;
  for (const label of model.labels) if (logs.get(label)! > logs.get(best)!) best = label;
  // Softmax relative to the best score, so long texts do not underflow to 0/0.
  const top = logs.get(best)!;
  const weights = model.labels.map((l) => Math.exp(logs.get(l)! - top));
  const sum = weights.reduce((a, b) => a + b, 0);
  const scores = Object.fromEntries(model.labels.map((l, i) => [l, Math.round((weights[i]! / sum) * 1e6) / 1e6]));
  return { label: best, scores };
}

/**
 * Checks that a parsed value is a model this code can run, with a message naming the first problem.
 * Models come from blobs any step may have written, so nothing about them is taken on trust.
 */
export function parseNaiveBayesModel(value: unknown): NaiveBayesModel {
  const fail = (message: string): never => {
    throw new TypeError(message);
  };
  const isRecord = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!isRecord(value)) return fail('the model is not a JSON object');
  if (value.format !== NAIVE_BAYES_FORMAT)
    return fail(`the model's format is ${JSON.stringify(value.format)}, not "${NAIVE_BAYES_FORMAT}"`);
  if (value.version !== NAIVE_BAYES_VERSION)
    return fail(
      `the model's version is ${JSON.stringify(value.version)}; this worker reads version ${NAIVE_BAYES_VERSION}`,
    );
  const features = value.features;
  if (!isRecord(features) || (features.ngrams !== 1 && features.ngrams !== 2))
    fail("the model's features.ngrams must be 1 or 2");
  if (typeof value.alpha !== 'number' || !(value.alpha > 0) || !Number.isFinite(value.alpha))
    fail("the model's alpha must be a positive number");
  const labels = value.labels;
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string'))
    return fail("the model's labels must be a non-empty array of strings");
  if (new Set(labels).size !== labels.length) fail("the model's labels repeat");
  if (!isCount(value.vocabulary)) fail("the model's vocabulary must be a count");
  for (const field of ['documents', 'totals', 'counts'] as const) {
    const table = value[field];
    if (!isRecord(table)) return fail(`the model's ${field} must be an object keyed by label`);
    for (const label of labels)
      if (!Object.hasOwn(table, label)) fail(`the model's ${field} has no entry for label ${JSON.stringify(label)}`);
  }
  const documents = value.documents as Record<string, unknown>;
  const totals = value.totals as Record<string, unknown>;
  const counts = value.counts as Record<string, unknown>;
  for (const label of labels) {
    if (!isCount(documents[label]) || documents[label] === 0)
      fail(`the model's documents.${label} must be a positive count`);
    if (!isCount(totals[label])) fail(`the model's totals.${label} must be a count`);
    const table = counts[label];
    if (!isRecord(table)) return fail(`the model's counts.${label} must be an object of feature counts`);
    let sum = 0;
    for (const n of Object.values(table)) {
      if (!isCount(n)) fail(`the model's counts.${label} holds a value that is not a count`);
      sum += n as number;
    }
    if (sum !== totals[label])
      fail(`the model's totals.${label} is ${String(totals[label])} but its counts add up to ${sum}`);
  }
  return value as unknown as NaiveBayesModel;
}
