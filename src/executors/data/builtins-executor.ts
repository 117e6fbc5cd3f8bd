import type { Executor, ExecutorJob, ExecutorResult } from '../executor.js';
import { ExecutorError } from '../executor.js';
import { chunkText, concatLists, filterItems, mapItems, mergeObjects } from './builtins-ops.js';
import type { FilterCondition } from './builtins-ops.js';

export const DATA_BUILTIN_MODELS = ['data/chunk', 'data/filter', 'data/map', 'data/merge'] as const;
export const DATA_LIMITS = { maxTextChars: 10_000_000, maxChunkSize: 1_000_000, maxItems: 100_000 } as const;

type Params = Record<string, unknown>;
type Item = Record<string, unknown>;

/**
 * Small, deterministic transforms that are awkward in JSONata, as models of data_processing steps:
 * - data/chunk  `{ text, size, overlap? }` → `{ chunks }`: pieces of at most `size` characters along
 *   sentence and word boundaries, each starting with up to `overlap` characters of the one before.
 * - data/merge  `{ items: object[] }` → one object (later keys win), or `{ lists: any[][] }` → one array.
 * - data/filter `{ items, field, equals? , in?, min?, max? }` → `{ items }` whose `field` (a dotted path)
 *   meets every condition given.
 * - data/map    `{ items, pick?: string[], rename?: { old: new } }` → `{ items }` reshaped.
 * Bad input fails at once (`invalid_input`, not retried) with a message naming the field.
 */
export class DataBuiltinsExecutor implements Executor {
  readonly name = 'data-builtins';
  readonly capabilities = { stepTypes: [], models: [...DATA_BUILTIN_MODELS] };

  run(job: ExecutorJob): Promise<ExecutorResult> {
    const model = job.spec.model?.name ?? '(none)';
    return Promise.resolve({ output: runBuiltin(model, job.input) });
  }
}

/** The output of one data/* model for an input; throws a non-retryable ExecutorError on bad input. */
export function runBuiltin(model: string, input: unknown): unknown {
  const fail = (field: string, message: string): never => {
    throw new ExecutorError('invalid_input', `${model}: input field ${field} ${message}`, {
      retryable: false,
      context: { field },
    });
  };
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return fail('(input)', 'must be an object');
  const params = input as Params;
  const items = (field = 'items'): unknown[] => {
    const value = params[field];
    if (!Array.isArray(value)) return fail(field, 'must be an array');
    if (value.length > DATA_LIMITS.maxItems) return fail(field, `has more than ${DATA_LIMITS.maxItems} items`);
    return value;
  };
  const objects = (field: string): Item[] => {
    const list = items(field);
    list.forEach((item, i) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) fail(`${field}[${i}]`, 'must be an object');
    });
    return list as Item[];
  };
  const integer = (field: string, min: number, max: number, fallback?: number): number => {
    const value = params[field] ?? fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
      return fail(field, `must be an integer from ${min} to ${max}`);
    return value;
  };
  const number = (field: string): number | undefined => {
    const value = params[field];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) return fail(field, 'must be a number');
    return value;
  };

  switch (model) {
    case 'data/chunk': {
      const text = params.text;
      if (typeof text !== 'string') return fail('text', 'must be a string');
      if (text.length > DATA_LIMITS.maxTextChars)
        return fail('text', `is longer than ${DATA_LIMITS.maxTextChars} characters`);
      const size = integer('size', 1, DATA_LIMITS.maxChunkSize);
      const overlap = integer('overlap', 0, size - 1, 0);
      return { chunks: chunkText(text, size, overlap) };
    }
    case 'data/merge': {
      const hasItems = params.items !== undefined;
      const hasLists = params.lists !== undefined;
      if (hasItems === hasLists)
        return fail(
          'items',
          'or lists is needed, and not both: items (objects to merge) or lists (arrays to concatenate)',
        );
      if (hasItems) return mergeObjects(objects('items'));
      const lists = items('lists');
      lists.forEach((list, i) => {
        if (!Array.isArray(list)) fail(`lists[${i}]`, 'must be an array');
      });
      return concatLists(lists as unknown[][]);
    }
    case 'data/filter': {
      const list = items();
      const field = params.field;
      if (typeof field !== 'string' || field === '')
        return fail('field', 'must be a field name (a dotted path such as customer.country)');
      const condition: FilterCondition = {};
      if ('equals' in params) condition.equals = params.equals;
      if (params.in !== undefined) {
        if (!Array.isArray(params.in)) return fail('in', 'must be an array of allowed values');
        condition.in = params.in;
      }
      const min = number('min');
      const max = number('max');
      if (min !== undefined) condition.min = min;
      if (max !== undefined) condition.max = max;
      if (Object.keys(condition).length === 0) return fail('equals', 'or in, min or max is needed: say what to keep');
      return { items: filterItems(list, field, condition) };
    }
    case 'data/map': {
      const list = objects('items');
      const { pick, rename } = params;
      if (pick !== undefined && !(Array.isArray(pick) && pick.every((key) => typeof key === 'string')))
        return fail('pick', 'must be an array of field names');
      if (rename !== undefined) {
        if (rename === null || typeof rename !== 'object' || Array.isArray(rename))
          return fail('rename', 'must be an object { old_name: new_name }');
        for (const [key, value] of Object.entries(rename))
          if (typeof value !== 'string' || value === '') fail(`rename.${key}`, 'must be the new field name (a string)');
      }
      if (pick === undefined && rename === undefined)
        return fail('pick', 'or rename is needed: the fields to keep, or { old_name: new_name }');
      return { items: mapItems(list, pick, rename as Record<string, string> | undefined) };
    }
    default:
      throw new ExecutorError(
        'unknown_model',
        `no data built-in ${model}; there are ${DATA_BUILTIN_MODELS.join(', ')}`,
        { retryable: false },
      );
  }
}
