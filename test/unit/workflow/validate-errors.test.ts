import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../../src/workflow/limits.js';
import { errorsOf, example, only, step, valid, where, workflow } from './fixtures.js';
import type { Raw } from './fixtures.js';

/** The example with one step's fields replaced (index 1 is the inference step `classify`). */
function exampleWithStep(index: number, extra: Raw): Raw {
  const raw = example();
  const steps = raw.steps as Raw[];
  steps[index] = { ...steps[index], ...extra };
  return raw;
}

describe('unknown fields', () => {
  it('rejects an unknown top-level field', () => {
    const issue = only(errorsOf({ ...example(), owner: 'me' }));
    expect(issue).toEqual({
      path: 'owner',
      code: 'unknown_field',
      message: 'unknown field "owner"; remove it or fix its name',
    });
  });

  it('suggests the closest top-level field', () => {
    const issue = only(errorsOf({ ...example(), concurrenc: 3 }));
    expect([issue.path, issue.code]).toEqual(['concurrenc', 'unknown_field']);
    expect(issue.message).toContain('(did you mean "concurrency"?)');
  });

  it('rejects an unknown step field and suggests depends_on for dependson', () => {
    const issue = only(errorsOf(exampleWithStep(1, { dependson: ['normalize'] })));
    expect(issue).toEqual({
      path: 'steps[1].dependson',
      code: 'unknown_field',
      message: 'unknown field "dependson" (did you mean "depends_on"?); remove it or fix its name',
    });
  });

  it('makes no suggestion for a name far from every field', () => {
    const issue = only(errorsOf(exampleWithStep(0, { zzzzzz: 1 })));
    expect(issue.path).toBe('steps[0].zzzzzz');
    expect(issue.message).not.toContain('did you mean');
  });

  it('rejects an unknown retry_policy field with a suggestion', () => {
    const issue = only(errorsOf(exampleWithStep(1, { retry_policy: { max_attempt: 2 } })));
    expect([issue.path, issue.code]).toEqual(['steps[1].retry_policy.max_attempt', 'unknown_field']);
    expect(issue.message).toContain('(did you mean "max_attempts"?)');
  });

  it('rejects an unknown model_requirements field with a suggestion', () => {
    const issues = errorsOf(exampleWithStep(1, { model_requirements: { name: 'builtin/echo', digset: 'x' } }));
    const issue = only(issues);
    expect([issue.path, issue.code]).toEqual(['steps[1].model_requirements.digset', 'unknown_field']);
    expect(issue.message).toContain('(did you mean "digest"?)');
  });

  it('reports each unknown field of one object separately', () => {
    expect(where(errorsOf({ ...example(), a1: 1, b2: 2 }))).toEqual(['a1 unknown_field', 'b2 unknown_field']);
  });
});

describe('missing required fields', () => {
  it('requires the workflow id and steps', () => {
    const issues = errorsOf({});
    expect(where(issues)).toEqual(['id missing_field', 'steps missing_field']);
    expect(issues.every((i) => i.message.startsWith('required: '))).toBe(true);
  });

  it('requires a step id and step_type', () => {
    const issues = errorsOf(workflow([{ expression: '$' }]));
    expect(where(issues)).toEqual(['steps[0].id missing_field', 'steps[0].step_type missing_field']);
    const stepType = issues.find((i) => i.path === 'steps[0].step_type')!;
    expect(stepType.message).toContain('inference, training, data_processing');
  });

  it('requires a model name', () => {
    const issue = only(errorsOf(exampleWithStep(1, { model_requirements: {} })));
    expect([issue.path, issue.code]).toEqual(['steps[1].model_requirements.name', 'missing_field']);
  });

  it('requires at least one step', () => {
    const issue = only(errorsOf(workflow([])));
    expect([issue.path, issue.code]).toEqual(['steps', 'out_of_range']);
  });
});

