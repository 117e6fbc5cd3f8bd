import { describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../../src/store/records.js';
import type { ExecutionSummary } from '../../../src/store/store.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { T0, execution, insertExecutionsBulk, job, seed, step, useStore, worker, workflow } from './fixtures.js';

/**
 * The reads the dashboard's API needs: execution rows with step counts in one query, keyset pages that
 * neither skip nor repeat a row when many share a creation time, the rows changed since a cursor, the jobs
 * workers hold, and the last hour's activity in minute buckets. Both backends.
 */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store dashboard reads (${kind})`, () => {
    const h = useStore(kind, 'dashboard');

    it('counts each execution’s steps by status, newest first, with the filters', async () => {
      const [a, b, c] = await seed(
        h.store,
        { createdAt: T0 + 1, spent: 7 },
        { createdAt: T0 + 2, clientId: 'client-b', status: 'completed', finishedAt: T0 + 50 },
        { createdAt: T0 + 3 },
      );
      await h.store.transaction(async (tx) => {
        await tx.insertSteps([
          step(a!.id, 's1', { status: 'completed', position: 0 }),
          step(a!.id, 's2', { status: 'running', position: 1 }),
          step(a!.id, 's3', { status: 'failed', position: 2 }),
          step(a!.id, 's4', { status: 'pending', position: 3 }),
          step(b!.id, 's1', { status: 'completed', position: 0 }),
        ]);
      });
      const rows = await h.store.read.listExecutionSummaries({ limit: 10 });
      expect(rows.map((r) => r.id)).toEqual([c!.id, b!.id, a!.id]);
      const byId = new Map(rows.map((r) => [r.id, r]));
      expect(byId.get(a!.id)).toEqual({
        id: a!.id,
        workflowId: a!.workflowId,
        workflowVersion: a!.workflowVersion,
        clientId: 'client-a',
        status: 'running',
        spent: 7,
        budget: 0,
        createdAt: T0 + 1,
        startedAt: a!.startedAt,
        updatedAt: a!.updatedAt,
        steps: { total: 4, completed: 1, failed: 1, running: 1 },
      } satisfies ExecutionSummary);
      expect(byId.get(b!.id)!.steps).toEqual({ total: 1, completed: 1, failed: 0, running: 0 });
      expect(byId.get(b!.id)!.finishedAt).toBe(T0 + 50);
      expect(byId.get(c!.id)!.steps).toEqual({ total: 0, completed: 0, failed: 0, running: 0 });

      const mine = await h.store.read.listExecutionSummaries({ clientId: 'client-a', limit: 10 });
      expect(mine.map((r) => r.id)).toEqual([c!.id, a!.id]);
      const done = await h.store.read.listExecutionSummaries({ status: ['completed', 'failed'], limit: 10 });
      expect(done.map((r) => r.id)).toEqual([b!.id]);
      const other = await h.store.read.listExecutionSummaries({ workflowId: 'nope', limit: 10 });
      expect(other).toEqual([]);
    });

    it('pages over thousands of executions in (created_at, id) order without gaps or repeats', async () => {
      const wf = workflow();
      await h.store.transaction((tx) => tx.putWorkflow(wf));
      // Many share a creation time, so the id must break the ties for a page boundary to fall between them.
      const records: ExecutionRecord[] = Array.from({ length: 3000 }, (_, i) =>
        execution(wf, { createdAt: T0 + Math.floor(i / 7), clientId: i % 3 === 0 ? 'client-b' : 'client-a' }),
      );
      await insertExecutionsBulk(h.backend, records);
      const expected = records
        .filter((r) => r.clientId === 'client-a')
        .sort((x, y) => y.createdAt - x.createdAt || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0))
        .map((r) => r.id);
      const seen: string[] = [];
      let after: { createdAt: number; id: string } | undefined;
      for (;;) {
        const page = await h.store.read.listExecutionSummaries({
          clientId: 'client-a',
          limit: 97,
          ...(after && { after }),
        });
        seen.push(...page.map((r) => r.id));
        if (page.length < 97) break;
        after = { createdAt: page.at(-1)!.createdAt, id: page.at(-1)!.id };
      }
      expect(seen).toEqual(expected);
    });

    it('reads the rows changed after a cursor, oldest change first', async () => {
      const [a, b, c] = await seed(
        h.store,
        { updatedAt: T0 + 10 },
        { updatedAt: T0 + 20, clientId: 'client-b' },
        { updatedAt: T0 + 20 },
      );
      const all = await h.store.read.listExecutionChanges({ limit: 10 });
      const tied = [b!.id, c!.id].sort();
      expect(all.map((r) => r.id)).toEqual([a!.id, ...tied]);
      const later = await h.store.read.listExecutionChanges({ after: { updatedAt: T0 + 20, id: tied[0]! }, limit: 10 });
      expect(later.map((r) => r.id)).toEqual([tied[1]]);
      const mine = await h.store.read.listExecutionChanges({
        clientId: 'client-a',
        after: { updatedAt: T0 + 10, id: a!.id },
        limit: 10,
      });
      expect(mine.map((r) => r.id)).toEqual([c!.id]);
      await h.store.transaction((tx) => tx.updateExecution(a!.id, { status: 'completed', updatedAt: T0 + 30 }));
      const changed = await h.store.read.listExecutionChanges({
        after: { updatedAt: T0 + 20, id: tied[1]! },
        limit: 10,
      });
      expect(changed.map((r) => [r.id, r.status])).toEqual([[a!.id, 'completed']]);
    });

    it('lists the jobs workers hold under a lease', async () => {
      const [exec] = await seed(h.store, {});
      const held = job(exec!, {
        status: 'running',
        workerId: 'worker-1',
        leaseExpiresAt: T0 + 5000,
        startedAt: T0 + 1,
        assignedAt: T0,
      });
      const assigned = job(exec!, {
        status: 'assigned',
        workerId: 'worker-2',
        assignedAt: T0 + 2,
        leaseExpiresAt: T0 + 6000,
      });
      await h.store.transaction(async (tx) => {
        await tx.upsertWorker(worker());
        await tx.upsertWorker(worker({ id: 'worker-2' }));
        await tx.insertJob(held);
        await tx.insertJob(assigned);
        await tx.insertJob(job(exec!, { status: 'queued' }));
        await tx.insertJob(job(exec!, { status: 'completed', workerId: 'worker-1' }));
      });
      expect(await h.store.read.listLeasedJobs()).toEqual([
        {
          id: held.id,
          executionId: exec!.id,
          stepId: held.stepId,
          attempt: 1,
          status: 'running',
          workerId: 'worker-1',
          leaseExpiresAt: T0 + 5000,
          startedAt: T0 + 1,
        },
        {
          id: assigned.id,
          executionId: exec!.id,
          stepId: assigned.stepId,
          attempt: 1,
          status: 'assigned',
          workerId: 'worker-2',
          leaseExpiresAt: T0 + 6000,
        },
      ]);
    });

    it("reads one step's jobs by attempt and replica, and a ready step's input", async () => {
      const [exec] = await seed(h.store, {});
      const second = job(exec!, { stepId: 's', attempt: 2, replica: 1 });
      const first = job(exec!, { stepId: 's', attempt: 1 });
      const secondReplica0 = job(exec!, { stepId: 's', attempt: 2, replica: 0 });
      await h.store.transaction(async (tx) => {
        await tx.insertSteps([step(exec!.id, 's'), step(exec!.id, 'r', { status: 'ready', position: 1 })]);
        for (const j of [second, job(exec!, { stepId: 'other' }), first, secondReplica0]) await tx.insertJob(j);
        await tx.setReadyInput(exec!.id, 'r', { text: 'waiting ✓', n: [1, 2] });
      });
      const jobs = await h.store.read.listJobsOfStep(exec!.id, 's');
      expect(jobs.map((j) => j.id)).toEqual([first.id, secondReplica0.id, second.id]);
      expect(jobs[0]).toStrictEqual(first);
      expect(await h.store.read.getReadyInput(exec!.id, 'r')).toEqual({ input: { text: 'waiting ✓', n: [1, 2] } });
      expect(await h.store.read.getReadyInput(exec!.id, 's')).toBeUndefined();
    });

    it('counts the recent activity in minute buckets', async () => {
      const since = T0 + 3_600_000;
      const [a, b] = await seed(
        h.store,
        { createdAt: since - 1 },
        { createdAt: since + 5_000, status: 'completed', finishedAt: since + 61_000 },
        { createdAt: since + 59_999, status: 'failed', finishedAt: since + 62_000 },
      );
      await h.store.transaction(async (tx) => {
        await tx.insertSteps([
          step(a!.id, 'old', { status: 'completed', startedAt: since - 10, finishedAt: since - 1 }),
          step(b!.id, 's1', { status: 'completed', position: 0, startedAt: since + 6_000, finishedAt: since + 7_000 }),
          step(b!.id, 's2', {
            status: 'completed',
            position: 1,
            startedAt: since + 60_000,
            finishedAt: since + 60_500,
          }),
          step(b!.id, 's3', { status: 'failed', position: 2, startedAt: since + 60_000, finishedAt: since + 60_100 }),
        ]);
        await tx.insertJob(job(a!, { status: 'queued' }));
      });
      const activity = await h.store.read.recentActivity(since, 100);
      expect([...activity.executionsStarted]).toEqual([[0, 2]]);
      expect([...activity.executionsFinished]).toEqual([[1, { completed: 1, failed: 1 }]]);
      expect(activity.stepsCompleted).toEqual([
        { finishedAt: since + 7_000, durationMs: 1_000 },
        { finishedAt: since + 60_500, durationMs: 500 },
      ]);
      expect(activity.stepsTruncated).toBe(false);
      expect(activity.queueDepth).toBe(1);
      const capped = await h.store.read.recentActivity(since, 1);
      expect(capped.stepsCompleted).toHaveLength(1);
      expect(capped.stepsTruncated).toBe(true);
    });
  });
}
