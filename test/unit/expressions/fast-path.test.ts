import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { evaluatePath, simplePath } from '../../../src/expressions/fast-path.js';
import { toPlainJson } from '../../../src/expressions/plain-json.js';

const viaJsonata = async (source: string, input: unknown) => toPlainJson(await jsonata(source).evaluate(input));

const names = fc.constantFrom('a', 'b', 'c', 'steps', 'inputs', 'output', 'x_1');
const json = fc
  .letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(null, true, false, 0, -1, 2.5, '', 'text'),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(names, tie('value'), { maxKeys: 4 }),
    ),
  }))
  .value.map((v) => JSON.parse(JSON.stringify(v)) as unknown); // as parsed JSON: plain prototypes

describe('the fast path for plain paths and literals', () => {
  it('gives exactly what JSONata gives, whenever it answers (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        json,
        fc.array(names, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async (input, path, fromRoot) => {
          const source = `${fromRoot ? '$$.' : ''}${path.join('.')}`;
          const fast = evaluatePath(source, input);
          if (fast.hit) expect(fast.value).toStrictEqual(await viaJsonata(source, input));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('answers for paths over plain objects and declines where an array is on the way', () => {
    const input = { inputs: { name: 'Ada', tags: ['x'], rows: [{ v: 1 }] }, steps: { a: { output: { n: 2 } } } };
    expect(evaluatePath('inputs.name', input)).toEqual({ hit: true, value: 'Ada' });
    expect(evaluatePath('$$.steps.a.output.n', input)).toEqual({ hit: true, value: 2 });
    expect(evaluatePath('inputs.tags', input)).toEqual({ hit: true, value: ['x'] });
    expect(evaluatePath('inputs.missing.deeper', input)).toEqual({ hit: true, value: undefined });
    expect(evaluatePath('inputs.name.length', input)).toEqual({ hit: true, value: undefined });
    expect(evaluatePath('inputs.rows.v', input)).toEqual({ hit: false });
    expect(evaluatePath('$uppercase(inputs.name)', input)).toEqual({ hit: false });
  });

  it.each([
    ['42', 42],
    ['-1.5e3', -1500],
    ['"text"', 'text'],
    ["'single'", 'single'],
    ['true', true],
    ['false', false],
    ['null', null],
  ])('reads the literal %s as JSONata does', async (source, value) => {
    expect(evaluatePath(source, {})).toEqual({ hit: true, value });
    expect(await viaJsonata(source, {})).toStrictEqual(value);
  });

  it.each(['"with \\\\"escape"', '1 + 1', '01', '$now()', 'inputs[0]', 'steps.*', 'a.__proto__', 'constructor', 'and'])(
    'leaves %j to JSONata',
    (source) => {
      expect(evaluatePath(source, { a: {} }).hit).toBe(false);
    },
  );

  it('never reads what a plain object inherits', () => {
    expect(simplePath('a.toString')).toEqual(['a', 'toString']);
    expect(evaluatePath('a.toString', { a: {} })).toEqual({ hit: true, value: undefined });
  });
});
