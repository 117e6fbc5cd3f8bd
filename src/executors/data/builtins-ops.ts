import { canonicalJson } from '../../attest/canonical.js';

/**
 * The pure operations behind the data/* built-in models. Each takes arguments the executor has already
 * checked, and is deterministic: the same input always gives the same output.
 */

type Json = unknown;
type Item = Record<string, Json>;

const SENTENCE_END = /(?<=[.!?]["')\]]*)\s+/u;

/** Text split into words, none longer than `size` (a longer word is cut: the only mid-word split). */
function wordsOf(text: string, size: number): string[] {
  const out: string[] = [];
  for (const word of text.split(/\s+/u)) {
    if (word === '') continue;
    for (let i = 0; i < word.length; i += size) out.push(word.slice(i, i + size));
  }
  return out;
}

const joinedLength = (words: readonly string[]): number =>
  words.length === 0 ? 0 : words.reduce((n, w) => n + w.length, words.length - 1);

/**
 * Chunks of at most `size` characters. Whole sentences are packed together; a sentence longer than a chunk
 * is split between words, and a word longer than a chunk is cut. Whitespace becomes single spaces. Each
 * chunk after the first begins with the last words of the one before, up to `overlap` characters.
 */
export function chunkText(text: string, size: number, overlap = 0): string[] {
  // Segments, packed whole: a sentence that fits in a chunk, else each word of a sentence that does not.
  const segments: string[][] = [];
  for (const sentence of text.split(SENTENCE_END)) {
    const words = wordsOf(sentence, size);
    if (words.length === 0) continue;
    if (joinedLength(words) <= size) segments.push(words);
    else segments.push(...words.map((word) => [word]));
  }
  const chunks: string[][] = [];
  let current: string[] = [];
  for (const segment of segments) {
    const fits = current.length === 0 || joinedLength(current) + 1 + joinedLength(segment) <= size;
    if (fits) {
      current = [...current, ...segment];
      continue;
    }
    chunks.push(current);
    const carried = overlap > 0 ? tailWithin(current, overlap) : [];
    // Overlap never crowds out new text: drop carried words until the segment fits after them.
    while (carried.length > 0 && joinedLength(carried) + 1 + joinedLength(segment) > size) carried.shift();
    current = [...carried, ...segment];
  }
  if (current.length > 0) chunks.push(current);
  return chunks.map((words) => words.join(' '));
}

/** The longest run of trailing words whose joined length is at most `limit`. */
function tailWithin(words: readonly string[], limit: number): string[] {
  const tail: string[] = [];
  for (let i = words.length - 1; i >= 0; i--) {
    if (joinedLength([words[i]!, ...tail]) > limit) break;
    tail.unshift(words[i]!);
  }
  // Carrying the whole chunk again would only repeat it.
  return tail.length === words.length ? tail.slice(1) : tail;
}

/** One object from many: a shallow merge where later items' keys win. */
export function mergeObjects(items: readonly Item[]): Item {
  const out: Item = {};
  for (const item of items) {
    // defineProperty, not assignment: a "__proto__" key in the data is data, not a prototype change.
    for (const [key, value] of Object.entries(item))
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export function concatLists(lists: readonly Json[][]): Json[] {
  return lists.flat(1);
}

/** A field of an item by a dotted path (`customer.country`); undefined when any part is missing. */
export function fieldValue(item: Json, path: string): Json {
  let value: Json = item;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, part))
      return undefined;
    value = (value as Item)[part];
  }
  return value;
}

export interface FilterCondition {
  equals?: Json;
  in?: readonly Json[];
  min?: number;
  max?: number;
}

const sameJson = (a: Json, b: Json): boolean =>
  a === b || (a !== undefined && b !== undefined && canonicalJson(a) === canonicalJson(b));

/** The items whose field meets every condition given (min and max are inclusive and need a number). */
export function filterItems(items: readonly Json[], field: string, condition: FilterCondition): Json[] {
  return items.filter((item) => {
    const value = fieldValue(item, field);
    if (value === undefined) return false;
    if ('equals' in condition && !sameJson(value, condition.equals)) return false;
    if (condition.in !== undefined && !condition.in.some((candidate) => sameJson(value, candidate))) return false;
    if (condition.min !== undefined && !(typeof value === 'number' && value >= condition.min)) return false;
    if (condition.max !== undefined && !(typeof value === 'number' && value <= condition.max)) return false;
    return true;
  });
}

/**
 * Each item reshaped: `pick` keeps only the named keys (in that order; missing ones are left out), then
 * `rename` ({ old: new }) renames keys and keeps the rest.
 */
export function mapItems(
  items: readonly Item[],
  pick: readonly string[] | undefined,
  rename: Readonly<Record<string, string>> | undefined,
): Item[] {
  return items.map((item) => {
    let entries = Object.entries(item);
    if (pick) entries = pick.filter((key) => Object.hasOwn(item, key)).map((key) => [key, item[key]]);
    if (rename) entries = entries.map(([key, value]) => [Object.hasOwn(rename, key) ? rename[key]! : key, value]);
    return Object.fromEntries(entries);
  });
}
