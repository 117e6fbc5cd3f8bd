import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowError, formatIssue } from '../../../src/workflow/errors.js';
import {
  invalidWorkflow,
  loadWorkflowFile,
  readWorkflowFile,
  validateWorkflowText,
} from '../../../src/workflow/load.js';
import type { ValidationIssue } from '../../../src/workflow/types.js';
import { EXAMPLE_YAML } from './fixtures.js';

function textErrors(text: string): ValidationIssue[] {
  const result = validateWorkflowText(text);
  if (result.ok) throw new Error('expected an invalid definition, but it validated');
  return result.errors;
}

describe('syntax errors', () => {
  it('reports a YAML syntax error with code syntax and its line', () => {
    const issues = textErrors('id: wf\nsteps:\n  - id: a\n    step_type: [oops\n');
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) {
      expect(issue.code).toBe('syntax');
      expect(issue.path).toBe('');
      expect(issue.message).toMatch(/; fix the YAML\/JSON syntax$/);
    }
    expect(issues[0]!.line).toBe(5);
    expect(issues[0]!.column).toBe(1);
  });

  it('reports a duplicate key as a syntax error at the second key', () => {
    const text =
      'id: wf\nsteps:\n  - id: a\n    step_type: data_processing\n    expression: "$"\n    expression: "$$"\n';
    const issues = textErrors(text);
    expect(issues).toEqual([
      { path: '', code: 'syntax', message: 'Map keys must be unique; fix the YAML/JSON syntax', line: 6, column: 5 },
    ]);
  });

  it('reports a duplicate top-level key in JSON text too', () => {
    const issues = textErrors('{\n  "id": "wf",\n  "id": "other",\n  "steps": []\n}');
    expect(issues.map((i) => [i.code, i.line])).toEqual([['syntax', 3]]);
  });

  it('reports broken JSON with a line', () => {
    const issues = textErrors('{"id": "wf",\n "steps": [}');
    expect(issues.every((i) => i.code === 'syntax' && i.line === 2)).toBe(true);
  });

  it('reports tabs used as indentation', () => {
    const issues = textErrors('id: wf\n\tsteps: 1\n');
    expect(issues.map((i) => [i.code, i.line])).toEqual([['syntax', 2]]);
  });

  it('reports an empty document as not an object', () => {
    expect(textErrors('').map((i) => [i.path, i.code])).toEqual([['', 'invalid_type']]);
  });
});

describe('source positions', () => {
  const yaml = [
    'id: wf', //                         1
    'steps:', //                         2
    '  - id: a', //                      3
    '    step_type: data_processing', // 4
    '    expression: "$"', //            5
    '  - id: b', //                      6
    '    step_type: data_processing', // 7
    '    expression: "$"', //            8
    '    depends_on: [a, nope]', //      9
    '    bogus: 1', //                   10
    '    input_mappings:', //            11
    '      text: "steps.zzz.output"', // 12
    '',
  ].join('\n');

  it('points each issue at the offending node, sorted by line', () => {
    expect(textErrors(yaml)).toEqual([
      { path: 'steps[1].depends_on[1]', code: 'unknown_step', message: 'unknown step "nope"', line: 9, column: 21 },
      {
        path: 'steps[1].bogus',
        code: 'unknown_field',
        message: 'unknown field "bogus"; remove it or fix its name',
        line: 10,
        column: 12,
      },
      {
        path: 'steps[1].input_mappings.text',
        code: 'unknown_step',
        message: 'reads steps.zzz, but there is no step "zzz"',
        line: 12,
        column: 13,
      },
    ]);
  });

  it('gives positions for JSON text', () => {
    const json =
      '{\n  "id": "wf",\n  "steps": [\n    { "id": "a", "step_type": "data_processing", "expression": "$",\n      "timeout_seconds": 0 }\n  ]\n}';
    const issues = textErrors(json);
    expect(issues.map((i) => [i.path, i.code, i.line, i.column])).toEqual([
      ['steps[0].timeout_seconds', 'out_of_range', 5, 26],
    ]);
  });

  it('gives positions for warnings too', () => {
    const text = EXAMPLE_YAML.replace(
      'input_mappings: { text: "steps.normalize.output" }',
      'input_mappings: { text: "$keys(steps)" }',
    );
    const result = validateWorkflowText(text);
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => [w.path, w.code, w.line])).toEqual([
      ['steps[1].input_mappings.text', 'dynamic_reference', 17],
    ]);
  });
});

describe('files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verity-workflow-'));
    await writeFile(join(dir, 'good.yaml'), EXAMPLE_YAML);
    await writeFile(
      join(dir, 'bad.yaml'),
      'id: wf\nsteps:\n  - id: a\n    step_type: data_processing\n    expresion: "$"\n',
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a valid file', async () => {
    const result = await loadWorkflowFile(join(dir, 'good.yaml'));
    expect(result.definition.id).toBe('invoice-agent');
    expect(result.digest).toBe((validateWorkflowText(EXAMPLE_YAML) as { digest: string }).digest);
  });

  it('throws invalid_workflow listing every problem with file, line and column', async () => {
    const file = join(dir, 'bad.yaml');
    const error = await loadWorkflowFile(file).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowError);
    const e = error as WorkflowError;
    expect(e.code).toBe('invalid_workflow');
    expect(e.issues.map((i) => [i.path, i.code])).toEqual([
      ['steps[0]', 'missing_field'],
      ['steps[0].expresion', 'unknown_field'],
    ]);
    expect(e.message).toContain(`invalid workflow ${file} (2 problems):`);
    expect(e.message).toContain(
      `${file}:5:16 steps[0].expresion: unknown field "expresion" (did you mean "expression"?)`,
    );
  });

  it('reports a missing file as unreadable', async () => {
    const file = join(dir, 'missing.yaml');
    await expect(readWorkflowFile(file)).rejects.toMatchObject({ code: 'unreadable', context: { file } });
  });
});

describe('formatting issues', () => {
  it('formats source, line, column and path', () => {
    const issue: ValidationIssue = {
      path: 'steps[1].when',
      code: 'expression_syntax',
      message: 'bad',
      line: 14,
      column: 5,
    };
    expect(formatIssue(issue, 'workflow.yaml')).toBe('workflow.yaml:14:5 steps[1].when: bad');
    expect(formatIssue({ path: '', code: 'syntax', message: 'bad' })).toBe('bad');
  });

  it('counts one problem in the singular', () => {
    const error = invalidWorkflow([{ path: 'id', code: 'missing_field', message: 'required' }]);
    expect(error.message).toBe('invalid workflow (1 problem):\n  id: required');
    expect(error.issues).toHaveLength(1);
  });
});
