import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../../../src/workflow/validate.js';
import { example, only, step, valid, workflow } from './fixtures.js';
import type { Raw } from './fixtures.js';

const codes = (raw: unknown): string[] => validateWorkflow(raw).warnings.map((w) => `${w.path} ${w.code}`);

describe('dynamic references', () => {
  it('warns about $lookup(steps, ...) in an input mapping, and the definition stays valid', () => {
    const result = valid(workflow([step('a'), step('b', { input_mappings: { x: "$lookup(steps, 'a')" } })]));
    const warning = only(result.warnings);
    expect([warning.path, warning.code]).toEqual(['steps[1].input_mappings.x', 'dynamic_reference']);
    expect(warning.message).toContain('steps.<id>');
    // A dynamic read names no step, so it adds no dependency.
    expect(result.definition.steps[1]!.depends_on).toEqual([]);
  });

  it('warns about $keys(steps) in a when condition', () => {
    expect(codes(workflow([step('a'), step('b', { when: '$count($keys(steps)) > 0' })]))).toEqual([
      'steps[1].when dynamic_reference',
    ]);
  });

  it('warns about steps.* and keeps the static references of the same expression', () => {
    const result = valid(workflow([step('a'), step('b', { input_mappings: { x: 'steps.*', y: 'steps.a.output' } })]));
    expect(result.warnings.map((w) => w.path)).toEqual(['steps[1].input_mappings.x']);
    expect(result.definition.steps[1]!.depends_on).toEqual(['a']);
  });

  it('does not warn about static references', () => {
    expect(valid(example()).warnings).toEqual([]);
  });

  it('does not warn when outputs read steps dynamically (outputs may read every step)', () => {
    expect(codes(workflow([step('a'), step('b')], { outputs: { all: '$keys(steps)' } }))).toEqual([]);
  });

  it('still reports warnings when the definition is invalid', () => {
    const result = validateWorkflow(workflow([step('a', { bogus: 1 }), step('b', { when: '$keys(steps)' })]));
    expect(result.ok).toBe(false);
    expect(result.warnings.map((w) => w.code)).toEqual(['dynamic_reference']);
  });
});

describe('unused steps', () => {
  it('warns about a step nobody reads when outputs are declared', () => {
    const result = valid(
      workflow([step('a'), step('b'), step('c', { depends_on: ['a'] })], { outputs: { o: 'steps.c.output' } }),
    );
    expect(result.warnings).toEqual([
      {
        path: 'steps[1]',
        code: 'unused_step',
        message: 'the output of "b" is not read by any step or by outputs; read it in outputs or remove the step',
      },
    ]);
  });

  it('counts a step read by outputs, by a mapping, by a condition or named in depends_on as used', () => {
    const raw = workflow(
      [
        step('a'),
        step('b'),
        step('c'),
        step('d', { depends_on: ['a'], input_mappings: { x: 'steps.b.output' }, when: 'steps.c.status' }),
        step('e'),
      ],
      { outputs: { d: 'steps.d.output', e: '$$.steps.e.output' } },
    );
    expect(codes(raw)).toEqual([]);
  });

  it('does not warn when outputs are absent (the last step is the result)', () => {
    expect(codes(workflow([step('a'), step('b')]))).toEqual([]);
  });

  it('does not warn when outputs read steps dynamically', () => {
    expect(codes(workflow([step('a'), step('b')], { outputs: { o: 'steps.*' } }))).toEqual([]);
  });

  it('does not add unused_step warnings to an invalid definition', () => {
    const result = validateWorkflow(
      workflow([step('a'), step('b', { timeout_seconds: 0 })], { outputs: { o: 'steps.a.output' } }),
    );
    expect(result.ok).toBe(false);
    expect(result.warnings).toEqual([]);
  });
});

describe('budget', () => {
  const costly = (budget: number, costs: number[]): Raw =>
    workflow(
      costs.map((c, i) => step(`s${i}`, { estimated_cost: c })),
      { max_cost_budget: budget },
    );

  it('warns when the estimated costs add up to more than max_cost_budget', () => {
    const result = valid(costly(10, [6, 5]));
    expect(result.warnings).toEqual([
      {
        path: 'max_cost_budget',
        code: 'budget',
        message:
          "the steps' estimated costs add up to 11, more than max_cost_budget 10; an execution that runs every step will end budget_exceeded",
      },
    ]);
  });

  it('does not warn when the costs fit the budget exactly', () => {
    expect(valid(costly(11, [6, 5])).warnings).toEqual([]);
  });

  it('does not warn when there is no budget (0)', () => {
    expect(valid(costly(0, [6, 5])).warnings).toEqual([]);
  });
});
