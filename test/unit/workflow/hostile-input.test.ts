import { describe, expect, it } from 'vitest';
import { checkInputs } from '../../../src/workflow/input-schema.js';
import { exceedsDepth } from '../../../src/workflow/json-depth.js';
import { validateWorkflowText } from '../../../src/workflow/load.js';
import { parseWorkflowText } from '../../../src/workflow/parse.js';
import { validateWorkflow } from '../../../src/workflow/validate.js';

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
};

describe('exceedsDepth', () => {
  it('counts each object or array as a level, without recursion', () => {
    expect(exceedsDepth(1, 0)).toBe(false);
    expect(exceedsDepth([], 0)).toBe(true);
    expect(exceedsDepth(nested(256), 256)).toBe(false);
    expect(exceedsDepth(nested(257), 256)).toBe(true);
    expect(exceedsDepth(nested(1_000_000), 256)).toBe(true);
  });
});

describe('definition nesting', () => {
  it('refuses YAML nested past 128 levels before composing it, naming the limit', () => {
    for (const text of [
      `steps: ${'['.repeat(129)}${']'.repeat(129)}`,
      `x: ${'['.repeat(200_000)}${']'.repeat(200_000)}`,
      `x:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}y`,
    ]) {
      const parsed = parseWorkflowText(text);
      expect(parsed.issues.map((i) => i.code)).toEqual(['too_deep']);
      expect(parsed.issues[0]?.message).toMatch(/128 levels/);
    }
  });

  it('refuses deep nesting in time linear in the text (the YAML parser takes the square)', () => {
    const started = performance.now();
    for (const text of [
      `x: ${'['.repeat(200_000)}${']'.repeat(200_000)}`,
      `x: ${'- '.repeat(200_000)}1`,
      `x: ${'{a: '.repeat(100_000)}1${'}'.repeat(100_000)}`,
    ]) {
      expect(parseWorkflowText(text).issues[0]?.code).toBe('too_deep');
    }
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('accepts 128 levels', () => {
    expect(parseWorkflowText(`x: ${'['.repeat(127)}${']'.repeat(127)}`).issues).toEqual([]);
  });

  it('measures again after aliases are expanded', () => {
    const text = `a0: &a0 [1]\n${Array.from({ length: 140 }, (_, i) => `a${i + 1}: &a${i + 1} [*a${i}]`).join('\n')}\n`;
    expect(validateWorkflowText(text).ok).toBe(false);
  });

  it('refuses a JSON definition nested past 128 levels', () => {
    const result = validateWorkflow({ id: 'x', steps: [], deep: nested(5_000) });
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors).toEqual([expect.objectContaining({ code: 'too_deep' })]);
  });

  it('refuses duplicate keys', () => {
    expect(parseWorkflowText('id: a\nid: b\n').issues[0]?.message).toMatch(/unique/);
  });
});

describe('input schema patterns run on RE2', () => {
  const schema = { type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' } } };

  it('matches in linear time what a backtracking engine takes seconds over', () => {
    const started = performance.now();
    expect(checkInputs(schema, { s: `${'a'.repeat(40)}!` })).toEqual(['inputs.s: must match pattern "^(a+)+$"']);
    expect(checkInputs(schema, { s: `${'a'.repeat(100_000)}!` })).toHaveLength(1);
    expect(checkInputs(schema, { s: 'aaaa' })).toEqual([]);
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('keeps each pattern apart (ajv caches patterns by their text)', () => {
    const two = {
      type: 'object',
      properties: { a: { type: 'string', pattern: '^a$' }, b: { type: 'string', pattern: '^b$' } },
      patternProperties: { '^x': { type: 'number' } },
    };
    expect(checkInputs(two, { a: 'a', b: 'b', x1: 1 })).toEqual([]);
    expect(checkInputs(two, { a: 'b', b: 'a', x1: 'no' })).toHaveLength(3);
  });

  it('refuses, when published, a pattern RE2 cannot run', () => {
    const result = validateWorkflow({
      id: 'x',
      inputs: { type: 'object', properties: { s: { type: 'string', pattern: '(a)\\1' } } },
      steps: [{ id: 'a', step_type: 'inference', model_requirements: { name: 'builtin/echo' } }],
    });
    expect(result.ok ? [] : result.errors).toEqual([
      expect.objectContaining({ path: 'inputs', code: 'invalid_schema' }),
    ]);
  });
});
