import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import type { Ajv as AjvClass } from 'ajv';
import type { Ajv2020 as Ajv2020Class } from 'ajv/dist/2020.js';

// ajv is CommonJS whose module.exports is the class itself; require() sidesteps the ESM interop quirks.
const require = createRequire(import.meta.url);
const Ajv = require('ajv') as typeof AjvClass;
const Ajv2020 = require('ajv/dist/2020.js') as typeof Ajv2020Class;

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
  const ajv = draft07 ? new Ajv({ allErrors: true, strict: false }) : new Ajv2020({ allErrors: true, strict: false });
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
    const where = e.instancePath ? `inputs${e.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replaceAll('/', '.')}` : 'inputs';
    const field = e.keyword === 'required' ? `${where}.${String((e.params as { missingProperty?: string }).missingProperty)}` : where;
    return e.keyword === 'required' ? `${field}: required; pass it in the inputs` : `${field}: ${e.message ?? 'is invalid'}`;
  });
}
