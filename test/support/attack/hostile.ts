import fc from 'fast-check';

/**
 * Values an attacker sends inside bodies that are otherwise well shaped: each reaches past the schema to
 * the code that handles it. Sizes stay under the server's body limit (the limit itself is tested apart).
 */

/** JSONata that a naive evaluator runs for ever, or until the process runs out of memory. */
export const HOSTILE_JSONATA = [
  "$length($pad('x', 200000000))",
  "$pad('x', 2e8)",
  '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)',
  '$contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a|aa)+$/)',
  '$replace("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a*)*$/, "b")',
  '[1..9999999]',
  '$count([1..10000000])',
  '$map([1..5000000], function($x) { $x * 2 })',
  '$join($map([1..2000000], function($v) { "abcdefghij" }))',
  '($f := function($n) { $f($n + 1) }; $f(0))',
  '($f := function($n) { $n <= 1 ? 1 : $f($n - 1) + $f($n - 2) }; $f(40))',
  '$reduce([1..3000000], function($a, $b) { $a & "x" }, "")',
  '$string($eval("[1..9999999]"))',
  '$sort([1..3000000], function($a, $b) { $a < $b })',
  '$now()',
  '$millis() & $random()',
  '$split($pad("", 50000000, "a,"), ",")',
  '{"a": $}.a.a.a',
  'inputs.__proto__.polluted := 1',
  '$lookup($$, "constructor")',
  '$type($.constructor)',
  '$eval("$$")',
  '('.repeat(400) + '1' + ')'.repeat(400),
  '['.repeat(3000) + ']'.repeat(3000),
  '$spread($)',
  '$distinct([1..3000000])',
  '$base64encode($pad("", 30000000, "a"))',
  'x' + '.x'.repeat(5000),
] as const;

/** Regular expressions for a schema's `pattern`: catastrophic for a backtracking engine, or not valid for RE2. */
export const HOSTILE_PATTERNS = [
  '^(a+)+$',
  '^(a|aa)+$',
  '(a*)*b',
  '^(\\w+\\s?)*$',
  '(.*a){25}',
  '(a)\\1',
  '(?=a)a',
  '(?<x>a)\\k<x>',
  '[',
  '\\',
  '(',
  'a{99999}',
  '(((((((((((a)))))))))))*',
] as const;

/** Prototype keys and keys the API reads, as object keys. */
const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '$blob',
  'size',
  'inputs',
  'steps',
  'id',
  'output',
  'then',
  '',
] as const;

const hugeString = fc
  .integer({ min: 10_000, max: 60_000 })
  .chain((n) =>
    fc
      .constantFrom('x', 'é', '🙂', '\u0000', '\uD800', 'a+', '\\', '"', '<', '%')
      .map((c) => c.repeat(Math.max(1, Math.floor(n / c.length)))),
  );
const unicode = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u202E\u0041',
    '\uFEFF',
    '\u0000',
    '\uD800',
    '\uDFFF',
    'e\u0301',
    '𝕍',
    'İ',
    'ß',
    '\u2028',
    '\r\n',
    '../../etc/passwd',
    'file:///etc/passwd',
    'http://169.254.169.254/',
    'keys/coordinator.key',
    'admin.key',
  ),
);
const hostileNumber = fc.oneof(
  fc.constantFrom(
    -1,
    -0,
    0,
    1e308,
    -1e308,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53) - 2,
    2 ** 63,
    4294967296,
    0.1,
    1e-320,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
  ),
  fc.double(),
  fc.integer(),
);
/** Strings that look like numbers, and numbers as strings: what a lax parser would coerce. */
const nanish = fc.constantFrom(
  'NaN',
  'Infinity',
  '-Infinity',
  '1e999',
  '-0',
  '0x10',
  '1_000',
  ' 1',
  '1 ',
  '',
  'null',
  'true',
  '[]',
  '{}',
);

/** Nested arrays or objects, from a little to far deeper than any limit. */
export function nested(depth: number, kind: 'array' | 'object', leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}
const deep = fc
  .tuple(
    fc.constantFrom(100, 127, 128, 129, 255, 256, 257, 300, 1_000, 5_000, 20_000),
    fc.constantFrom('array' as const, 'object' as const),
  )
  .map(([d, k]) => nested(d, k));

export const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: unicode },
  { weight: 1, arbitrary: hugeString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 2, arbitrary: nanish },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false) },
);

/** Any hostile JSON value: leaves, deep nesting, prototype keys, wide arrays. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { weight: 5, arbitrary: hostileLeaf },
    { weight: 1, arbitrary: deep },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
    },
    { weight: 2, depthSize: 'small', arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    {
      weight: 2,
      depthSize: 'small',
      arbitrary: fc
        .array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string()), tie('value')), { maxLength: 4 })
        .map(objectOf),
    },
  ),
})).value;

/** An object from entries, prototype keys kept as own keys (as JSON.parse would make them). */
export function objectOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries)
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

/** A well-shaped object with hostile values in its own fields, a field missing or wrong now and then, and extra fields. */
export function shaped(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(fields).map(([key, arbitrary]) =>
    fc.oneof(
      { weight: 6, arbitrary: arbitrary.map((v) => [key, v] as const) },
      { weight: 1, arbitrary: hostileValue.map((v) => [key, v] as const) },
      { weight: 1, arbitrary: fc.constant(undefined) },
    ),
  );
  const extra = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 10 })), hostileValue), {
    maxLength: 2,
  });
  return fc
    .tuple(
      fc.tuple(...entries),
      fc.oneof({ weight: 4, arbitrary: fc.constant([] as [string, unknown][]) }, { weight: 1, arbitrary: extra }),
    )
    .map(([own, more]) => objectOf([...own.filter((e): e is readonly [string, unknown] => e !== undefined), ...more]));
}

