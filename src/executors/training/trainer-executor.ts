import { isBlobDigest, isBlobRef } from '../../blobs/blob-ref.js';
import type { BlobRef } from '../../blobs/blob-ref.js';
import { BlobError } from '../../blobs/errors.js';
import { canonicalJson } from '../../attest/canonical.js';
import { describeError } from '../../errors.js';
import type { Executor, ExecutorContext, ExecutorJob, ExecutorResult } from '../executor.js';
import { ExecutorError } from '../executor.js';
import { inputObject, invalidInput, optionalNumber } from './inputs.js';
import { classificationMetrics } from './metrics.js';
import type { Metrics } from './metrics.js';
import {
  NAIVE_BAYES_FORMAT,
  NAIVE_BAYES_MEDIA_TYPE,
  NAIVE_BAYES_VERSION,
  classify,
  parseNaiveBayesModel,
  trainNaiveBayes,
} from './naive-bayes.js';
import type { LabelledText, NaiveBayesModel, Prediction } from './naive-bayes.js';
import { stratifiedSplit } from './split.js';

export const NAIVE_BAYES_MODEL = NAIVE_BAYES_FORMAT;
export const TRAINING_LIMITS = { maxExamples: 100_000, maxTextChars: 100_000, maxTexts: 10_000 } as const;
export const TRAINING_DEFAULTS = { seed: 0, testFraction: 0.2, alpha: 1, ngrams: 1 } as const;

export interface TrainingOutput {
  model: BlobRef;
  metrics: Metrics;
  labels: string[];
}

/**
 * The `verity/naive-bayes` model, for two step types:
 * - `training`: `{ examples: [{ text, label }], seed?, test_fraction?, alpha?, ngrams? }` → a seeded,
 *   stratified split, a multinomial naive Bayes fit on the training part, and `{ model: <blob ref>, metrics,
 *   labels }` scored on the held-out part. The model blob is canonical JSON, so the same examples and seed
 *   give the same digest byte for byte.
 * - `inference`: `{ model: <blob ref or "sha256:…">, text }` → `{ label, scores }`, or `texts` →
 *   `{ results: [...] }`. The attestation records the blob's digest as the model's digest: exactly which
 *   trained weights classified the text.
 *
 * One model name for both, rather than a separate classify name, because it is one model family: the step
 * type says whether it is being fitted or used, and a worker that can train it can always run it.
 */
export class NaiveBayesExecutor implements Executor {
  readonly name = 'naive-bayes';
  readonly capabilities = { stepTypes: [], models: [NAIVE_BAYES_MODEL] };

  async run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
    switch (job.stepType) {
      case 'training':
        return this.train(job, context);
      case 'inference':
        return this.classify(job, context);
      default:
        throw new ExecutorError(
          'invalid_step',
          `${NAIVE_BAYES_MODEL} runs training and inference steps, not ${job.stepType} (step ${job.stepId})`,
          {
            retryable: false,
          },
        );
    }
  }

  private async train(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
    const params = inputObject(job.input);
    const examples = readExamples(params.examples);
    const seed = optionalNumber(params, 'seed', TRAINING_DEFAULTS.seed, { min: 0, max: 0xffffffff, integer: true });
    const testFraction = optionalNumber(params, 'test_fraction', TRAINING_DEFAULTS.testFraction, { min: 0, max: 0.9 });
    const alpha = optionalNumber(params, 'alpha', TRAINING_DEFAULTS.alpha, { min: 0, max: 1e6, exclusiveMin: true });
    const ngrams = optionalNumber(params, 'ngrams', TRAINING_DEFAULTS.ngrams, { min: 1, max: 2, integer: true }) as
      1 | 2;

    const { train, test } = stratifiedSplit(examples, (e) => e.label, testFraction, seed);
    const model = trainNaiveBayes(train, { alpha, features: { ngrams } });
    const pairs = test.map((e) => ({ actual: e.label, predicted: classify(model, e.text).label }));
    const metrics = classificationMetrics(model.labels, pairs, train.length);
    const ref = await context.blobs.put(Buffer.from(canonicalJson(model), 'utf8'), NAIVE_BAYES_MEDIA_TYPE);
    const output: TrainingOutput = { model: ref, metrics, labels: model.labels };
    return {
      output,
      usage: { examples: examples.length, train_size: train.length, test_size: test.length },
      model: { name: NAIVE_BAYES_MODEL, version: String(NAIVE_BAYES_VERSION) },
    };
  }

  private async classify(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
    const params = inputObject(job.input);
    const texts = readTexts(params);
    const { model, digest } = await loadModel(params.model, context);
    const results: Prediction[] = texts.list.map((text) => classify(model, text));
    return {
      output: texts.single ? results[0] : { results },
      usage: { texts: results.length },
      // The statement records hex digests; the blob's is "sha256:<hex>".
      model: { name: NAIVE_BAYES_MODEL, version: String(NAIVE_BAYES_VERSION), digest: digest.slice('sha256:'.length) },
    };
  }
}

