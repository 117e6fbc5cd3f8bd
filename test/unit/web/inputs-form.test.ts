import { describe, expect, it } from 'vitest';
import {
  collectInputs,
  describeBounds,
  describeSchema,
  fieldName,
  initialValues,
} from '../../../web/src/lib/inputs-form.js';
import type { Field, FormShape } from '../../../web/src/lib/inputs-form.js';

/** The dashboard's inputs form: a workflow's input JSON Schema → fields, and filled fields → JSON inputs. */
describe('the inputs form', () => {
  const schema = {
    type: 'object',
    required: ['text', 'count', 'mode', 'options'],
    properties: {
      text: { type: 'string', title: 'Text', description: 'What to read', minLength: 2, maxLength: 10 },
      count: { type: 'integer', minimum: 1, maximum: 5, default: 3 },
      ratio: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
      mode: { enum: ['fast', 'careful', 7] },
      loud: { type: 'boolean' },
      strict: { type: 'boolean', default: true },
      tags: { type: 'array', items: { type: 'string' }, maxItems: 2 },
      scores: { type: 'array', items: { type: 'integer', minimum: 0 }, default: [1, 2] },
      colours: { type: 'array', items: { enum: ['red', 'green', 'blue'] }, default: ['blue'] },
      note: { type: ['string', 'null'] },
      options: {
        type: 'object',
        required: ['depth'],
        properties: { depth: { type: 'integer' }, label: { type: 'string' } },
      },
      extra: {
        type: 'object',
        properties: { flag: { type: 'boolean', default: false }, name: { type: 'string' } },
      },
      either: { oneOf: [{ type: 'string' }, { type: 'number' }], default: 'x' },
      free: {},
      'odd key': { type: 'string' },
    },
  };
  const shape = describeSchema(schema);
  const fields = shape.kind === 'fields' ? shape.fields : [];
  const field = (key: string): Field => {
    const all = fields.flatMap((f) => (f.kind === 'object' ? [f, ...f.fields] : [f]));
    const found = all.find((f) => f.key === key);
    if (!found) throw new Error(`no field ${key}`);
    return found;
  };
  const filled = (changes: Record<string, string | boolean | number[]>) => ({ ...initialValues(shape), ...changes });
  const good = { text: 'hello', count: '3', mode: '0', 'options.depth': '2' };

  it('describes each property as a field of its kind, in the schema’s order', () => {
    expect(shape.kind).toBe('fields');
    expect(fields.map((f) => [f.key, f.kind, f.required])).toEqual([
      ['text', 'string', true],
      ['count', 'integer', true],
      ['ratio', 'number', false],
      ['mode', 'enum', true],
      ['loud', 'boolean', false],
      ['strict', 'boolean', false],
      ['tags', 'array', false],
      ['scores', 'array', false],
      ['colours', 'choices', false],
      ['note', 'string', false],
      ['options', 'object', true],
      ['extra', 'object', false],
      ['either', 'json', false],
      ['free', 'json', false],
      ['odd%20key', 'string', false],
    ]);
    expect(field('text')).toMatchObject({ label: 'Text', description: 'What to read', name: 'inputs.text' });
    expect(field('count')).toMatchObject({ bounds: { minimum: 1, maximum: 5 }, default: '3' });
    expect(field('options.depth')).toMatchObject({ kind: 'integer', required: true, name: 'inputs.options.depth' });
    expect(field('options.label')).toMatchObject({ required: false });
    expect(field('odd%20key').name).toBe('inputs["odd key"]');
    expect(field('either')).toMatchObject({ kind: 'json', default: '"x"' });
    expect((field('either') as Field & { kind: 'json' }).why).toContain('oneOf');
  });

  it('starts from the defaults, and leaves optional booleans without one unset', () => {
    const values = initialValues(shape);
    expect(values).toMatchObject({
      text: '',
      count: '3',
      mode: '',
      loud: '',
      strict: true,
      scores: '1\n2',
      colours: [2],
      'options.depth': '',
      'extra.flag': false,
      either: '"x"',
    });
  });

  it('turns filled fields into typed inputs, leaving out empty optional ones', () => {
    const result = collectInputs(shape, filled(good));
    expect(result).toEqual({
      ok: true,
      inputs: {
        text: 'hello',
        count: 3,
        mode: 'fast',
        strict: true,
        scores: [1, 2],
        colours: ['blue'],
        options: { depth: 2 },
        // An optional object with a checkbox is sent: the checkbox always has a value.
        extra: { flag: false },
        either: 'x',
      },
    });
  });

  it('reads every kind of value', () => {
    const result = collectInputs(
      shape,
      filled({
        ...good,
        mode: '2',
        ratio: ' 0.25 ',
        loud: 'false',
        tags: 'a b\n\n c ',
        colours: [2, 0],
        note: '  spaced  ',
        'options.label': 'L',
        'extra.name': 'N',
        either: '12',
        free: '{"any": [1, null]}',
        'odd%20key': 'yes',
      }),
    );
    expect(result.ok && result.inputs).toMatchObject({
      mode: 7,
      ratio: 0.25,
      loud: false,
      tags: ['a b', ' c '],
      colours: ['red', 'blue'],
      note: '  spaced  ',
      options: { depth: 2, label: 'L' },
      extra: { flag: false, name: 'N' },
      either: 12,
      free: { any: [1, null] },
      'odd key': 'yes',
    });
  });

  it('names each bad field with what is wrong with it', () => {
    const errors = (changes: Record<string, string | boolean | number[]>) => {
      const result = collectInputs(shape, filled(changes));
      return result.ok ? {} : result.errors;
    };
    expect(errors({})).toEqual({
      text: 'inputs.text: required; fill it in',
      mode: 'inputs.mode: required; choose one',
      'options.depth': 'inputs.options.depth: required; fill it in',
    });
    expect(errors({ ...good, text: 'x' })).toEqual({ text: 'inputs.text: must be at least 2 characters long' });
    expect(errors({ ...good, text: 'much too long here' })).toEqual({
      text: 'inputs.text: must be at most 10 characters long',
    });
    expect(errors({ ...good, count: '2.5' })).toEqual({ count: 'inputs.count: must be a whole number' });
    expect(errors({ ...good, count: 'three' })).toEqual({ count: 'inputs.count: must be a whole number' });
    expect(errors({ ...good, count: '0x3' })).toEqual({ count: 'inputs.count: must be a whole number' });
    expect(errors({ ...good, count: '9' })).toEqual({ count: 'inputs.count: must be at most 5' });
    expect(errors({ ...good, count: '0' })).toEqual({ count: 'inputs.count: must be at least 1' });
    expect(errors({ ...good, ratio: '1' })).toEqual({ ratio: 'inputs.ratio: must be less than 1' });
    expect(errors({ ...good, ratio: '0' })).toEqual({ ratio: 'inputs.ratio: must be more than 0' });
    expect(errors({ ...good, ratio: '1e999' })).toEqual({ ratio: 'inputs.ratio: must be a finite number' });
    expect(errors({ ...good, tags: 'a\nb\nc' })).toEqual({ tags: 'inputs.tags: takes at most 2 items' });
    expect(errors({ ...good, scores: '1\n-2' })).toEqual({ scores: 'inputs.scores: item 2 (“-2”) must be at least 0' });
    expect(errors({ ...good, free: '{nope' }).free).toMatch(/^inputs\.free: not JSON \(/);
    expect(errors({ ...good, 'odd%20key': '' })).toEqual({});
  });

  it('asks for JSON when there is no schema, or one a form cannot draw', () => {
    const why = (s: Record<string, unknown> | undefined) => {
      const shape: FormShape = describeSchema(s);
      return shape.kind === 'json' ? shape.why : 'fields';
    };
    expect(why(undefined)).toContain('no input schema');
    expect(why({})).toContain('no input schema');
    expect(why({ type: 'object' })).toContain('no properties');
    expect(why({ anyOf: [{ type: 'object' }] })).toContain('anyOf');
    expect(why({ type: 'array', items: {} })).toContain('no properties');

    const json = describeSchema(undefined);
    expect(collectInputs(json, {}, '')).toEqual({ ok: true, inputs: {} });
    expect(collectInputs(json, {}, ' {"a": 1} ')).toEqual({ ok: true, inputs: { a: 1 } });
    expect(collectInputs(json, {}, '[1]')).toEqual({ ok: false, errors: { '': 'inputs: must be a JSON object, {…}' } });
    const bad = collectInputs(json, {}, '{a:');
    expect(!bad.ok && bad.errors['']).toMatch(/^inputs: not JSON/);
  });

  it('falls back to JSON for fields a form cannot show, and draws what it can of nested objects', () => {
    const nested = describeSchema({
      type: 'object',
      properties: {
        list: { type: 'array', items: { type: 'object', properties: { a: { type: 'string' } } } },
        ref: { $ref: '#/$defs/x' },
        deep: { type: 'object', properties: { deeper: { type: 'object', properties: { n: { type: 'number' } } } } },
        bag: { type: 'object', additionalProperties: { type: 'string' } },
        long: { type: 'string', maxLength: 5000 },
        pick: { const: 'only' },
      },
    });
    const fields = nested.kind === 'fields' ? nested.fields : [];
    expect(fields.map((f) => f.kind)).toEqual(['json', 'json', 'object', 'json', 'string', 'enum']);
    expect(fields[4]).toMatchObject({ multiline: true });
    const deep = fields[2] as Field & { kind: 'object' };
    expect(deep.fields[0]).toMatchObject({ kind: 'object', key: 'deep.deeper' });
    const values = { ...initialValues(nested), 'deep.deeper.n': '1.5', pick: '0', list: '[{"a":"x"}]' };
    expect(collectInputs(nested, values)).toEqual({
      ok: true,
      inputs: { list: [{ a: 'x' }], deep: { deeper: { n: 1.5 } }, pick: 'only' },
    });
    // Nothing filled in an optional nested object: it is left out, not sent empty.
    expect(collectInputs(nested, initialValues(nested))).toEqual({ ok: true, inputs: {} });
  });

  it('keeps the keys of properties with dots apart from nested ones', () => {
    const dotted = describeSchema({
      type: 'object',
      properties: { 'a.b': { type: 'string' }, a: { type: 'object', properties: { b: { type: 'string' } } } },
    });
    const values = { ...initialValues(dotted), 'a%2Eb': 'flat', 'a.b': 'nested' };
    expect(collectInputs(dotted, values)).toEqual({ ok: true, inputs: { 'a.b': 'flat', a: { b: 'nested' } } });
  });

  it('says the bounds in words, and names fields as the server does', () => {
    expect(describeBounds(field('count'))).toBe('1 to 5');
    expect(describeBounds(field('text'))).toBe('2–10 characters');
    expect(describeBounds(field('scores'))).toBe('one integer per line, at least 0');
    expect(describeBounds(field('mode'))).toBeUndefined();
    expect(fieldName(['a', 'b c', '_d'])).toBe('inputs.a["b c"]._d');
  });
});