describe('wrong types', () => {
  const cases: [string, Raw, string][] = [
    ['workflow id a number', { id: 5 }, 'id'],
    ['name a number', { name: 3 }, 'name'],
    ['steps an object', { steps: {} }, 'steps'],
    ['a step a string', { steps: ['a'] }, 'steps[0]'],
    ['inputs a string', { inputs: 'text' }, 'inputs'],
    ['outputs a list', { outputs: [] }, 'outputs'],
    ['concurrency a string', { concurrency: '8' }, 'concurrency'],
    ['requires_verification a string', { requires_verification: 'true' }, 'requires_verification'],
    ['a dependencies entry a string', { steps: [step('a'), step('b')], dependencies: { b: 'a' } }, 'dependencies.b'],
    ['depends_on a string', { steps: [step('a'), step('b', { depends_on: 'a' })] }, 'steps[1].depends_on'],
    ['timeout_seconds a string', { steps: [step('a', { timeout_seconds: '30' })] }, 'steps[0].timeout_seconds'],
    ['requires_proof a string', { steps: [step('a', { requires_proof: 'yes' })] }, 'steps[0].requires_proof'],
    ['retry_policy a number', { steps: [step('a', { retry_policy: 3 })] }, 'steps[0].retry_policy'],
    ['a mapping a number', { steps: [step('a', { input_mappings: { x: 1 } })] }, 'steps[0].input_mappings.x'],
    ['version a fraction', { version: 1.5 }, 'version'],
  ];

  it.each(cases)('rejects %s', (_name, fields, path) => {
    const issue = only(errorsOf({ ...workflow([step('a')]), ...fields }));
    expect([issue.path, issue.code]).toEqual([path, 'invalid_type']);
  });

  it('says what was expected and what was found', () => {
    const issue = only(errorsOf(workflow([step('a')], { concurrency: '8' })));
    expect(issue.message).toBe('must be an integer, but is the string "8"');
  });

  it('rejects a document that is not an object at the empty path', () => {
    for (const raw of [null, [], 'text', 42]) {
      expect(where(errorsOf(raw))).toEqual([' invalid_type']);
    }
  });
});

describe('limits', () => {
  const cases: [string, Raw, string, string][] = [
    ['version 0', { version: 0 }, 'version', 'out_of_range'],
    ['concurrency 0', { concurrency: 0 }, 'concurrency', 'out_of_range'],
    ['concurrency 1001', { concurrency: LIMITS.maxConcurrency + 1 }, 'concurrency', 'out_of_range'],
    ['max_execution_time 0', { max_execution_time: 0 }, 'max_execution_time', 'out_of_range'],
    ['max_cost_budget negative', { max_cost_budget: -1 }, 'max_cost_budget', 'out_of_range'],
    ['max_cost_budget fractional', { max_cost_budget: 0.5 }, 'max_cost_budget', 'invalid_type'],
    ['timeout_seconds 0', { steps: [step('a', { timeout_seconds: 0 })] }, 'steps[0].timeout_seconds', 'out_of_range'],
    [
      'timeout_seconds above 7 days',
      { steps: [step('a', { timeout_seconds: 7 * 24 * 3600 + 1 })] },
      'steps[0].timeout_seconds',
      'out_of_range',
    ],
    [
      'max_attempts 0',
      { steps: [step('a', { retry_policy: { max_attempts: 0 } })] },
      'steps[0].retry_policy.max_attempts',
      'out_of_range',
    ],
    [
      'max_attempts 101',
      { steps: [step('a', { retry_policy: { max_attempts: 101 } })] },
      'steps[0].retry_policy.max_attempts',
      'out_of_range',
    ],
    [
      'backoff_multiplier 0.5',
      { steps: [step('a', { retry_policy: { backoff_multiplier: 0.5 } })] },
      'steps[0].retry_policy.backoff_multiplier',
      'out_of_range',
    ],
    [
      'backoff_multiplier 101',
      { steps: [step('a', { retry_policy: { backoff_multiplier: 101 } })] },
      'steps[0].retry_policy.backoff_multiplier',
      'out_of_range',
    ],
    [
      'estimated_cost negative',
      { steps: [step('a', { estimated_cost: -1 })] },
      'steps[0].estimated_cost',
      'out_of_range',
    ],
    [
      'estimated_cost fractional',
      { steps: [step('a', { estimated_cost: 1.5 })] },
      'steps[0].estimated_cost',
      'invalid_type',
    ],
    ['an empty expression', { steps: [step('a', { expression: '' })] }, 'steps[0].expression', 'out_of_range'],
    [
      'a too long expression',
      { steps: [step('a', { expression: '1'.repeat(LIMITS.maxExpressionLength + 1) })] },
      'steps[0].expression',
      'out_of_range',
    ],
  ];

  it.each(cases)('rejects %s', (_name, fields, path, code) => {
    const issues = errorsOf({ ...workflow([step('a')]), ...fields });
    expect(issues.some((i) => i.path === path && i.code === code)).toBe(true);
    expect(new Set(issues.map((i) => i.path))).toEqual(new Set([path]));
  });

  it('says which bound was crossed and by what value', () => {
    const issue = only(errorsOf(workflow([step('a', { timeout_seconds: 604801 })])));
    expect(issue.message).toBe('must be at most 604800, but is number 604801');
  });

  it('accepts values on the bounds', () => {
    valid(
      workflow(
        [
          step('a', {
            timeout_seconds: LIMITS.maxTimeoutSeconds,
            retry_policy: {
              max_attempts: LIMITS.maxAttempts,
              backoff_multiplier: 1,
              initial_backoff_ms: 0,
              max_backoff_ms: 0,
            },
            estimated_cost: 0,
          }),
          step('b', {
            timeout_seconds: 1,
            retry_policy: { max_attempts: 1, backoff_multiplier: LIMITS.maxBackoffMultiplier },
          }),
        ],
        { version: 1, concurrency: LIMITS.maxConcurrency, max_cost_budget: 0 },
      ),
    );
    valid(workflow([step('a')], { concurrency: 1 }));
  });

  it('rejects max_backoff_ms below initial_backoff_ms', () => {
    const issue = only(
      errorsOf(workflow([step('a', { retry_policy: { initial_backoff_ms: 500, max_backoff_ms: 100 } })])),
    );
    expect(issue).toEqual({
      path: 'steps[0].retry_policy.max_backoff_ms',
      code: 'out_of_range',
      message: 'must be at least initial_backoff_ms (500), but is 100',
    });
  });

  it('compares backoffs with the defaults filled in', () => {
    // The default initial_backoff_ms is 1000 and the default max_backoff_ms 60000.
    const low = only(errorsOf(workflow([step('a', { retry_policy: { max_backoff_ms: 500 } })])));
    expect([low.path, low.code]).toEqual(['steps[0].retry_policy.max_backoff_ms', 'out_of_range']);
    const high = only(errorsOf(workflow([step('a', { retry_policy: { initial_backoff_ms: 120_000 } })])));
    expect([high.path, high.code]).toEqual(['steps[0].retry_policy.initial_backoff_ms', 'out_of_range']);
    valid(workflow([step('a', { retry_policy: { initial_backoff_ms: 1000, max_backoff_ms: 1000 } })]));
  });

  it('rejects more steps than the limit', () => {
    const steps = Array.from({ length: LIMITS.maxSteps + 1 }, (_, i) => step(`s${i}`));
    const issue = only(errorsOf(workflow(steps)));
    expect([issue.path, issue.code]).toEqual(['steps', 'out_of_range']);
  });
});

