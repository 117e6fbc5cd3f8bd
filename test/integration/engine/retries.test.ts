import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, useTestNode } from '../../support/node.js';

const flaky = (
  id: string,
  failTimes: number,
  policy: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) => ({
  id,
  step_type: 'inference',
  model_requirements: { name: 'builtin/flaky' },
  input_mappings: { fail_times: String(failTimes) },
  retry_policy: policy,
  ...extra,
});

const failing = (id: string, code: string, extra: Record<string, unknown> = {}) => ({
  id,
  step_type: 'inference',
  model_requirements: { name: 'builtin/fail' },
  input_mappings: { code: `'${code}'` },
  ...extra,
});

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`retries (${kind})`, () => {
    const t = useTestNode(kind, 'retry');

    it('retries a failing step with exponential backoff until it succeeds', async () => {
      const view = await t.run({
        id: 'flaky',
        steps: [
          flaky('f', 2, { max_attempts: 5, initial_backoff_ms: 100, backoff_multiplier: 3, max_backoff_ms: 250 }),
        ],
      });
      expect(view.status).toBe('completed');
      expect(view.steps[0]).toMatchObject({ status: 'completed', attempts: 3 });
      const jobs = await t.node.store.read.listJobs(view.executionId);
      expect(jobs.map((j) => [j.attempt, j.status])).toEqual([
        [1, 'failed'],
        [2, 'failed'],
        [3, 'completed'],
      ]);
      // Backoff: 100 ms after the first failure, then 300 capped to 250.
      expect(jobs[1]!.availableAt - jobs[0]!.finishedAt!).toBe(100);
      expect(jobs[2]!.availableAt - jobs[1]!.finishedAt!).toBe(250);
      expect(jobs[1]!.startedAt! - jobs[0]!.finishedAt!).toBeGreaterThanOrEqual(100);
      const scheduled = (await t.node.store.read.listEvents(view.executionId, 0, 100)).filter(
        (e) => e.type === 'step.retry_scheduled',
      );
      expect(scheduled.map((e) => e.data?.delayMs)).toEqual([100, 250]);
    });

    it('fails the execution when attempts run out, naming the step and the error', async () => {
      const view = await t.run({
        id: 'exhausted',
        steps: [
          echo('ok'),
          flaky('f', 5, { max_attempts: 2, initial_backoff_ms: 10 }, { depends_on: ['ok'] }),
          echo('never', { depends_on: ['f'] }),
        ],
      });
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({ code: 'flaky', stepId: 'f' });
      expect(view.error!.message).toMatch(/step "f" failed after 2 attempts/);
      expect(view.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
        ['ok', 'completed', 1],
        ['f', 'failed', 2],
        ['never', 'pending', 0],
      ]);
    });

    it('does not retry error codes the policy lists as non-retryable', async () => {
      const view = await t.run({
        id: 'non-retryable',
        steps: [
          failing('f', 'bad_request', {
            retry_policy: { max_attempts: 5, initial_backoff_ms: 10, non_retryable: ['bad_request'] },
          }),
        ],
      });
      expect(view.status).toBe('failed');
      expect(view.steps[0]).toMatchObject({ status: 'failed', attempts: 1 });
      expect(view.error).toMatchObject({ code: 'bad_request' });
    });

    it('does not retry errors the executor marks as not retryable', async () => {
      const view = await t.run({
        id: 'bad-input',
        steps: [
          {
            id: 's',
            step_type: 'inference',
            model_requirements: { name: 'builtin/sleep' },
            input_mappings: { ms: "'soon'" },
          },
        ],
      });
      expect(view.status).toBe('failed');
      expect(view.steps[0]).toMatchObject({ attempts: 1 });
      expect(view.error).toMatchObject({ code: 'invalid_input' });
    });

    it('retry of a failed execution resumes from the failed step and keeps every result already produced', async () => {
      // A step that fails its first three attempts, with a policy of two: the first round fails, a retry succeeds.
      const definition = {
        id: 'resume',
        steps: [
          echo('a'),
          echo('b', { depends_on: ['a'] }),
          flaky('c', 3, { max_attempts: 2, initial_backoff_ms: 10 }, { depends_on: ['b'] }),
          echo('d', { depends_on: ['c'] }),
        ],
      };
      const failed = await t.run(definition, { v: 1 });
      expect(failed.status).toBe('failed');
      const resultsBefore = await t.node.store.read.getStepResults(failed.executionId);
      expect(resultsBefore.map((r) => r.stepId).sort()).toEqual(['a', 'b']);

      await t.node.engine.retry(failed.executionId, 'client:test');
      const done = await t.node.waitFor(failed.executionId);
      expect(done.status).toBe('completed');
      const view = await t.view(failed.executionId);
      expect(view.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
        ['a', 'completed', 1],
        ['b', 'completed', 1],
        ['c', 'completed', 4],
        ['d', 'completed', 1],
      ]);
      // a and b did not run again: same results, same jobs.
      const resultsAfter = await t.node.store.read.getStepResults(failed.executionId, ['a', 'b']);
      expect(resultsAfter.sort((x, y) => x.stepId.localeCompare(y.stepId))).toEqual(
        resultsBefore.sort((x, y) => x.stepId.localeCompare(y.stepId)),
      );
      const jobs = await t.node.store.read.listJobs(failed.executionId);
      expect(jobs.filter((j) => j.stepId === 'a' || j.stepId === 'b')).toHaveLength(2);
      const types = (await t.node.store.read.listEvents(failed.executionId, 0, 200)).map((e) => e.type);
      expect(types).toContain('execution.failed');
      expect(types).toContain('execution.retried');
      expect(types.slice(-2)).toEqual(['execution.completed', 'receipt.issued']);
      // Each end of the execution got its own receipt revision.
      expect((await t.node.store.read.listReceipts(failed.executionId)).map((r) => [r.revision, r.status])).toEqual([
        [2, 'completed'],
        [1, 'failed'],
      ]);
    });

    it('refuses to retry a running or a completed execution', async () => {
      const done = await t.run({ id: 'done', steps: [echo('a')] });
      await expect(t.node.engine.retry(done.executionId, 'client:test')).rejects.toMatchObject({
        code: 'invalid_state',
      });
    });
  });
}
