import { describe, expect, it } from 'vitest';
import { markOf, placeIssues, stepIndex } from '../../../web/src/lib/issues-on-graph.js';

/** The definition checker: each validation issue on the step its path points into, the rest listed apart. */
describe('issues on the graph', () => {
  const definition = {
    id: 'w',
    steps: [
      { id: 'a', step_type: 'data_processing', expression: '1' },
      { id: 'b', step_type: 'data_processing', depends_on: ['c'] },
      { id: 'c', step_type: 'data_processing', depends_on: ['b', 'ghost'] },
      { step_type: 'data_processing' },
      { id: 'a', step_type: 'data_processing' },
    ],
  };
  const issue = (path: string, message = 'bad') => ({ path, code: 'x', message });

  it('reads the step index a path starts with', () => {
    expect(stepIndex('steps[2].input_mappings.x')).toBe(2);
    expect(stepIndex('steps[1].depends_on[0]')).toBe(1);
    expect(stepIndex('steps[10]')).toBe(10);
    expect(stepIndex('steps[0]["odd key"]')).toBe(0);
    expect(stepIndex('steps')).toBeUndefined();
    expect(stepIndex('steps[x]')).toBeUndefined();
    expect(stepIndex('steps[1]x')).toBeUndefined();
    expect(stepIndex('outputs.steps[1]')).toBeUndefined();
    expect(stepIndex('')).toBeUndefined();
  });

  it('puts each issue on its step by index, errors before warnings', () => {
    const placed = placeIssues(definition, {
      errors: [
        issue('steps[2].depends_on[0]', 'dependency cycle b -> c -> b'),
        issue('steps[2].depends_on[1]', 'unknown step "ghost"'),
        issue('id', 'bad id'),
      ],
      warnings: [issue('steps[2].retry', 'odd retry'), issue('steps[0].expression', 'unused')],
    });
    expect([...placed.byStep.keys()].sort()).toEqual(['a', 'c']);
    expect(placed.byStep.get('c')!.map((i) => [i.severity, i.message])).toEqual([
      ['error', 'dependency cycle b -> c -> b'],
      ['error', 'unknown step "ghost"'],
      ['warning', 'odd retry'],
    ]);
    expect(placed.byStep.get('a')!.map((i) => i.severity)).toEqual(['warning']);
    expect(placed.elsewhere.map((i) => i.path)).toEqual(['id']);
  });

  it('lists apart the issues of steps the graph does not draw, or past the end', () => {
    const placed = placeIssues(definition, {
      errors: [issue('steps[3].id', 'missing id'), issue('steps[4].id', 'repeated id "a"'), issue('steps[9].id')],
      warnings: [],
    });
    // steps[4] repeats "a": the graph draws the first "a" only, which the issue is not about.
    expect(placed.byStep.size).toBe(0);
    expect(placed.elsewhere.map((i) => i.path)).toEqual(['steps[3].id', 'steps[4].id', 'steps[9].id']);
    expect(placeIssues('not a definition', { errors: [issue('steps[0]')], warnings: [] }).elsewhere).toHaveLength(1);
  });

  it('marks a step red with errors, amber with warnings only, counting both and listing the messages', () => {
    const placed = placeIssues(definition, {
      errors: [issue('steps[1].depends_on[0]', 'cycle')],
      warnings: [issue('steps[1].x', 'w1'), issue('steps[1].y', 'w2'), issue('steps[0].z', 'w3')],
    });
    expect(markOf(placed.byStep.get('b')!)).toEqual({
      tone: 'bad',
      note: '1 error, 2 warnings',
      title: '✗ steps[1].depends_on[0]: cycle\n! steps[1].x: w1\n! steps[1].y: w2',
    });
    expect(markOf(placed.byStep.get('a')!)).toMatchObject({ tone: 'warn', note: '1 warning' });
  });
});