describe('ids', () => {
  it.each(['My Flow', 'UPPER', 'has space', '-lead', 'trail-', 'a--b'])('rejects the workflow id %j', (id) => {
    const issue = only(errorsOf(workflow([step('a')], { id })));
    expect([issue.path, issue.code]).toEqual(['id', 'invalid_value']);
    expect(issue.message).toContain('lowercase slug');
  });

  it.each(['invoice-agent', 'a.b_c-1', 'v2'])('accepts the workflow id %j', (id) => {
    expect(valid(workflow([step('a')], { id })).definition.id).toBe(id);
  });

  it('rejects a workflow id longer than the limit', () => {
    const issue = only(errorsOf(workflow([step('a')], { id: 'a'.repeat(LIMITS.maxIdLength + 1) })));
    expect([issue.path, issue.code]).toEqual(['id', 'out_of_range']);
  });

  it.each(['a-b', '1a', 'has space', '', 'a.b'])('rejects the step id %j', (id) => {
    const issue = only(errorsOf(workflow([step('ok'), step(id)])));
    expect([issue.path, issue.code]).toEqual(['steps[1].id', 'invalid_value']);
  });

  it.each(['_private', 'Step_2', 'x'])('accepts the step id %j', (id) => {
    valid(workflow([step(id)]));
  });
});

describe('enums', () => {
  it('rejects an unknown step_type and lists the allowed ones', () => {
    const issue = only(errorsOf(workflow([step('a', { step_type: 'batch' })])));
    expect(issue).toEqual({
      path: 'steps[0].step_type',
      code: 'invalid_value',
      message: 'must be one of inference, training, data_processing, but is the string "batch"',
    });
  });

  it('rejects an unknown verification_level', () => {
    const issue = only(errorsOf(workflow([step('a')], { verification_level: 'paranoid' })));
    expect([issue.path, issue.code]).toEqual(['verification_level', 'invalid_value']);
    expect(issue.message).toContain('basic, full, zk');
  });

  it.each(['basic', 'full', 'zk'])('accepts verification_level %s', (level) => {
    expect(valid(workflow([step('a')], { verification_level: level })).definition.verification_level).toBe(level);
  });

  it('rejects a model digest that is not lowercase hex SHA-256', () => {
    const issue = only(errorsOf(exampleWithStep(1, { model_requirements: { name: 'm', digest: 'A'.repeat(64) } })));
    expect([issue.path, issue.code]).toEqual(['steps[1].model_requirements.digest', 'invalid_value']);
  });
});

