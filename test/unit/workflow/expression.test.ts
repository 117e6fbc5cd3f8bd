import { describe, expect, it } from 'vitest';
import {
  analyzeExpression,
  checkExpression,
  compileExpression,
  isDeterministic,
  stepReferences,
} from '../../../src/workflow/expression.js';

function refs(source: string): { steps: string[]; dynamic: boolean } {
  const found = stepReferences(compileExpression(source));
  return { steps: [...found.steps].sort(), dynamic: found.dynamic };
}

describe('stepReferences', () => {
  it.each([
    ['steps.a.output', ['a']],
    ['steps.a.status', ['a']],
    ['steps.a', ['a']],
    ['$$.steps.b.output', ['b']],
    ['$.steps.c.output', ['c']],
    ['steps.a[0].output', ['a']],
    ['$string(steps.a.output)', ['a']],
    ['$sum(steps.a.output.items.price)', ['a']],
    ['$filter(steps.a.output, function($v) { $v > 1 })', ['a']],
    ['x ? steps.a.output : steps.b.output', ['a', 'b']],
    ['"total: " & steps.a.output & " / " & steps.b.status', ['a', 'b']],
    ['{ "k": steps.a.output, "l": [steps.b.output] }', ['a', 'b']],
    ['(steps.a.output)', ['a']],
    ['($x := steps.a.output; $x + 1)', ['a']],
    ['steps.a.output ~> $uppercase', ['a']],
    ['$map(inputs.xs, function($v) { steps.q.output })', ['q']],
    ['steps.`my_step`.output', ['my_step']],
    ['steps.a.output[x > steps.b.output]', ['a']],
    ['inputs.items.($$.steps.d.output)', ['d']],
    ['inputs.text', []],
    ['inputs.steps.a', []],
  ])('finds the static references of %s', (source, expected) => {
    expect(refs(source)).toEqual({ steps: expected, dynamic: false });
  });

  it.each([
    // Inside a nested path, predicate or group, `steps` and `$` are relative to the current item.
    'inputs.items.(steps)',
    'inputs.items.(steps.a.output)',
    'inputs.items.($.steps.a.output)',
    'inputs.items[id = steps.a.output]',
    'inputs[id = steps.a.output]',
    'inputs#$i[steps.a.output]',
    'inputs^(steps.a.output)',
    'inputs{ "k": steps.a.output }',
  ])('does not count `steps` in a nested context in %s', (source) => {
    expect(refs(source)).toEqual({ steps: [], dynamic: false });
  });

  it.each([
    'steps',
    'steps.*',
    'steps.**',
    '$.steps',
    "steps['a']",
    'steps[0]',
    '$lookup(steps, x)',
    "$lookup(steps, 'a')",
    '$keys(steps)',
    '($s := steps; $s.a)',
  ])('flags %s as a dynamic read of steps', (source) => {
    expect(refs(source)).toEqual({ steps: [], dynamic: true });
  });

  it.each([
    // The whole context, or all of it by wildcard, read at the root: every step in the context.
    '$',
    '$$',
    '*',
    '**.status',
    '*.output',
    '$string($)',
    '$keys($$)',
  ])('flags %s as a dynamic read of the whole context', (source) => {
    expect(refs(source)).toEqual({ steps: [], dynamic: true });
  });

  it.each([
    ['inputs{ "k": $$.steps.a.output }', ['a']],
    ['inputs.items{ "k": $$.steps.b.status }', ['b']],
  ])('finds `$$.steps` inside a group: %s', (source, expected) => {
    expect(refs(source)).toEqual({ steps: expected, dynamic: false });
  });

  it.each(['inputs.items[$ > 3]', 'inputs.items.($ * 2)', '$map(inputs.xs, function($v) { $v * 2 })'])(
    'does not count `$` as the context item in %s as a read of steps',
    (source) => {
      expect(refs(source)).toEqual({ steps: [], dynamic: false });
    },
  );

  it('reports static and dynamic reads of one expression together', () => {
    expect(refs('steps.a.output & $string($keys(steps))')).toEqual({ steps: ['a'], dynamic: true });
  });
});

describe('analyzeExpression', () => {
  /** What the full JSONata parser says: the syntax error, or the references of the compiled expression. */
  const viaParser = (source: string) => {
    const error = checkExpression(source);
    return error ? { ok: false, error } : { ok: true, refs: stepReferences(compileExpression(source)) };
  };

  it.each([
    'steps.a.output',
    'steps.fetch.output.text',
    'steps.a',
    'steps',
    '$$.steps.b.output',
    '$$.steps',
    '$$.inputs.x',
    'inputs.url',
    'inputs',
    '  steps.a.output  ',
    'steps.and',
    'steps.a.in',
    'inputs.and',
    'inputs.true.x',
    'steps.null',
    'function',
    '$.steps.c.output',
    'steps.a.output & steps.b.output',
    '$keys(steps)',
    'steps.*',
    "steps['a']",
    'steps.a.',
    'steps..a',
    '$uppercase(',
  ])('agrees with the parser on %j', (source) => {
    expect(analyzeExpression(source)).toEqual(viaParser(source));
  });

  it('reads simple paths the way the parser does', () => {
    const analysis = analyzeExpression('$$.steps.fetch.output.text');
    expect(analysis).toEqual({ ok: true, refs: { steps: new Set(['fetch']), dynamic: false } });
    expect(analyzeExpression('steps')).toEqual({ ok: true, refs: { steps: new Set(), dynamic: true } });
  });

  it('reports a syntax error as a value', () => {
    expect(analyzeExpression('inputs.true.x')).toMatchObject({ ok: false, error: { code: 'S0213' } });
  });
});

describe('compileExpression and checkExpression', () => {
  it('caches compiled expressions by source', () => {
    const first = compileExpression('inputs.a + 1');
    expect(compileExpression('inputs.a + 1')).toBe(first);
    expect(first.source).toBe('inputs.a + 1');
  });

  it('throws JSONata’s error for a syntax error', () => {
    expect(() => compileExpression('$uppercase(')).toThrow(expect.objectContaining({ code: 'S0203', position: 11 }));
  });

  it('returns nothing for an expression that parses', () => {
    expect(checkExpression('inputs.text')).toBeUndefined();
  });

  it.each([
    ['$uppercase(', { message: 'Expected ")" before end of expression', position: 11, code: 'S0203' }],
    ['steps.a.', { message: 'Unexpected end of expression', position: 8, code: 'S0207' }],
    ['a ++ b', { message: 'The symbol "+" cannot be used as a unary operator', position: 4, code: 'S0211' }],
  ])('returns the message, position and code of a syntax error in %j', (source, expected) => {
    expect(checkExpression(source)).toEqual(expected);
  });
});

describe('isDeterministic', () => {
  it.each([
    'inputs.a + 1',
    '$uppercase(text)',
    '"$now()"',
    '/* $now() */ inputs.a',
    "$string('$random()')",
    '$map(xs, function($v) { $v * 2 })',
  ])('reads %j from its syntax tree as deterministic', (source) => {
    expect(isDeterministic(source)).toBe(true);
  });

  it.each([
    '$now()',
    '$millis()',
    '$random() > 0.5',
    '($f := $now; $f())',
    '$map(xs, $random)',
    '$eval("1 + 1")',
    '{ "at": $now() }',
    '$uppercase(',
  ])('reads %j as not deterministic (a clock, random numbers, $eval, or no parse)', (source) => {
    expect(isDeterministic(source)).toBe(false);
  });
});
