import jsonata from 'jsonata';
import type { EvaluationFailure, EvaluationResult } from './evaluator.js';
import { toPlainJson } from './plain-json.js';

/**
 * The evaluation itself, as it runs inside a sandbox (a child process, a Web Worker) or, for input the
 * caller trusts, in the calling thread. Pure: JSONata and nothing else, so it runs anywhere.
 */
export interface CoreLimits {
  /** JSONata's own cooperative time limit, checked between nodes; the sandbox's kill covers the rest. */
  timeoutMs: number;
  maxDepth: number;
  maxResultBytes: number;
}

type Compiled = ReturnType<typeof jsonata>;

const CACHE_LIMIT = 2_000;
const cache = new Map<string, Compiled>();

function compile(source: string, limits: CoreLimits): Compiled {
  // JSONata takes its limits when it compiles; the same source under other limits is another entry.
  const key = `${limits.timeoutMs}:${limits.maxDepth}:${source}`;
  let compiled = cache.get(key);
  if (!compiled) {
    compiled = jsonata(source, { timeout: limits.timeoutMs, stack: limits.maxDepth });
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(key, compiled);
  }
  return compiled;
}

/** Each source over the input, one after the other, as plain JSON. */
export async function evaluateSources(
  sources: readonly string[],
  input: unknown,
  limits: CoreLimits,
): Promise<EvaluationResult[]> {
  const results: EvaluationResult[] = [];
  for (const source of sources) results.push(await evaluateOne(source, input, limits));
  return results;
}

async function evaluateOne(source: string, input: unknown, limits: CoreLimits): Promise<EvaluationResult> {
  let compiled: Compiled;
  try {
    compiled = compile(source, limits);
  } catch (error) {
    return { ok: false, error: failureOf(error, 'syntax') };
  }
  let value: unknown;
  try {
    value = toPlainJson(await compiled.evaluate(input));
  } catch (error) {
    return { ok: false, error: failureOf(error, 'evaluation') };
  }
  if (value !== undefined) {
    // Strings are counted in UTF-16 units: within a factor of three of the bytes, and costs nothing to know.
    const size = JSON.stringify(value).length;
    if (size > limits.maxResultBytes) {
      return {
        ok: false,
        error: {
          code: 'too_large',
          message: `the result is ${size} characters of JSON, more than the ${limits.maxResultBytes} allowed`,
        },
      };
    }
  }
  return value === undefined ? { ok: true, value: undefined } : { ok: true, value };
}

/** A JSONata error (a plain object with `code`, `message`, `position`) or anything else thrown, as a failure. */
export function failureOf(error: unknown, fallback: 'syntax' | 'evaluation'): EvaluationFailure {
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as {
    code?: unknown;
    message?: unknown;
    position?: unknown;
  };
  const jsonataCode = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (jsonataCode === 'D1012')
    return { code: 'timeout', message: `the expression ran longer than its ${limitOf(error)} ms`, jsonataCode };
  if (error instanceof RangeError) {
    // V8's own guard: a recursion deeper than the thread's stack.
    return { code: 'evaluation', message: `the expression recursed too deeply: ${message}` };
  }
  return {
    code: fallback,
    message,
    ...(jsonataCode !== undefined && { jsonataCode }),
    ...(typeof e.position === 'number' && { position: e.position }),
  };
}

function limitOf(error: unknown): string {
  const value = (error as { value?: unknown }).value;
  return typeof value === 'number' ? String(value) : 'allowed';
}
