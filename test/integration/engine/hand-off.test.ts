import { describe, expect, it } from 'vitest';
import type { NextJob } from '../../../src/coordinator/coordinator.js';
import type { Assignment } from '../../../src/coordinator/protocol.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { ManualWorker } from '../../support/manual-worker.js';
import { echo, useTestNode } from '../../support/node.js';

const ECHO = { stepTypes: [], models: ['builtin/echo'] };

/** What a reporting slot passes: it records whether a job was taken and what was handed to it. */
function slot(): NextJob & { handed: Assignment[]; taken: () => void; takenCount: number } {
  const state = {
    handed: [] as Assignment[],
    takenCount: 0,
    taken: () => void state.takenCount++,
    deliver: (assignment: Assignment) => void state.handed.push(assignment),
  };
  return state;
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`the next job handed to the reporting slot (${kind})`, () => {
    const t = useTestNode(kind, 'hand-off', { workers: 0 });
    const chain = (...steps: ReturnType<typeof echo>[]) => ({ id: 'chain', steps });

    it('a report queues the next step already running for the slot that reported, in its own transaction', async () => {
      const worker = await new ManualWorker(t.node.coordinator, ECHO, 'slot', 'local').register();
      const execution = await t.start(chain(echo('a'), echo('b', { depends_on: ['a'] })), { x: 1 });
      const first = (await t.node.coordinator.claim(worker.id, ECHO, { start: true }))!;
      expect(first.stepId).toBe('a');

      const next = slot();
      expect(await worker.complete(first, { x: 1 }, {}, next)).toEqual({ accepted: true });
      expect(next.handed).toHaveLength(1);
      expect(next.takenCount).toBe(1);
      const handed = next.handed[0]!;
      expect(handed).toMatchObject({ stepId: 'b', attempt: 1, started: true, input: { x: 1 } });

      const job = (await t.node.store.read.getJob(handed.jobId))!;
      expect(job).toMatchObject({ status: 'running', workerId: worker.id, nonce: handed.nonce });
      // Recorded as a claim records it: the worker's principal (the node's, for its own workers), the lease.
      expect(job.principal).toBeDefined();
      expect(job.leaseExpiresAt).toBe(job.assignedAt! + t.node.coordinator.options.leaseMs);
      expect(job.deadlineAt).toBe(job.assignedAt! + job.timeoutMs);
      const stepB = (await t.node.store.read.getStep(execution.id, 'b'))!;
      expect(stepB).toMatchObject({ status: 'running', currentJobId: job.id });
      expect(stepB.startedAt).toBeGreaterThan(0);
      const events = (await t.node.store.read.listEvents(execution.id, 0, 100)).filter((e) => e.jobId === job.id);
      expect(events.map((e) => [e.type, e.actor])).toEqual([
        ['job.queued', `worker:${worker.id}`],
        ['job.assigned', `worker:${worker.id}`],
        ['job.started', `worker:${worker.id}`],
      ]);

      // The handed job is reported like any other; the last report has nothing to hand over.
      const last = slot();
      expect(await worker.complete(handed, { x: 1 }, {}, last)).toEqual({ accepted: true });
      expect(last.handed).toEqual([]);
      const view = await t.view(execution.id);
      expect(view.status).toBe('completed');
      expect(view.result).toEqual({ x: 1 });
    });

    it('a job goes back to the queue when the slot it was handed to stops before running it', async () => {
      const worker = await new ManualWorker(t.node.coordinator, ECHO, 'slot', 'local').register();
      const execution = await t.start(chain(echo('a'), echo('b', { depends_on: ['a'] })), { y: 2 });
      const first = (await t.node.coordinator.claim(worker.id, ECHO, { start: true }))!;
      const next = slot();
      await worker.complete(first, { y: 2 }, {}, next);
      const handed = next.handed[0]!;

      await t.node.coordinator.stopWorker(worker.id);
      // Released like any job of a worker that stops: that attempt ends, and the step gets another (after
      // its retry backoff), for whichever worker claims it.
      const jobsOfB = (await t.node.store.read.listJobs(execution.id)).filter((j) => j.stepId === 'b');
      expect(jobsOfB.map((j) => [j.attempt, j.status, j.error?.code])).toEqual([
        [1, 'expired', 'worker_stopped'],
        [2, 'queued', undefined],
      ]);
      expect(jobsOfB[0]!.id).toBe(handed.jobId);
      expect(jobsOfB[1]!.workerId).toBeUndefined();
    });

    it('nothing is handed to a remote worker, nor a job the slot cannot serve, nor a replica', async () => {
      const remote = await new ManualWorker(t.node.coordinator, ECHO, 'remote').register();
      const local = await new ManualWorker(t.node.coordinator, ECHO, 'slot', 'local').register();

      const e1 = await t.start(chain(echo('a'), echo('b', { depends_on: ['a'] })), {});
      const viaRemote = slot();
      await remote.complete((await t.node.coordinator.claim(remote.id, ECHO, { start: true }))!, {}, {}, viaRemote);
      expect(viaRemote.handed).toEqual([]);
      expect(viaRemote.takenCount).toBe(0);
      const queuedB = (await t.node.store.read.listJobs(e1.id)).find((j) => j.stepId === 'b')!;
      expect(queuedB).toMatchObject({ status: 'queued' });
      expect(queuedB.workerId).toBeUndefined();
      await t.node.engine.cancel(e1.id, 'test');

      const e2 = await t.start(
        {
          id: 'unservable',
          steps: [
            echo('a'),
            { id: 'b', step_type: 'inference', model_requirements: { name: 'elsewhere' }, depends_on: ['a'] },
          ],
        },
        {},
      );
      const unservable = slot();
      await local.complete((await t.node.coordinator.claim(local.id, ECHO, { start: true }))!, {}, {}, unservable);
      expect(unservable.handed).toEqual([]);
      expect((await t.node.store.read.listJobs(e2.id)).find((j) => j.stepId === 'b')).toMatchObject({
        status: 'queued',
      });
      await t.node.engine.cancel(e2.id, 'test');

      const e3 = await t.start(
        chain(echo('a'), echo('b', { depends_on: ['a'], redundancy: { replicas: 2, quorum: 2 } })),
        {},
      );
      const replicas = slot();
      await local.complete((await t.node.coordinator.claim(local.id, ECHO, { start: true }))!, {}, {}, replicas);
      expect(replicas.handed).toEqual([]);
      const jobsOfB = (await t.node.store.read.listJobs(e3.id)).filter((j) => j.stepId === 'b');
      expect(jobsOfB.map((j) => j.status)).toEqual(['queued', 'queued']);
    });
  });
}
