import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../../support/cli.js';

let dir: string;
let env: Record<string, string>;

const write = (name: string, text: string) => {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'verity-cli-'));
  env = { VERITY_DATA_DIR: join(dir, 'data'), VERITY_DATABASE_URL: '' };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verity CLI', () => {
  it('prints help and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['run', 'validate', 'schema', 'list', 'status', 'history', 'cancel', 'retry', 'resume']) {
      expect(result.stdout).toContain(command);
    }
  });

  it('validate: a one-line summary and exit 0 for a valid workflow', async () => {
    const result = await runCli(['validate', 'examples/fan-out/workflow.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(
      /^valid: review-fan-out v1: 5 steps, depth 3, widest level 3 \(digest [0-9a-f]{12}…\)$/,
    );
  });

  it('validate: every error with its path and line, and exit 2', async () => {
    const file = write(
      'bad.yaml',
      [
        'id: bad-one',
        'steps:',
        '  - id: a',
        '    step_type: data_processing',
        '    expression: "x"',
        '    depends_on: [c]',
        '  - id: b',
        '    step_type: data_processing',
        '    expression: "x +"',
        '    depends_on: [a]',
        '  - id: c',
        '    step_type: data_processing',
        '    expression: "1"',
        '    depends_on: [b]',
        '    timeout: 5',
        '  - id: d',
        '    step_type: inference',
        '    input_mappings: { x: "steps.nope.output" }',
      ].join('\n'),
    );
    const result = await runCli(['validate', file]);
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe(`invalid: ${file} (5 problems)`);
    expect(result.stderr).toContain(`${file}:6:18 steps[0].depends_on[0]: dependency cycle a -> b -> c -> a`);
    expect(result.stderr).toContain(`${file}:9:17 steps[1].expression: JSONata does not parse`);
    expect(result.stderr).toMatch(/steps\[2\]\.timeout: unknown field "timeout" \(did you mean "timeout_seconds"\?\)/);
    expect(result.stderr).toMatch(/steps\[3\]: an inference step needs model_requirements/);
    expect(result.stderr).toMatch(/steps\[3\]\.input_mappings\.x: reads steps\.nope, but there is no step "nope"/);
  });

  it('schema: prints the definition format as JSON Schema', async () => {
    const result = await runCli(['schema']);
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as { $schema: string; properties: Record<string, unknown> };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['id', 'steps', 'outputs', 'max_cost_budget', 'verification_level']),
    );
  });

  it('run --json: one JSON object with the execution, its result and its steps; status --json prints the same', async () => {
    const run = await runCli(
      ['run', 'examples/linear/workflow.yaml', '--input', '@examples/linear/input.json', '--json'],
      env,
    );
    expect(run.code).toBe(0);
    const outcome = JSON.parse(run.stdout) as {
      executionId: string;
      createdAt: string;
      finishedAt: string;
      status: string;
      result: { words: number };
      steps: { id: string; status: string; attempts: number; startedAt: string; finishedAt: string }[];
    };
    expect(outcome.status).toBe('completed');
    expect(outcome.result.words).toBe(27);
    expect(outcome.steps.map((s) => s.id)).toEqual(['normalize', 'tokenize', 'count', 'score', 'report']);
    for (const step of outcome.steps) {
      expect(step).toMatchObject({ status: 'completed', attempts: 1 });
      expect(Date.parse(step.finishedAt)).toBeGreaterThanOrEqual(Date.parse(step.startedAt));
    }
    const status = await runCli(['status', outcome.executionId, '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual(outcome);
    // A unique prefix of the id works like the id.
    const byPrefix = await runCli(['status', outcome.executionId.slice(0, 18), '--json'], env);
    expect(JSON.parse(byPrefix.stdout)).toEqual(outcome);

    const list = await runCli(['list', '--json'], env);
    const rows = JSON.parse(list.stdout) as {
      executionId: string;
      workflowId: string;
      status: string;
      createdAt: string;
      startedAt: string;
      updatedAt: string;
      durationMs: number;
      spent: number;
      budget: number;
      steps: Record<string, number>;
    }[];
    // A row also has its step counts, spend and times (as GET /v1/executions gives them).
    const { startedAt, updatedAt, durationMs, spent, budget, steps, ...row } = rows[0]!;
    expect(steps).toEqual({ total: outcome.steps.length, completed: outcome.steps.length, failed: 0, running: 0 });
    expect([spent, budget].every(Number.isSafeInteger)).toBe(true);
    expect(Date.parse(updatedAt)).toBeGreaterThanOrEqual(Date.parse(startedAt));
    expect(durationMs).toBe(Date.parse(outcome.finishedAt) - Date.parse(startedAt));
    expect(row).toEqual({
      executionId: outcome.executionId,
      workflowId: 'text-report',
      workflowVersion: 1,
      status: 'completed',
      createdAt: outcome.createdAt,
      finishedAt: outcome.finishedAt,
    });

    const history = await runCli(['history', outcome.executionId], env);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/execution\.started/);
    expect(history.stdout).toMatch(/step\.completed\s+report/);
    expect(history.stdout.trim().split('\n').slice(-2).join('\n')).toMatch(/execution\.completed.*\n.*receipt\.issued/);
  });

  it('run: plain progress lines when not on a terminal, and the result on stdout', async () => {
    const run = await runCli(['run', 'examples/flaky/workflow.yaml', '--input', '@examples/flaky/input.json'], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/fetch: running \(attempt 1\)/);
    expect(run.stderr).toMatch(/fetch: attempt 1 failed \(flaky: .*\); retrying in 100ms/);
    expect(run.stderr).toMatch(/fetch: running \(attempt 3\)/);
    expect(run.stderr).toMatch(/execution completed/);
    expect(run.stdout).toMatch(/^completed: flaky-fetch v1 execution /);
    expect(run.stdout).toContain('"fetched": "https://example.com/data"');
  });

  it('run: exit 1 for a failed execution, exit 2 for an invalid workflow or bad input; one line, no stack trace', async () => {
    const failing = write(
      'fails.yaml',
      'id: fails\nsteps:\n  - id: boom\n    step_type: inference\n    model_requirements: { name: builtin/fail }\n    input_mappings: { code: "\'kaput\'" }\n    retry_policy: { max_attempts: 1 }\n',
    );
    const failed = await runCli(['run', failing, '--json'], env);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'failed', error: { code: 'kaput', stepId: 'boom' } });

    const invalid = await runCli(
      [
        'run',
        write(
          'cyclic.yaml',
          'id: c\nsteps:\n  - { id: a, step_type: data_processing, expression: "1", depends_on: [a] }\n',
        ),
      ],
      env,
    );
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/steps\[0\]\.depends_on\[0\]: a step cannot depend on itself/);

    const badInput = await runCli(['run', 'examples/linear/workflow.yaml', '--input', '{not json'], env);
    expect(badInput.code).toBe(2);
    expect(badInput.stderr.trim().split('\n')).toHaveLength(1);
    expect(badInput.stderr).toMatch(/^error: --input: not valid JSON/);

    const wrongInput = await runCli(['run', 'examples/linear/workflow.yaml', '--input', '{"text": 3}'], env);
    expect(wrongInput.code).toBe(2);
    expect(wrongInput.stderr).toMatch(/inputs\.text: must be string/);
    expect(wrongInput.stderr).not.toMatch(/\n\s+at /);

    const missing = await runCli(['status', 'ffffffff-0000'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('error: no execution ffffffff-0000; see `verity list`\n');

    const unknownModel = await runCli(
      [
        'run',
        write(
          'model.yaml',
          'id: m\nsteps:\n  - { id: a, step_type: inference, model_requirements: { name: acme/gpt } }\n',
        ),
      ],
      env,
    );
    expect(unknownModel.code).toBe(2);
    expect(unknownModel.stderr).toMatch(/no executor on this machine serves: a \(model acme\/gpt\)/);
  });

  // The sleep outlasts the CLI starts that find and cancel it (each takes seconds on a loaded machine).
  it(
    'cancel from another process stops a running execution; retry resumes it to the end',
    { timeout: 150_000 },
    async () => {
      const slow = write(
        'slow.yaml',
        'id: slow\nsteps:\n  - { id: first, step_type: inference, model_requirements: { name: builtin/echo } }\n  - { id: wait, step_type: inference, model_requirements: { name: builtin/sleep }, input_mappings: { ms: "8000" }, depends_on: [first] }\n',
      );
      const running = spawnCli(['run', slow, '--json'], env);
      let executionId = '';
      for (let i = 0; i < 100 && !executionId; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const list = JSON.parse((await runCli(['list', '--json', '--status', 'running'], env)).stdout) as {
          executionId: string;
        }[];
        executionId = list[0]?.executionId ?? '';
      }
      expect(executionId).not.toBe('');
      const cancel = await runCli(['cancel', executionId], env);
      expect(cancel.code).toBe(0);
      expect(cancel.stdout).toBe(`cancelled ${executionId}\n`);
      const result = await running.output;
      expect(result.code).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({ executionId, status: 'cancelled' });

      const retry = await runCli(['retry', executionId, '--json'], env);
      expect(retry.code).toBe(0);
      const outcome = JSON.parse(retry.stdout) as { status: string; steps: { id: string; attempts: number }[] };
      expect(outcome.status).toBe('completed');
      // The first step's result was kept; only the cancelled step ran again.
      expect(outcome.steps.map((s) => [s.id, s.attempts])).toEqual([
        ['first', 1],
        ['wait', 2],
      ]);
    },
  );
});
