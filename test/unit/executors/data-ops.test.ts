import { describe, expect, it } from 'vitest';
import {
  concatLists,
  fieldValue,
  filterItems,
  mapItems,
  mergeObjects,
} from '../../../src/executors/data/builtins-ops.js';
import { runBuiltin } from '../../../src/executors/data/builtins-executor.js';
import { ExecutorError } from '../../../src/executors/executor.js';

const people = [
  { name: 'Ada', age: 36, tags: ['math'], address: { city: 'London' } },
  { name: 'Alan', age: 41, tags: ['code'], address: { city: 'Wilmslow' } },
  { name: 'Grace', age: 85, address: { city: 'Arlington' } },
];

describe('data built-ins', () => {
  it('merges objects (later keys win) and concatenates lists', () => {
    expect(mergeObjects([{ a: 1, b: 1 }, { b: 2 }, { c: 3 }])).toEqual({ a: 1, b: 2, c: 3 });
    const merged = mergeObjects([JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, unknown>]);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(concatLists([[1, 2], [], [[3]]])).toEqual([1, 2, [3]]);
  });

  it('filters on a dotted field by equals, in, min and max', () => {
    expect(fieldValue(people[0], 'address.city')).toBe('London');
    expect(fieldValue(people[0], 'address.zip')).toBeUndefined();
    expect(filterItems(people, 'address.city', { equals: 'London' })).toEqual([people[0]]);
    expect(filterItems(people, 'tags', { equals: ['code'] })).toEqual([people[1]]);
    expect(filterItems(people, 'name', { in: ['Grace', 'Ada'] })).toEqual([people[0], people[2]]);
    expect(filterItems(people, 'age', { min: 40, max: 80 })).toEqual([people[1]]);
    expect(filterItems([{ age: '50' }], 'age', { min: 40 })).toEqual([]);
  });

  it('picks and renames fields', () => {
    expect(mapItems(people, ['name', 'age', 'missing'], undefined)).toEqual([
      { name: 'Ada', age: 36 },
      { name: 'Alan', age: 41 },
      { name: 'Grace', age: 85 },
    ]);
    expect(mapItems([{ a: 1, b: 2 }], undefined, { a: 'x' })).toEqual([{ x: 1, b: 2 }]);
  });

  it('refuses bad input non-retryably, naming the field', () => {
    const failure = (model: string, input: unknown): ExecutorError => {
      try {
        runBuiltin(model, input);
      } catch (error) {
        return error as ExecutorError;
      }
      throw new Error('expected a failure');
    };
    const bad = failure('data/filter', { items: people, field: '' });
    expect(bad).toBeInstanceOf(ExecutorError);
    expect(bad).toMatchObject({ code: 'invalid_input', retryable: false });
    expect(bad.message).toBe(
      'data/filter: input field field must be a field name (a dotted path such as customer.country)',
    );
    expect(failure('data/merge', { items: [], lists: [] }).message).toMatch(
      /input field items or lists is needed, and not both/,
    );
    expect(failure('data/map', { items: [{}], rename: { a: 3 } }).message).toMatch(
      /input field rename\.a must be the new field name/,
    );
    expect(failure('data/chunk', { text: 5, size: 3 }).message).toMatch(/input field text must be a string/);
    expect(failure('data/nope', {})).toMatchObject({ code: 'unknown_model', retryable: false });
  });
});
