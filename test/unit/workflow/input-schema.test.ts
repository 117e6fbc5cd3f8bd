import { describe, expect, it } from 'vitest';
import { checkInputs, compileInputSchema } from '../../../src/workflow/input-schema.js';

const schema = {
  type: 'object',
  required: ['text'],
  properties: {
    text: { type: 'string' },
    n: { type: 'integer' },
    doc: {
      type: 'object',
      required: ['title'],
      properties: { title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
    },
  },
};

describe('checkInputs', () => {
  it('accepts valid inputs', () => {
    expect(checkInputs(schema, { text: 'hello', n: 3, doc: { title: 't', tags: ['a'] } })).toEqual([]);
  });

  it('accepts anything when there is no schema', () => {
    expect(checkInputs(undefined, 42)).toEqual([]);
    expect(checkInputs(undefined, undefined)).toEqual([]);
  });

  it('names a missing required field and says to pass it', () => {
    expect(checkInputs(schema, {})).toEqual(['inputs.text: required; pass it in the inputs']);
  });

  it('names a field of the wrong type', () => {
    expect(checkInputs(schema, { text: 'x', n: 'five' })).toEqual(['inputs.n: must be integer']);
  });

  it('reports every problem at once', () => {
    expect(checkInputs(schema, { text: 1, n: 1.5 })).toEqual([
      'inputs.text: must be string',
      'inputs.n: must be integer',
    ]);
  });

  it('writes nested paths with dots and list indexes', () => {
    expect(checkInputs(schema, { text: 'x', doc: { tags: ['a', 3] } })).toEqual([
      'inputs.doc.title: required; pass it in the inputs',
      'inputs.doc.tags[1]: must be string',
    ]);
  });

  it('names the inputs themselves when they have the wrong type', () => {
    expect(checkInputs(schema, 5)).toEqual(['inputs: must be object']);
    expect(checkInputs({ type: 'array', items: { type: 'string' } }, ['a', 1])).toEqual(['inputs[1]: must be string']);
  });

  it('uses draft-07 when the schema names it', () => {
    const draft07 = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', required: ['a'] };
    expect(checkInputs(draft07, {})).toEqual(['inputs.a: required; pass it in the inputs']);
  });
});

describe('compileInputSchema', () => {
  it('caches compiled schemas by their text', () => {
    const a = compileInputSchema({ type: 'object', properties: { x: { type: 'number' } } });
    expect(compileInputSchema({ type: 'object', properties: { x: { type: 'number' } } })).toBe(a);
    expect(compileInputSchema({ type: 'object', properties: { x: { type: 'string' } } })).not.toBe(a);
  });

  it('throws for a schema that is not valid JSON Schema', () => {
    expect(() => compileInputSchema({ type: 'objekt' })).toThrow(/schema is invalid/);
  });
});
