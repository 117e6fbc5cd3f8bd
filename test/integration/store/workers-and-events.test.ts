import { describe, expect, it } from 'vitest';
import type { EventRecord, NewEvent } from '../../../src/store/records.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { T0, execution, seedOne, useStore, worker, workflow } from './fixtures.js';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store workers (${kind})`, () => {
    const h = useStore(kind, 'workers');

    it('upsertWorker inserts, then updates every field', async () => {
      const first = worker({ id: 'w1' });
      await h.store.transaction((tx) => tx.upsertWorker(first));
      expect(await h.store.read.getWorker('w1')).toStrictEqual(first);

      const second = worker({
        id: 'w1',
        name: 'remote gpu box ⚡',
        kind: 'remote',
        host: 'gpu-7.example.com',
        pid: 99_999,
        capabilities: { stepTypes: ['inference', 'training'], models: ['llama-3-8b', 'mistral-7b'] },
        concurrency: 16,
        status: 'stopped',
        startedAt: T0 + 100,
        lastSeenAt: T0 + 200,
      });
      await h.store.transaction((tx) => tx.upsertWorker(second));
      expect(await h.store.read.getWorker('w1')).toStrictEqual(second);
      expect(await h.store.read.listWorkers()).toStrictEqual([second]);
      expect(await h.store.read.getWorker('w2')).toBeUndefined();
    });

    it('updateWorker changes the given fields only', async () => {
      const w = worker({ id: 'w1' });
      await h.store.transaction((tx) => tx.upsertWorker(w));
      await h.store.transaction((tx) => tx.updateWorker('w1', { status: 'dead', lastSeenAt: T0 + 5_000 }));
      expect(await h.store.read.getWorker('w1')).toStrictEqual({ ...w, status: 'dead', lastSeenAt: T0 + 5_000 });
    });

    it('listWorkers lists every worker by start time', async () => {
      const late = worker({ id: 'a-late', startedAt: T0 + 30 });
      const early = worker({ id: 'b-early', startedAt: T0 + 10 });
      const middle = worker({ id: 'c-middle', startedAt: T0 + 20 });
      await h.store.transaction(async (tx) => {
        for (const w of [late, early, middle]) await tx.upsertWorker(w);
      });
      expect(await h.store.read.listWorkers()).toStrictEqual([early, middle, late]);
    });
  });

  describe.skipIf(!(await backendAvailable(kind)))(`store events and commit hooks (${kind})`, () => {
    const h = useStore(kind, 'events');

    it('appended events are written at commit, in append order, with increasing seq', async () => {
      const exec = await seedOne(h.store);
      const other = await seedOne(h.store);
      const appended: NewEvent[] = [
        {
          executionId: exec.id,
          at: T0 + 3,
          type: 'execution.started',
          actor: 'client:c1',
          data: { inputs: { text: 'ü' } },
        },
        { executionId: other.id, at: T0 + 1, type: 'execution.started', actor: 'engine' },
        { executionId: exec.id, at: T0 + 1, type: 'job.queued', stepId: 'a', jobId: 'j1', attempt: 1, actor: 'engine' },
        {
          executionId: exec.id,
          at: T0 + 2,
          type: 'job.assigned',
          stepId: 'a',
          jobId: 'j1',
          attempt: 1,
          actor: 'worker:w1',
          data: { n: 2 ** 53 - 1 },
        },
      ];
      await h.store.transaction(async (tx) => {
        tx.appendEvents(appended.slice(0, 2));
        tx.appendEvents([]);
        tx.appendEvents(appended.slice(2));
        // Held until commit: not even this transaction sees them yet.
        expect(await tx.listEvents(exec.id, 0, 100)).toEqual([]);
      });

      const events = await h.store.read.listEvents(exec.id, 0, 100);
      expect(events.map(({ seq: _seq, ...rest }) => rest)).toStrictEqual([appended[0], appended[2], appended[3]]);
      const seqs = events.map((e) => e.seq);
      expect(seqs.every((s, i) => Number.isInteger(s) && s > 0 && (i === 0 || s > seqs[i - 1]!))).toBe(true);
      const otherEvents = await h.store.read.listEvents(other.id, 0, 100);
      expect(otherEvents).toHaveLength(1);
      expect(otherEvents[0]!.seq).toBeGreaterThan(events[0]!.seq);
      expect(otherEvents[0]!.seq).toBeLessThan(events[1]!.seq);
      // Optional fields left out come back absent.
      for (const field of ['stepId', 'jobId', 'attempt', 'data'])
        expect(Object.hasOwn(otherEvents[0]!, field), field).toBe(false);
    });

    it('listEvents pages after a seq with a limit', async () => {
      const exec = await seedOne(h.store);
      const make = (i: number): NewEvent => ({ executionId: exec.id, at: T0 + i, type: `e${i}`, actor: 'engine' });
      await h.store.transaction((tx) => {
        tx.appendEvents([0, 1, 2].map(make));
        return Promise.resolve();
      });
      await h.store.transaction((tx) => {
        tx.appendEvents([3, 4].map(make));
        return Promise.resolve();
      });

      const all = await h.store.read.listEvents(exec.id, 0, 100);
      expect(all.map((e) => e.type)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
      const page = await h.store.read.listEvents(exec.id, all[1]!.seq, 2);
      expect(page).toStrictEqual([all[2], all[3]] as EventRecord[]);
      expect(await h.store.read.listEvents(exec.id, all[4]!.seq, 10)).toEqual([]);
      expect((await h.store.read.listEvents(exec.id, 0, 1)).map((e) => e.type)).toEqual(['e0']);
    });

    it('a transaction that throws writes no rows and no events, and runs no afterCommit hook', async () => {
      const wf = workflow();
      const exec = execution(wf);
      const failure = new Error('changed my mind');
      let hooks = 0;
      await expect(
        h.store.transaction(async (tx) => {
          tx.afterCommit(() => hooks++);
          await tx.putWorkflow(wf);
          await tx.insertExecution(exec);
          tx.appendEvents([{ executionId: exec.id, at: T0, type: 'execution.started', actor: 'engine' }]);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(hooks).toBe(0);
      expect(await h.store.read.getExecution(exec.id)).toBeUndefined();
      expect(await h.store.read.getWorkflow(wf.digest)).toBeUndefined();
      expect(await h.store.read.listEvents(exec.id, 0, 100)).toEqual([]);

      // A failed SQL statement rolls back too (the duplicate primary key), and the store stays usable.
      const kept = await seedOne(h.store);
      await expect(
        h.store.transaction(async (tx) => {
          tx.afterCommit(() => hooks++);
          tx.appendEvents([{ executionId: kept.id, at: T0, type: 'x', actor: 'engine' }]);
          await tx.updateExecution(kept.id, { spent: 99 });
          await tx.insertExecution(kept);
        }),
      ).rejects.toThrow();
      expect(hooks).toBe(0);
      expect(await h.store.read.getExecution(kept.id)).toStrictEqual(kept);
      expect(await h.store.read.listEvents(kept.id, 0, 100)).toEqual([]);
    });

    it('afterCommit hooks run once, in order, after the commit is visible', async () => {
      const wf = workflow();
      const exec = execution(wf);
      const calls: string[] = [];
      let seen: Promise<unknown> | undefined;
      const result = await h.store.transaction(async (tx) => {
        tx.afterCommit(() => {
          calls.push('first');
          seen = h.store.read.getExecution(exec.id);
        });
        tx.afterCommit(() => calls.push('second'));
        await tx.putWorkflow(wf);
        await tx.insertExecution(exec);
        expect(calls).toEqual([]);
        return 'done';
      });
      expect(result).toBe('done');
      expect(calls).toEqual(['first', 'second']);
      expect(await seen).toStrictEqual(exec);
    });
  });
}
