import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, sleepStep, useTestNode } from '../../support/node.js';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`limits (${kind})`, () => {
    const t = useTestNode(kind, 'limits');

    it('times a step out at timeout_seconds, retries it, and fails when every attempt times out', async () => {
      const view = await t.run({
        id: 'slow-step',
        steps: [
          sleepStep('slow', 5000, { timeout_seconds: 1, retry_policy: { max_attempts: 2, initial_backoff_ms: 10 } }),
        ],
      });
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({ code: 'step_timeout', stepId: 'slow' });
      expect(view.steps[0]).toMatchObject({ status: 'failed', attempts: 2 });
      const jobs = await t.node.store.read.listJobs(view.executionId);
      expect(jobs).toHaveLength(2);
      for (const job of jobs) {
        // The worker reports the timeout at the deadline (failed), unless the sweeper got there first (expired).
        expect(['failed', 'expired']).toContain(job.status);
        expect(job.error?.code).toBe('step_timeout');
        // Each attempt ended at (about) its deadline, not after the 5 s sleep.
        expect(job.finishedAt! - job.startedAt!).toBeLessThan(3000);
      }
    });

    it('ends an execution that runs past max_execution_time as timed_out and cancels its running jobs', async () => {
      const started = Date.now();
      const view = await t.run({
        id: 'too-long',
        max_execution_time: 1,
        steps: [echo('a'), sleepStep('long', 10_000, { depends_on: ['a'] })],
      });
      expect(view.status).toBe('timed_out');
      expect(view.error).toMatchObject({ code: 'execution_timeout' });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(view.steps.map((s) => [s.id, s.status])).toEqual([
        ['a', 'completed'],
        ['long', 'cancelled'],
      ]);
      const jobs = await t.node.store.read.listJobs(view.executionId, ['queued', 'assigned', 'running']);
      expect(jobs).toEqual([]);
      // The worker let go of the job promptly: no slot is still busy with it.
      expect(t.node.worker!.activeJobs).toBe(0);
    });

    it('reserves each step estimate before dispatch and ends budget_exceeded without spending past the budget', async () => {
      const view = await t.run({
        id: 'budgeted',
        max_cost_budget: 1000,
        steps: [
          echo('a', { estimated_cost: 400 }),
          echo('b', { estimated_cost: 400, depends_on: ['a'] }),
          echo('c', { estimated_cost: 400, depends_on: ['b'] }),
        ],
      });
      expect(view.status).toBe('budget_exceeded');
      expect(view.spent).toBe(800);
      expect(view.error).toMatchObject({ code: 'budget_exceeded', stepId: 'c' });
      expect(view.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
        ['a', 'completed', 1],
        ['b', 'completed', 1],
        ['c', 'pending', 0],
      ]);
      const execution = (await t.node.store.read.getExecution(view.executionId))!;
      expect(execution.reserved).toBe(0);
    });

    it('does not dispatch parallel steps whose estimates together exceed the budget', async () => {
      const view = await t.run({
        id: 'parallel-budget',
        max_cost_budget: 1000,
        steps: Array.from({ length: 4 }, (_, i) => sleepStep(`s${i}`, 100, { estimated_cost: 300 })),
      });
      expect(view.status).toBe('budget_exceeded');
      expect(view.spent).toBe(900);
      expect(view.steps.filter((s) => s.status === 'completed')).toHaveLength(3);
    });

    it('charges the metered cost an executor reports, never past the budget: a report above what is left fails its step', async () => {
      const view = await t.run({
        id: 'metered',
        max_cost_budget: 1000,
        steps: [echo('a', { estimated_cost: 100, input_mappings: { cost: '1500' } }), echo('b', { depends_on: ['a'] })],
      });
      expect(view.status).toBe('budget_exceeded');
      // Charged up to the limit, not what the worker said.
      expect(view.spent).toBe(1000);
      expect(view.error).toMatchObject({ code: 'budget_exceeded', stepId: 'a' });
      expect(view.steps.map((s) => [s.status, s.cost])).toEqual([
        ['failed', 1000],
        ['pending', 0],
      ]);
      expect(await t.node.store.read.getStepResults(view.executionId)).toEqual([]);
    });

    it('charges within the budget across steps: the step whose report crosses it is charged what was left', async () => {
      const view = await t.run({
        id: 'metered-sum',
        max_cost_budget: 1000,
        steps: [
          echo('a', { estimated_cost: 100, input_mappings: { cost: '700' } }),
          echo('b', { estimated_cost: 100, depends_on: ['a'], input_mappings: { cost: '700' } }),
        ],
      });
      expect(view.status).toBe('budget_exceeded');
      expect(view.spent).toBe(1000);
      expect(view.steps.map((s) => [s.id, s.status, s.cost])).toEqual([
        ['a', 'completed', 700],
        ['b', 'failed', 300],
      ]);
    });

    it("a retry with a larger budget, up to the workflow's own, continues an execution that ran out", async () => {
      const execution = await t.start(
        {
          id: 'more-budget',
          max_cost_budget: 1000,
          steps: [echo('a', { estimated_cost: 400 }), echo('b', { estimated_cost: 400, depends_on: ['a'] })],
        },
        {},
        { budget: 500 },
      );
      expect((await t.node.waitFor(execution.id)).status).toBe('budget_exceeded');
      await t.node.engine.retry(execution.id, 'client:test', { budget: 1000 });
      expect((await t.node.waitFor(execution.id)).status).toBe('completed');
      expect((await t.view(execution.id)).spent).toBe(800);
    });

    it("lets a caller lower the workflow's budget, never raise or remove it, on start and on retry", async () => {
      const definition = {
        id: 'capped',
        max_cost_budget: 1000,
        steps: [echo('a', { estimated_cost: 400 }), echo('b', { estimated_cost: 400, depends_on: ['a'] })],
      };
      await expect(t.start(definition, {}, { budget: 0 })).rejects.toMatchObject({
        code: 'invalid_inputs',
        message: expect.stringMatching(/would remove .*max_cost_budget of 1000/) as unknown,
      });
      await expect(t.start(definition, {}, { budget: 1001 })).rejects.toMatchObject({
        code: 'invalid_inputs',
        message: expect.stringMatching(/would raise/) as unknown,
      });
      const lowered = await t.start(definition, {}, { budget: 500 });
      expect((await t.node.waitFor(lowered.id)).status).toBe('budget_exceeded');
      await expect(t.node.engine.retry(lowered.id, 'client:test', { budget: 0 })).rejects.toMatchObject({
        code: 'invalid_inputs',
      });
      await expect(t.node.engine.retry(lowered.id, 'client:test', { budget: 5000 })).rejects.toMatchObject({
        code: 'invalid_inputs',
      });
      // Without a cap of the workflow's own, 0 (no limit) is the caller's to choose.
      const open = await t.start({ id: 'uncapped', steps: [echo('a', { estimated_cost: 400 })] }, {}, { budget: 0 });
      expect((await t.node.waitFor(open.id)).status).toBe('completed');
    });

    it('cancels a running execution: the running step is stopped at once and nothing else starts', async () => {
      const execution = await t.start({
        id: 'cancel-me',
        steps: [sleepStep('long', 30_000), echo('after', { depends_on: ['long'] })],
      });
      // Wait until the long step is running on the worker.
      for (let i = 0; i < 100 && t.node.worker!.activeJobs === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(t.node.worker!.activeJobs).toBe(1);
      await expect(t.node.engine.retry(execution.id, 'client:test')).rejects.toMatchObject({ code: 'invalid_state' });
      const cancelled = await t.node.engine.cancel(execution.id, 'client:test');
      expect(cancelled.status).toBe('cancelled');
      for (let i = 0; i < 100 && t.node.worker!.activeJobs > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(t.node.worker!.activeJobs).toBe(0);
      const view = await t.view(execution.id);
      expect(view.steps.map((s) => s.status)).toEqual(['cancelled', 'pending']);
      expect(view.error).toMatchObject({ code: 'cancelled' });
      await expect(t.node.engine.cancel(execution.id, 'client:test')).rejects.toMatchObject({ code: 'invalid_state' });
    });
  });
}
