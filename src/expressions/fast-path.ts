/**
 * Most mappings are plain paths (`inputs.name`, `steps.ocr.output.text`). Over plain objects a path is a
 * lookup, bounded by its length, so it needs neither JSONata nor a sandbox: the engine resolves such
 * mappings inside its transaction, and only real expressions take the trip to a sandbox. Where JSONata's
 * path semantics go beyond a lookup (an array on the way maps over its items), the fast path declines and
 * the expression is evaluated for real. A property test holds both to the same answers.
 */

/** A dotted path of JSONata names, optionally from the root (`$$.`). */
const SIMPLE_PATH = /^\s*(?:\$\$\.)?([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$/;
/** Words that are JSONata operators or literals when they stand alone, and keys a lookup must not touch. */
const NOT_NAMES = new Set([
  'and',
  'or',
  'in',
  'true',
  'false',
  'null',
  'function',
  '__proto__',
  'constructor',
  'prototype',
]);

const parsed = new Map<string, readonly string[] | null>();

/** The names of a simple path, or null when the source is anything else. */
export function simplePath(source: string): readonly string[] | null {
  let names = parsed.get(source);
  if (names === undefined) {
    const match = SIMPLE_PATH.exec(source);
    names = match && !match[1]!.split('.').some((n) => NOT_NAMES.has(n)) ? match[1]!.split('.') : null;
    if (parsed.size >= 10_000) parsed.clear();
    parsed.set(source, names);
  }
  return names;
}

export type FastResult = { hit: true; value: unknown } | { hit: false };

const MISS: FastResult = { hit: false };

/** A JSON literal JSONata reads the same way: a number, a string without escapes, true, false, null. */
const NUMBER = /^\s*-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?\s*$/;
const STRING = /^\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*$/;
const WORDS: Readonly<Record<string, unknown>> = { true: true, false: false, null: null };

function literal(source: string): FastResult {
  if (NUMBER.test(source)) {
    const value = Number(source);
    return Number.isFinite(value) ? { hit: true, value } : MISS;
  }
  const string = STRING.exec(source);
  if (string) return { hit: true, value: string[1] ?? string[2] };
  const word = source.trim();
  return Object.hasOwn(WORDS, word) ? { hit: true, value: WORDS[word] } : MISS;
}

/** The path's (or literal's) value over `input` exactly as JSONata gives it, or a miss when only JSONata can say. */
export function evaluatePath(source: string, input: unknown): FastResult {
  const names = simplePath(source);
  if (!names) return literal(source);
  let value: unknown = input;
  for (const name of names) {
    if (Array.isArray(value)) return MISS;
    if (value === null || typeof value !== 'object') return { hit: true, value: undefined };
    if (!Object.hasOwn(value, name)) return { hit: true, value: undefined };
    value = (value as Record<string, unknown>)[name];
  }
  // Contexts are parsed JSON: the value found is already plain.
  return { hit: true, value };
}

/** Every source's value over `input`, or undefined when any one needs JSONata. */
export function evaluatePaths(sources: readonly string[], input: unknown): unknown[] | undefined {
  const values: unknown[] = [];
  for (const source of sources) {
    const result = evaluatePath(source, input);
    if (!result.hit) return undefined;
    values.push(result.value);
  }
  return values;
}
