import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, sleepStep, useTestNode } from '../../support/node.js';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`limits (${kind})`, () => {
    const t = useTestNode(kind, 'limits');

    it('times a step out at timeout_seconds, retries it, and fails when every attempt times out', async () => {
      const view = await t.run({
        id: 'slow-step',
        steps: [sleepStep('slow', 5000, { timeout_seconds: 1, retry_policy: { max_attempts: 2, initial_backoff_ms: 10 } })],
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
      const view = await t.run({ id: 'too-long', max_execution_time: 1, steps: [echo('a'), sleepStep('long', 10_000, { depends_on: ['a'] })] });
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
        steps: [echo('a', { estimated_cost: 400 }), echo('b', { estimated_cost: 400, depends_on: ['a'] }), echo('c', { estimated_cost: 400, depends_on: ['b'] })],
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

    it('charges the metered cost an executor reports and stops when it passes the budget', async () => {
      const view = await t.run({
        id: 'metered',
        max_cost_budget: 1000,
        steps: [echo('a', { estimated_cost: 100, input_mappings: { cost: '1500' } }), echo('b', { depends_on: ['a'] })],
      });
      expect(view.status).toBe('budget_exceeded');
      expect(view.spent).toBe(1500);
      expect(view.steps.map((s) => s.status)).toEqual(['completed', 'pending']);
    });

    it('a retry with a larger budget continues an execution that ran out', async () => {
      const view = await t.run({
        id: 'more-budget',
        max_cost_budget: 500,
        steps: [echo('a', { estimated_cost: 400 }), echo('b', { estimated_cost: 400, depends_on: ['a'] })],
      });
      expect(view.status).toBe('budget_exceeded');
      await t.node.engine.retry(view.executionId, 'client:test', { budget: 1000 });
      expect((await t.node.waitFor(view.executionId)).status).toBe('completed');
      expect((await t.view(view.executionId)).spent).toBe(800);
    });

    it('cancels a running execution: the running step is stopped at once and nothing else starts', async () => {
      const execution = await t.start({ id: 'cancel-me', steps: [sleepStep('long', 30_000), echo('after', { depends_on: ['long'] })] });
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
