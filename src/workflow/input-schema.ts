import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import type { Ajv as AjvClass } from 'ajv';
import type { Ajv2020 as Ajv2020Class } from 'ajv/dist/2020.js';
import type { RegExpEngine } from 'ajv/dist/types/index.js';
import { RE2JS } from 're2js';

// ajv is CommonJS whose module.exports is the class itself; require() sidesteps the ESM interop quirks.
const require = createRequire(import.meta.url);
const Ajv = require('ajv') as typeof AjvClass;
const Ajv2020 = require('ajv/dist/2020.js') as typeof Ajv2020Class;

/**
 * `pattern` and `patternProperties` come from publishers and run on clients' strings: with JavaScript's
 * backtracking engine `(a+)+$` takes seconds per request. RE2 matches in time linear in the input; its
 * syntax has no backreferences or lookaround, so a schema that uses them is refused when published.
 */
const re2: RegExpEngine = Object.assign(
  (pattern: string, flags: string) => {
    // ajv passes "u" (unicode) or ""; RE2 is always Unicode-aware.
    void flags;
    const compiled = RE2JS.compile(pattern);
    // ajv caches compiled patterns by toString(): without one, every pattern would be the first one.
    return { test: (s: string) => compiled.test(s), toString: () => `/${pattern}/` };
  },
  { code: 'RE2JS' },
);

/**
 * The JSON Schema that a workflow's `inputs` field declares. Draft 2020-12 unless the schema names
 * draft-07 in `$schema`. Compiled schemas are cached by their text.
 */
const cache = new Map<string, ValidateFunction>();

export function compileInputSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit) return hit;
  const draft07 = typeof schema.$schema === 'string' && schema.$schema.includes('draft-07');
  const ajv = draft07
    ? new Ajv({ allErrors: true, strict: false, code: { regExp: re2 } })
    : new Ajv2020({ allErrors: true, strict: false, code: { regExp: re2 } });
  const validate = ajv.compile(schema);
  cache.set(key, validate);
  return validate;
}

/** Checks a caller's inputs against the schema; returns one readable line per problem. */
export function checkInputs(schema: Record<string, unknown> | undefined, inputs: unknown): string[] {
  if (!schema) return [];
  const validate = compileInputSchema(schema);
  if (validate(inputs)) return [];
  return (validate.errors ?? []).map((e) => {
    const where = e.instancePath
      ? `inputs${e.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replaceAll('/', '.')}`
      : 'inputs';
    const field =
      e.keyword === 'required'
        ? `${where}.${String((e.params as { missingProperty?: string }).missingProperty)}`
        : where;
    return e.keyword === 'required'
      ? `${field}: required; pass it in the inputs`
      : `${field}: ${e.message ?? 'is invalid'}`;
  });
}
