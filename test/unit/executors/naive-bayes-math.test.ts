import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/attest/canonical.js';
import { classificationMetrics } from '../../../src/executors/training/metrics.js';
import {
  classify,
  logScores,
  parseNaiveBayesModel,
  trainNaiveBayes,
} from '../../../src/executors/training/naive-bayes.js';
import { bagOfWords, features, words } from '../../../src/executors/training/text-features.js';

const tiny = trainNaiveBayes(
  [
    { text: 'Good good', label: 'pos' },
    { text: 'bad!', label: 'neg' },
  ],
  { alpha: 1, features: { ngrams: 1 } },
);

describe('text features', () => {
  it('lower-cases words, keeps inner apostrophes and drops punctuation', () => {
    expect(words("Don't PAY the $1,250 invoice!")).toEqual(["don't", 'pay', 'the', '1', '250', 'invoice']);
    expect(features('a b c', { ngrams: 2 })).toEqual(['a', 'b', 'c', 'a b', 'b c']);
    expect([...bagOfWords('to be or not to be', { ngrams: 1 })]).toEqual([
      ['to', 2],
      ['be', 2],
      ['or', 1],
      ['not', 1],
    ]);
  });
});

describe('multinomial naive Bayes', () => {
  it('keeps integer counts, sorted labels and the vocabulary size', () => {
    expect(tiny).toMatchObject({
      labels: ['neg', 'pos'],
      documents: { neg: 1, pos: 1 },
      totals: { neg: 1, pos: 2 },
      counts: { neg: { bad: 1 }, pos: { good: 2 } },
      vocabulary: 2,
    });
  });

  it('computes Laplace-smoothed posteriors that can be checked by hand', () => {
    // P(good|pos) = (2+1)/(2+2) = 3/4, P(good|neg) = (0+1)/(1+2) = 1/3, equal priors: 9/13 against 4/13.
    const good = logScores(tiny, 'good');
    expect(good.get('pos')).toBeCloseTo(Math.log(0.5 * 0.75), 12);
    expect(good.get('neg')).toBeCloseTo(Math.log(0.5 / 3), 12);
    expect(classify(tiny, 'good')).toEqual({ label: 'pos', scores: { neg: 0.307692, pos: 0.692308 } });
    // pos: 1/2 · 3/4 · 1/4 = 3/32; neg: 1/2 · 1/3 · 2/3 = 1/9; posteriors 27/59 and 32/59.
    expect(classify(tiny, 'good bad')).toEqual({ label: 'neg', scores: { neg: 0.542373, pos: 0.457627 } });
  });

  it('ignores words never seen in training, and breaks ties by label order', () => {
    expect(classify(tiny, 'ugly constructor __proto__')).toEqual({ label: 'neg', scores: { neg: 0.5, pos: 0.5 } });
  });

  it('serializes canonically: training twice gives the same bytes whatever the example order', () => {
    const a = trainNaiveBayes(
      [
        { text: 'x y', label: 'b' },
        { text: 'z', label: 'a' },
      ],
      { alpha: 0.5, features: { ngrams: 2 } },
    );
    const b = trainNaiveBayes(
      [
        { text: 'z', label: 'a' },
        { text: 'x y', label: 'b' },
      ],
      { alpha: 0.5, features: { ngrams: 2 } },
    );
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('checks a model before using it, naming the problem', () => {
    expect(parseNaiveBayesModel(JSON.parse(canonicalJson(tiny)))).toEqual(tiny);
    expect(() => parseNaiveBayesModel([])).toThrow(/not a JSON object/);
    expect(() => parseNaiveBayesModel({ ...tiny, format: 'other' })).toThrow(/format is "other"/);
    expect(() => parseNaiveBayesModel({ ...tiny, version: 2 })).toThrow(/version is 2/);
    expect(() => parseNaiveBayesModel({ ...tiny, totals: { neg: 1, pos: 3 } })).toThrow(
      /totals\.pos is 3 but its counts add up to 2/,
    );
    expect(() => parseNaiveBayesModel({ ...tiny, documents: { neg: 1 } })).toThrow(
      /documents has no entry for label "pos"/,
    );
  });
});

describe('classification metrics', () => {
  it('computes accuracy and per-label precision, recall and F1', () => {
    const metrics = classificationMetrics(
      ['a', 'b'],
      [
        { actual: 'a', predicted: 'a' },
        { actual: 'a', predicted: 'b' },
        { actual: 'b', predicted: 'b' },
        { actual: 'b', predicted: 'b' },
      ],
      10,
    );
    expect(metrics).toEqual({
      accuracy: 0.75,
      per_label: {
        a: { precision: 1, recall: 0.5, f1: 0.6667, support: 2 },
        b: { precision: 0.6667, recall: 1, f1: 0.8, support: 2 },
      },
      train_size: 10,
      test_size: 4,
    });
    expect(classificationMetrics(['a'], [], 3).accuracy).toBeNull();
  });
});
