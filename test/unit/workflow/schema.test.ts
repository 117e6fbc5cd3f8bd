import { createRequire } from 'node:module';
import type { Ajv2020 as Ajv2020Class } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { workflowJsonSchema } from '../../../src/workflow/schema.js';
import { EXAMPLE_YAML, example } from './fixtures.js';

// ajv is CommonJS whose module.exports is the class itself.
const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js') as typeof Ajv2020Class;

type Schema = {
  $schema?: string;
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  additionalProperties?: unknown;
  default?: unknown;
};

const schema = workflowJsonSchema() as Schema;
const stepSchema = schema.properties!.steps!.items!;
const validate = new Ajv2020({ allErrors: true }).compile(workflowJsonSchema());

describe('workflowJsonSchema', () => {
  it('is a draft 2020-12 JSON Schema with an id and a title', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(workflowJsonSchema()).toMatchObject({
      $id: 'https://verity.dev/schemas/workflow.json',
      title: 'Verity workflow definition',
    });
  });

  it('closes the top level, steps, retry_policy and model_requirements to unknown fields', () => {
    expect(schema.additionalProperties).toBe(false);
    expect(stepSchema.additionalProperties).toBe(false);
    expect(stepSchema.properties!.retry_policy!.additionalProperties).toBe(false);
    expect(stepSchema.properties!.model_requirements!.additionalProperties).toBe(false);
  });

  it('requires only what has no default', () => {
    expect(schema.required).toEqual(['id', 'steps']);
    expect(stepSchema.required).toEqual(['id', 'step_type']);
    for (const object of [schema, stepSchema, stepSchema.properties!.retry_policy!]) {
      for (const [field, property] of Object.entries(object.properties!)) {
        if ('default' in property) expect(object.required ?? [], field).not.toContain(field);
      }
    }
  });

  it('documents the defaults', () => {
    expect(schema.properties!.concurrency!.default).toBe(8);
    expect(schema.properties!.verification_level!.default).toBe('basic');
    expect(stepSchema.properties!.timeout_seconds!.default).toBe(300);
  });

  it('accepts the example definition', () => {
    expect(validate(parse(EXAMPLE_YAML))).toBe(true);
    expect(validate(example())).toBe(true);
  });

  it('rejects an unknown top-level field', () => {
    expect(validate({ ...example(), owner: 'me' })).toBe(false);
    expect(validate.errors).toEqual([
      expect.objectContaining({
        instancePath: '',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'owner' },
      }),
    ]);
  });

  it('rejects an unknown step field', () => {
    const raw = example();
    (raw.steps as Record<string, unknown>[])[1]!.dependson = ['normalize'];
    expect(validate(raw)).toBe(false);
    expect(validate.errors!.map((e) => [e.instancePath, e.keyword])).toEqual([['/steps/1', 'additionalProperties']]);
  });

  it('rejects a step without a step_type and an unknown verification_level', () => {
    expect(validate({ id: 'wf', steps: [{ id: 'a' }] })).toBe(false);
    expect(validate({ ...example(), verification_level: 'paranoid' })).toBe(false);
  });
});
