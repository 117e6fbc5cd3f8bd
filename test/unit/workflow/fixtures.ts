import { validateWorkflow } from '../../../src/workflow/validate.js';
import type { ValidationResult } from '../../../src/workflow/validate.js';
import type { ValidationIssue } from '../../../src/workflow/types.js';

/** A definition as an author writes it: loose, unvalidated JSON. */
export type Raw = Record<string, unknown>;
export type Valid = Extract<ValidationResult, { ok: true }>;

/** The reference definition from the product brief; it must stay valid. */
export const EXAMPLE_YAML = `id: invoice-agent
name: Invoice agent
description: Read an invoice and extract its total
version: 1
inputs:
  type: object
  required: [text]
  properties: { text: { type: string } }
steps:
  - id: normalize
    step_type: data_processing
    expression: "$uppercase(text)"
    input_mappings: { text: "inputs.text" }
  - id: classify
    step_type: inference
    model_requirements: { name: builtin/echo }
    input_mappings: { text: "steps.normalize.output" }
    output_mappings: { label: "$.text" }
    depends_on: [normalize]
    when: "inputs.text != ''"
    timeout_seconds: 300
    retry_policy: { max_attempts: 3, initial_backoff_ms: 200, backoff_multiplier: 2, max_backoff_ms: 10000 }
    requires_proof: false
    estimated_cost: 1000
outputs: { label: "steps.classify.output.label" }
max_execution_time: 3600
max_cost_budget: 1000000
requires_verification: true
verification_level: basic
concurrency: 8
`;

/** The same definition as a plain object (a fresh copy each call, so tests may mutate it). */
export function example(): Raw {
  return {
    id: 'invoice-agent',
    name: 'Invoice agent',
    description: 'Read an invoice and extract its total',
    version: 1,
    inputs: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
    steps: [
      {
        id: 'normalize',
        step_type: 'data_processing',
        expression: '$uppercase(text)',
        input_mappings: { text: 'inputs.text' },
      },
      {
        id: 'classify',
        step_type: 'inference',
        model_requirements: { name: 'builtin/echo' },
        input_mappings: { text: 'steps.normalize.output' },
        output_mappings: { label: '$.text' },
        depends_on: ['normalize'],
        when: "inputs.text != ''",
        timeout_seconds: 300,
        retry_policy: { max_attempts: 3, initial_backoff_ms: 200, backoff_multiplier: 2, max_backoff_ms: 10000 },
        requires_proof: false,
        estimated_cost: 1000,
      },
    ],
    outputs: { label: 'steps.classify.output.label' },
    max_execution_time: 3600,
    max_cost_budget: 1000000,
    requires_verification: true,
    verification_level: 'basic',
    concurrency: 8,
  };
}

/** A data_processing step that passes its input through; `extra` overrides or adds fields. */
export function step(id: string, extra: Raw = {}): Raw {
  return { id, step_type: 'data_processing', expression: '$', ...extra };
}

/** A minimal workflow around `steps`; `extra` adds or overrides top-level fields. */
export function workflow(steps: Raw[], extra: Raw = {}): Raw {
  return { id: 'wf', steps, ...extra };
}

/** Validates and insists the definition is valid, showing the errors if it is not. */
export function valid(raw: unknown): Valid {
  const result = validateWorkflow(raw);
  if (!result.ok) throw new Error(`expected a valid definition, got:\n${JSON.stringify(result.errors, null, 2)}`);
  return result;
}

/** Validates and insists the definition is invalid; returns its errors. */
export function errorsOf(raw: unknown): ValidationIssue[] {
  const result = validateWorkflow(raw);
  if (result.ok) throw new Error('expected an invalid definition, but it validated');
  return result.errors;
}

/** `path code` for each issue, sorted, so that a test can state the exact set of problems found. */
export function where(issues: readonly ValidationIssue[]): string[] {
  return issues.map((i) => `${i.path} ${i.code}`).sort();
}

/** The one issue in `issues`; fails the test if there is not exactly one. */
export function only(issues: readonly ValidationIssue[]): ValidationIssue {
  if (issues.length !== 1) throw new Error(`expected exactly one issue, got:\n${JSON.stringify(issues, null, 2)}`);
  return issues[0]!;
}

/** A copy of `value` with every object's keys in reverse order (arrays keep their order). */
export function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}
