import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { WinkMethods } from 'wink-nlp';
import { describeError } from '../../../errors.js';
import type { Capabilities } from '../../../store/records.js';
import type { Executor, ExecutorJob, ExecutorResult } from '../../executor.js';
import { ExecutorError } from '../../executor.js';
import { analyzeText } from './analyze.js';
import type { TextAnalysis } from './analyze.js';
import { directoryDigest } from './package-digest.js';

export const WINK_MODEL = 'wink-nlp';
const MODEL_PACKAGE = 'wink-eng-lite-web-model';
/** Bounds that keep one job from holding the worker's event loop for long (wink runs synchronously). */
export const WINK_LIMITS = { maxTextChars: 200_000, maxTexts: 1_000, maxTotalChars: 2_000_000 } as const;

interface LoadedModel {
  nlp: WinkMethods;
  version: string;
  digest: string;
}

// One load per process: every executor instance (and every worker slot) shares the parsed model.
let loading: Promise<LoadedModel> | undefined;
// And one hash of the model's files: prepare() needs it, and so does the load.
let hashing: Promise<string> | undefined;

const modelRoot = () => dirname(createRequire(import.meta.url).resolve(`${MODEL_PACKAGE}/package.json`));

function modelDigest(): Promise<string> {
  hashing ??= directoryDigest(modelRoot()).catch((error: unknown) => {
    hashing = undefined;
    throw error;
  });
  return hashing;
}

async function loadModel(): Promise<LoadedModel> {
  try {
    const root = modelRoot();
    const pkg = JSON.parse(await readFile(`${root}/package.json`, 'utf8')) as { version?: unknown };
    const [{ default: winkNLP }, { default: model }, digest] = await Promise.all([
      import('wink-nlp'),
      import('wink-eng-lite-web-model'),
      modelDigest(),
    ]);
    return { nlp: winkNLP(model), version: typeof pkg.version === 'string' ? pkg.version : 'unknown', digest };
  } catch (error) {
    throw new ExecutorError(
      'runtime_missing',
      `the wink-nlp model cannot load (${describeError(error)}); install it with: npm install wink-nlp ${MODEL_PACKAGE}`,
      {
        retryable: false,
        cause: error,
      },
    );
  }
}

/**
 * The `wink-nlp` model: sentences, named entities (DATE, MONEY, CARDINAL, EMAIL, URL, …), sentiment and a
 * token count for English text, with wink's lite web model, entirely offline.
 *
 * Input `{ text }` gives one analysis; `{ texts: [...] }` gives `{ results: [...] }` in the same order.
 * The attestation records the model package's version and the SHA-256 of its files, so a verifier knows
 * exactly which weights scored the text.
 */
export class WinkNlpExecutor implements Executor {
  readonly name = 'wink-nlp';
  readonly capabilities: Capabilities = { stepTypes: [], models: [WINK_MODEL], modelDigests: {} };
  private loaded: LoadedModel | undefined;

  /** Only the digest of the model's files: the model itself loads with the first job that needs it. */
  async prepare(): Promise<void> {
    let digest: string;
    try {
      digest = await modelDigest();
    } catch (error) {
      throw new ExecutorError(
        'runtime_missing',
        `the wink-nlp model cannot be found (${describeError(error)}); install it with: npm install wink-nlp ${MODEL_PACKAGE}`,
        { retryable: false, cause: error },
      );
    }
    this.capabilities.modelDigests = { ...this.capabilities.modelDigests, [WINK_MODEL]: digest };
  }

  async run(job: ExecutorJob): Promise<ExecutorResult> {
    const texts = readTexts(job.input);
    // A worker that skipped prepare() still works: the first job loads the model.
    const { nlp, version, digest } = await this.model();
    const results = texts.list.map((text) => analyzeText(nlp, text));
    const output: TextAnalysis | { results: TextAnalysis[] } = texts.single ? results[0]! : { results };
    return {
      output,
      usage: { texts: results.length, tokens: results.reduce((sum, r) => sum + r.tokens, 0) },
      model: { name: WINK_MODEL, version, digest },
    };
  }

  private async model(): Promise<LoadedModel> {
    if (this.loaded) return this.loaded;
    loading ??= loadModel();
    // A failed load is not cached: a later attempt may find the package installed.
    const loaded = await loading.catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    this.loaded = loaded;
    this.capabilities.modelDigests = { ...this.capabilities.modelDigests, [WINK_MODEL]: loaded.digest };
    return loaded;
  }
}

function invalid(message: string, field: string): ExecutorError {
  return new ExecutorError('invalid_input', `wink-nlp: ${message}`, { retryable: false, context: { field } });
}

function readTexts(input: unknown): { single: boolean; list: string[] } {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalid('input must be an object with a field text (a string) or texts (an array of strings)', 'text');
  }
  const { text, texts } = input as Record<string, unknown>;
  if (text !== undefined && texts !== undefined) throw invalid('give either text or texts, not both', 'texts');
  if (text !== undefined) {
    if (typeof text !== 'string') throw invalid('input field text must be a string', 'text');
    if (text.length > WINK_LIMITS.maxTextChars)
      throw invalid(`input field text is longer than ${WINK_LIMITS.maxTextChars} characters`, 'text');
    return { single: true, list: [text] };
  }
  if (texts === undefined) throw invalid('input needs a field text (a string) or texts (an array of strings)', 'text');
  if (!Array.isArray(texts)) throw invalid('input field texts must be an array of strings', 'texts');
  if (texts.length > WINK_LIMITS.maxTexts)
    throw invalid(`input field texts has more than ${WINK_LIMITS.maxTexts} items`, 'texts');
  let total = 0;
  texts.forEach((item, i) => {
    if (typeof item !== 'string') throw invalid(`input field texts[${i}] must be a string`, `texts[${i}]`);
    if (item.length > WINK_LIMITS.maxTextChars)
      throw invalid(`input field texts[${i}] is longer than ${WINK_LIMITS.maxTextChars} characters`, `texts[${i}]`);
    total += item.length;
  });
  if (total > WINK_LIMITS.maxTotalChars)
    throw invalid(`input field texts holds more than ${WINK_LIMITS.maxTotalChars} characters in all`, 'texts');
  return { single: false, list: texts as string[] };
}