function readExamples(value: unknown): LabelledText[] {
  if (!Array.isArray(value) || value.length === 0)
    throw invalidInput('examples', 'must be a non-empty array of { text, label }');
  if (value.length > TRAINING_LIMITS.maxExamples)
    throw invalidInput('examples', `has more than ${TRAINING_LIMITS.maxExamples} items`);
  const examples = value.map((item: unknown, i): LabelledText => {
    if (item === null || typeof item !== 'object' || Array.isArray(item))
      throw invalidInput(`examples[${i}]`, 'must be an object { text, label }');
    const { text, label } = item as Record<string, unknown>;
    if (typeof text !== 'string') throw invalidInput(`examples[${i}].text`, 'must be a string');
    if (text.length > TRAINING_LIMITS.maxTextChars)
      throw invalidInput(`examples[${i}].text`, `is longer than ${TRAINING_LIMITS.maxTextChars} characters`);
    if (typeof label !== 'string' || label === '')
      throw invalidInput(`examples[${i}].label`, 'must be a non-empty string');
    return { text, label };
  });
  if (new Set(examples.map((e) => e.label)).size < 2)
    throw invalidInput('examples', 'must hold at least two different labels to learn to tell apart');
  return examples;
}

function readTexts(params: Record<string, unknown>): { single: boolean; list: string[] } {
  const { text, texts } = params;
  if (text !== undefined && texts !== undefined)
    throw invalidInput('texts', 'cannot be given together with text; give one of them');
  if (text !== undefined) {
    if (typeof text !== 'string') throw invalidInput('text', 'must be a string');
    if (text.length > TRAINING_LIMITS.maxTextChars)
      throw invalidInput('text', `is longer than ${TRAINING_LIMITS.maxTextChars} characters`);
    return { single: true, list: [text] };
  }
  if (texts === undefined)
    throw invalidInput('text', 'is missing: give text (a string) or texts (an array of strings)');
  if (!Array.isArray(texts) || texts.length > TRAINING_LIMITS.maxTexts)
    throw invalidInput('texts', `must be an array of at most ${TRAINING_LIMITS.maxTexts} strings`);
  texts.forEach((t, i) => {
    if (typeof t !== 'string') throw invalidInput(`texts[${i}]`, 'must be a string');
    if (t.length > TRAINING_LIMITS.maxTextChars)
      throw invalidInput(`texts[${i}]`, `is longer than ${TRAINING_LIMITS.maxTextChars} characters`);
  });
  return { single: false, list: texts as string[] };
}

/** Reads and checks the trained model the input names; every failure says which model and why. */
async function loadModel(
  value: unknown,
  context: ExecutorContext,
): Promise<{ model: NaiveBayesModel; digest: string }> {
  let digest: string;
  if (isBlobRef(value)) {
    if (value.mediaType !== NAIVE_BAYES_MEDIA_TYPE) {
      throw invalidInput(
        'model',
        `names a blob of type ${value.mediaType}, not a trained model (${NAIVE_BAYES_MEDIA_TYPE}); pass a training step's output.model`,
      );
    }
    digest = value.$blob;
  } else if (isBlobDigest(value)) {
    digest = value;
  } else {
    throw invalidInput(
      'model',
      'must be a trained model: the blob reference a training step returns (steps.<id>.output.model) or its "sha256:<hex>" digest',
    );
  }
  let bytes: Buffer;
  try {
    bytes = await context.blobs.get(digest);
  } catch (error) {
    // A missing or forbidden blob will not appear on retry; a store that is briefly unreachable may.
    const retryable = error instanceof BlobError && error.code === 'unavailable';
    throw new ExecutorError(
      'model_unavailable',
      `verity/naive-bayes: cannot read the model ${digest} named by input field model: ${describeError(error)}`,
      {
        retryable,
        cause: error,
        context: { field: 'model', digest },
      },
    );
  }
  try {
    return { model: parseNaiveBayesModel(JSON.parse(bytes.toString('utf8'))), digest };
  } catch (error) {
    throw new ExecutorError(
      'invalid_model',
      `verity/naive-bayes: the blob ${digest} named by input field model is not a usable naive Bayes model: ${describeError(error)}`,
      {
        retryable: false,
        cause: error,
        context: { field: 'model', digest },
      },
    );
  }
}
