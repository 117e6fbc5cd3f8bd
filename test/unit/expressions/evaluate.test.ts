import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { evaluateSources } from '../../../src/expressions/evaluate.js';
import { InlineEvaluator } from '../../../src/expressions/inline-evaluator.js';
import { toPlainJson } from '../../../src/expressions/plain-json.js';

const limits = { timeoutMs: 1_000, maxDepth: 500, maxResultBytes: 1024 * 1024 };
const one = async (source: string, input: unknown = {}) => (await evaluateSources([source], input, limits))[0]!;

describe('toPlainJson', () => {
  it('turns a JSONata sequence into a plain array', async () => {
    const raw: unknown = await jsonata('[1, 2, 3].($ * 2)').evaluate({});
    expect(Object.hasOwn(raw as object, 'sequence')).toBe(true);
    const plain = toPlainJson(raw);
    expect(plain).toEqual([2, 4, 6]);
    expect(Object.getOwnPropertyNames(plain)).toEqual(['0', '1', '2', 'length']);
  });

  it('turns nested sequences into plain arrays', async () => {
    const result = await one('{ "v": items.v }', { items: [{ v: 1 }, { v: 2 }] });
    expect(result).toEqual({ ok: true, value: { v: [1, 2] } });
    expect(Object.hasOwn((result as { value: { v: object } }).value.v, 'sequence')).toBe(false);
  });

  it('drops undefined and function values from objects and nulls them in arrays', () => {
    const fn = (): number => 1;
    expect(toPlainJson({ a: 1, b: undefined, c: fn, d: [1, undefined, fn], e: null })).toStrictEqual({
      a: 1,
      d: [1, null, null],
      e: null,
    });
    expect(toPlainJson(undefined)).toBeUndefined();
    expect(toPlainJson(fn)).toBeUndefined();
  });

  it('turns non-finite numbers into null and keeps other primitives', () => {
    expect(toPlainJson([Infinity, -Infinity, NaN, 0, 'x', true, null])).toEqual([null, null, null, 0, 'x', true, null]);
  });

  it('drops JSONata functions and lambdas that an expression returns', async () => {
    expect(
      await one('{ "f": function($x) { $x }, "g": $uppercase, "n": 1, "l": [1, $uppercase] }', { a: 1 }),
    ).toStrictEqual({ ok: true, value: { n: 1, l: [1, null] } });
    expect(await one('function($x) { $x }')).toStrictEqual({ ok: true, value: undefined });
  });

  it('gives undefined for an expression that matches nothing', async () => {
    expect(await one('inputs.missing', { inputs: {} })).toStrictEqual({ ok: true, value: undefined });
  });
});

describe('evaluateSources', () => {
  it('reports a syntax error as a failure with JSONata’s code and position, and goes on with the next source', async () => {
    const [bad, good] = await evaluateSources(['$uppercase(', '1 + 1'], {}, limits);
    expect(bad).toEqual({
      ok: false,
      error: { code: 'syntax', message: 'Expected ")" before end of expression', jsonataCode: 'S0203', position: 11 },
    });
    expect(good).toEqual({ ok: true, value: 2 });
  });

  it('reports an evaluation error as a failure', async () => {
    expect(await one('$undefinedFunction(1)')).toMatchObject({
      ok: false,
      error: { code: 'evaluation', jsonataCode: 'T1006' },
    });
  });

  it('stops unbounded recursion with a depth failure', async () => {
    expect(await one('($f := function($n) { $n + $f($n + 1) }; $f(0))')).toMatchObject({
      ok: false,
      error: { code: 'evaluation', jsonataCode: 'D1011' },
    });
  });

  it('bounds the depth of a recursion that would terminate', async () => {
    const countdown = (n: number) => `($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(${n}))`;
    expect(await one(countdown(10))).toEqual({ ok: true, value: 10 });
    expect(await one(countdown(1000))).toMatchObject({ ok: false, error: { code: 'evaluation' } });
  });

  it('stops an endless loop with a timeout failure instead of hanging', async () => {
    const result = await evaluateSources(
      ['($f := function($n) { $f($n + 1) }; $f(0))'],
      {},
      { ...limits, timeoutMs: 200, maxDepth: 1_000_000 },
    );
    expect(result[0]).toMatchObject({
      ok: false,
      error: { code: expect.stringMatching(/^(timeout|evaluation)$/) as unknown },
    });
  }, 30_000);

  it('refuses a result larger than the limit', async () => {
    const [result] = await evaluateSources(['$pad("", 5000, "x")'], {}, { ...limits, maxResultBytes: 1000 });
    expect(result).toMatchObject({ ok: false, error: { code: 'too_large' } });
  });
});

describe('InlineEvaluator', () => {
  it('evaluates in the calling thread and refuses once closed', async () => {
    const evaluator = new InlineEvaluator();
    expect(await evaluator.evaluate(['a * 2', 'b'], { a: 21 })).toEqual([
      { ok: true, value: 42 },
      { ok: true, value: undefined },
    ]);
    await evaluator.close();
    expect(await evaluator.evaluate(['1'], {})).toMatchObject([{ ok: false, error: { code: 'unavailable' } }]);
  });
});
