import { describe, expect, it } from 'vitest';
import { describeValue, formatPath, valueAt } from '../../../src/workflow/paths.js';
import { closest, didYouMean } from '../../../src/workflow/suggest.js';

describe('formatPath', () => {
  it('writes names with dots and indexes in brackets', () => {
    expect(formatPath(['steps', 3, 'input_mappings', 'text'])).toBe('steps[3].input_mappings.text');
    expect(formatPath([])).toBe('');
    expect(formatPath([0, 'a'])).toBe('[0].a');
  });

  it('quotes keys that are not identifiers', () => {
    expect(formatPath(['dependencies', 'my-step', 0])).toBe('dependencies["my-step"][0]');
    expect(formatPath(['inputs', 'a b'])).toBe('inputs["a b"]');
  });
});

describe('valueAt', () => {
  it('follows a path and gives undefined past a missing or scalar part', () => {
    const doc = { steps: [{ id: 'a', retry_policy: { max_attempts: 2 } }] };
    expect(valueAt(doc, ['steps', 0, 'retry_policy', 'max_attempts'])).toBe(2);
    expect(valueAt(doc, ['steps', 1, 'id'])).toBeUndefined();
    expect(valueAt(doc, ['steps', 0, 'id', 'x'])).toBeUndefined();
    expect(valueAt(doc, [])).toBe(doc);
  });
});

describe('describeValue', () => {
  it.each([
    [null, 'null'],
    [[1], 'a list'],
    [{}, 'an object'],
    ['x', 'the string "x"'],
    [5, 'number 5'],
    [true, 'boolean true'],
    [undefined, 'missing'],
  ])('describes %j as %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  it('shortens long strings', () => {
    expect(describeValue('y'.repeat(50))).toBe(`the string "${'y'.repeat(40)}…"`);
  });
});

describe('suggestions', () => {
  it('suggests the closest candidate within a third of the word', () => {
    expect(closest('dependson', ['depends_on', 'description', 'id'])).toBe('depends_on');
    expect(closest('STEPS', ['steps', 'id'])).toBe('steps');
    expect(closest('zzzzzz', ['depends_on', 'id'])).toBeUndefined();
  });

  it('suggests the one field that a shortened name starts', () => {
    expect(closest('timeout', ['timeout_seconds', 'id'])).toBe('timeout_seconds');
    // Too short to be a likely intent, or ambiguous: no suggestion.
    expect(closest('tim', ['timeout_seconds', 'id'])).toBeUndefined();
    expect(closest('max_', ['max_attempts', 'max_backoff_ms'])).toBeUndefined();
  });

  it('phrases the suggestion, or says nothing', () => {
    expect(didYouMean('nme', ['name'])).toBe(' (did you mean "name"?)');
    expect(didYouMean('unrelated', ['name'])).toBe('');
    expect(didYouMean('x', [])).toBe('');
  });
});