/**
 * JSON text of a value, without recursion (JSON.stringify overflows the stack on the deep ones);
 * prototype keys survive, as own keys.
 */
export function json(root: unknown): string {
  const out: string[] = [];
  // Raw text to write, told apart from string values by its class.
  class Raw {
    constructor(readonly text: string) {}
  }
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof Raw) {
      out.push(item.text);
      continue;
    }
    if (item === null || typeof item !== 'object') {
      out.push(JSON.stringify(item) ?? 'null');
      continue;
    }
    const isArray = Array.isArray(item);
    const entries: [string | undefined, unknown][] = isArray
      ? (item as unknown[]).map((v) => [undefined, v])
      : Object.entries(item as Record<string, unknown>).filter(([, v]) => v !== undefined);
    out.push(isArray ? '[' : '{');
    stack.push(new Raw(isArray ? ']' : '}'));
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, value] = entries[i]!;
      stack.push(value === undefined ? null : value);
      const prefix = `${i > 0 ? ',' : ''}${key === undefined ? '' : `${JSON.stringify(key)}:`}`;
      if (prefix) stack.push(new Raw(prefix));
    }
  }
  return out.join('');
}

const stepId = fc.constantFrom('a', 'b', 'e', '__proto__', 'constructor', 'x'.repeat(65), '1a', 'a-b', '');
const expression = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_JSONATA) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);

/** Workflow definitions: published ids from a small set (so clients can run them), with hostile expressions, schemas and shapes. */
export function hostileWorkflow(ids: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const step = fc.oneof(
    shaped({
      id: stepId,
      step_type: fc.constant('data_processing'),
      expression,
      input_mappings: fc.constant({ items: 'inputs.items' }),
    }),
    shaped({
      id: stepId,
      step_type: fc.constant('inference'),
      model_requirements: fc.constant({ name: 'builtin/echo' }),
      when: expression,
      input_mappings: fc.dictionary(fc.constantFrom('text', '__proto__', 'x'), expression, { maxKeys: 2 }),
    }),
    shaped({
      id: stepId,
      step_type: fc.constantFrom('inference', 'training'),
      model_requirements: shaped({
        name: fc.constantFrom('builtin/echo', 'builtin/sleep', 'builtin/fail', 'nobody/serves', '../../etc/passwd'),
      }),
      redundancy: shaped({ replicas: hostileNumber, quorum: hostileNumber }),
      retry_policy: shaped({ max_attempts: hostileNumber, initial_backoff_ms: hostileNumber }),
      timeout_seconds: hostileNumber,
    }),
  );
  const schema = fc.oneof(
    shaped({
      type: fc.constant('object'),
      properties: shaped({ s: shaped({ type: fc.constant('string'), pattern: fc.constantFrom(...HOSTILE_PATTERNS) }) }),
    }),
    shaped({
      type: fc.constant('object'),
      patternProperties: fc.constantFrom(...HOSTILE_PATTERNS).map((p) => ({ [p]: { type: 'string' } })),
    }),
    fc.constantFrom(
      { $ref: 'http://169.254.169.254/latest' },
      { $ref: 'file:///etc/passwd' },
      { $ref: '#', properties: { a: { $ref: '#' } } },
      { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { s: { format: 'regex' } } },
      { $defs: { a: { $ref: '#/$defs/a' } }, $ref: '#/$defs/a' },
    ),
    hostileValue,
  );
  return shaped({
    id: fc.constantFrom(...ids),
    version: hostileNumber,
    inputs: schema,
    steps: fc.array(step, { minLength: 1, maxLength: 3 }),
    outputs: fc.dictionary(fc.constantFrom('r', '__proto__', 'constructor'), expression, { maxKeys: 2 }),
    max_cost_budget: hostileNumber,
    concurrency: hostileNumber,
  });
}

/** YAML text that is hard on a parser: deep nesting (block and flow), alias bombs, duplicate keys, tags. */
export const hostileYaml: fc.Arbitrary<string> = fc.oneof(
  fc
    .constantFrom(127, 128, 129, 200, 1_000, 10_000, 30_000)
    .map((d) => `id: atk-yaml\nversion: 1\nsteps: ${'['.repeat(d)}${']'.repeat(d)}\n`),
  fc
    .constantFrom(127, 128, 129, 300)
    .map((d) => `id: atk-yaml\nsteps:\n${Array.from({ length: d }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}x\n`),
  fc.constantFrom(129, 2_000).map((d) => `id: atk-yaml\nx: ${'{a: '.repeat(d)}1${'}'.repeat(d)}\n`),
  fc
    .constantFrom(10, 20, 200)
    .map(
      (n) =>
        `a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n${Array.from({ length: n }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`).join('\n')}\n`,
    ),
  fc
    .constantFrom(130, 400)
    .map(
      (n) =>
        `a0: &a0 [1]\n${Array.from({ length: n }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}]`).join('\n')}\nid: atk-yaml\n`,
    ),
  fc.constantFrom(
    'id: a\nid: b\n',
    'steps: []\nsteps: []\n',
    '{"id": "a", "id": "b"}',
    '? [a]\n: b\n',
    '!!js/function "x"',
    'a: !!binary AAAA\n',
    '%YAML 1.1\n---\na: <<\n',
    'a: *missing\n',
    '---\n---\n',
    '\t- x',
    '&a [*a]',
    'a: &a\n  b: *a\n',
    '<<: {__proto__: {polluted: 1}}\nid: atk-yaml\n',
    '__proto__:\n  polluted: 1\nid: atk-yaml\n',
  ),
);

export { hostileNumber, hugeString, unicode, nanish, expression as hostileExpression };