describe('what a step runs', () => {
  it('requires an expression or a model for data_processing', () => {
    const issue = only(errorsOf(workflow([{ id: 'a', step_type: 'data_processing' }])));
    expect([issue.path, issue.code]).toEqual(['steps[0]', 'missing_field']);
    expect(issue.message).toContain('expression');
  });

  it.each([
    ['inference', 'an inference step needs model_requirements'],
    ['training', 'a training step needs model_requirements'],
  ])('requires model_requirements for %s', (type, message) => {
    const issue = only(errorsOf(workflow([{ id: 'a', step_type: type }])));
    expect([issue.path, issue.code]).toEqual(['steps[0]', 'missing_field']);
    expect(issue.message).toContain(message);
  });

  it('reports an empty expression once, as the schema does', () => {
    const issue = only(errorsOf(workflow([{ id: 'a', step_type: 'data_processing', expression: '' }])));
    expect([issue.path, issue.code]).toEqual(['steps[0].expression', 'out_of_range']);
    expect(issue.message).toMatch(/must not be empty/);
  });

  it('suggests no name for a one-letter typo (every short name is close to every other)', () => {
    const issue = only(
      errorsOf(
        workflow([
          { id: 'a', step_type: 'data_processing', expression: '1', depends_on: ['p'] },
          { id: 'b', step_type: 'data_processing', expression: '1' },
        ]),
      ),
    );
    expect(issue.code).toBe('unknown_step');
    expect(issue.message).toBe('unknown step "p"');
  });

  it('rejects a step with both an expression and a model', () => {
    const issue = only(errorsOf(exampleWithStep(1, { expression: '$' })));
    expect([issue.path, issue.code]).toEqual(['steps[1].expression', 'inconsistent']);
  });

  it('accepts data_processing with a model and training with a model', () => {
    valid(
      workflow([
        { id: 'a', step_type: 'data_processing', model_requirements: { name: 'm' } },
        { id: 'b', step_type: 'training', model_requirements: { name: 'm' } },
      ]),
    );
  });
});

describe('input schema', () => {
  it.each([
    ['an unknown type', { type: 'objekt' }],
    ['a nested bad type', { type: 'object', properties: { x: { type: 3 } } }],
    ['a bad required', { type: 'object', required: 'x' }],
  ])('rejects a JSON Schema with %s', (_name, inputs) => {
    const issue = only(errorsOf({ ...example(), inputs }));
    expect([issue.path, issue.code]).toEqual(['inputs', 'invalid_schema']);
    expect(issue.message).toContain('is not a valid JSON Schema');
  });
});

describe('many problems at once', () => {
  it('reports every problem of a document in one result', () => {
    const issues = errorsOf({
      id: 'Bad Id',
      concurrency: 0,
      steps: [step('a', { bogus: 1 }), step('b', { depends_on: ['ghost'], when: '1 +' })],
    });
    expect(where(issues)).toEqual([
      'concurrency out_of_range',
      'id invalid_value',
      'steps[0].bogus unknown_field',
      'steps[1].depends_on[0] unknown_step',
      'steps[1].when expression_syntax',
    ]);
  });

  it('reports graph problems alongside structural ones', () => {
    const issues = errorsOf(
      workflow([
        step('a', { depends_on: ['b'], timeout_seconds: -5 }),
        step('b', { depends_on: ['a'] }),
        step('c', { step_type: 'x' }),
      ]),
    );
    expect(where(issues)).toEqual([
      'steps[0].depends_on[0] cycle',
      'steps[0].timeout_seconds out_of_range',
      'steps[2].step_type invalid_value',
    ]);
  });

  it('returns the issues of a parsed object sorted by path', () => {
    const issues = errorsOf({ zeta: 1, alpha: 1, steps: [step('a', { beta: 1 })] });
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual([...paths].sort((a, b) => a.localeCompare(b)));
    expect(paths).toEqual(['alpha', 'id', 'steps[0].beta', 'zeta']);
  });
});
