import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../../../src/store/records.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { T0, hex, newId, seedOne, step, stepResult, useStore } from './fixtures.js';

/** 0..n-1 in a scrambled but fixed order. */
function scrambled(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7919) % n);
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store steps and step results (${kind})`, () => {
    const h = useStore(kind, 'steps');

    it('insertSteps writes 1,000 rows in one call; listSteps and listStepStatuses return them by position', async () => {
      const exec = await seedOne(h.store);
      const n = 1_000;
      const statuses = ['pending', 'queued', 'running', 'completed'] as const;
      const records = scrambled(n).map((p) =>
        step(exec.id, `s${p}`, { position: p, status: statuses[p % 4]!, cost: p }),
      );
      expect(new Set(records.map((r) => r.position)).size).toBe(n);
      await h.store.transaction((tx) => tx.insertSteps(records));

      const listed = await h.store.read.listSteps(exec.id);
      expect(listed).toHaveLength(n);
      expect(listed.map((s) => s.position)).toEqual(Array.from({ length: n }, (_, i) => i));
      expect(listed[418]).toStrictEqual(step(exec.id, 's418', { position: 418, status: 'running', cost: 418 }));
      expect(await h.store.read.listStepStatuses(exec.id)).toEqual(
        listed.map((s) => ({ stepId: s.stepId, status: s.status })),
      );
      expect(await h.store.read.listSteps(newId())).toEqual([]);
    });

    it('getStep round-trips every field; optional fields left out come back absent', async () => {
      const exec = await seedOne(h.store);
      const full: StepRecord = step(exec.id, 'full', {
        position: 1,
        status: 'failed',
        attempts: 3,
        roundStart: 2,
        currentJobId: newId(),
        inputDigest: hex('in'),
        error: {
          code: 'timeout',
          message: 'took too long ⏱',
          retryable: true,
          stepId: 'full',
          details: { after: 30_000 },
        },
        skipReason: 'when was false',
        cost: 123_456,
        queuedAt: T0 + 1,
        startedAt: T0 + 2,
        finishedAt: T0 + 3,
      });
      const bare = step(exec.id, 'bare');
      await h.store.transaction((tx) => tx.insertSteps([full, bare]));
      expect(await h.store.read.getStep(exec.id, 'full')).toStrictEqual(full);
      const got = await h.store.read.getStep(exec.id, 'bare');
      expect(got).toStrictEqual(bare);
      for (const field of [
        'currentJobId',
        'inputDigest',
        'error',
        'skipReason',
        'queuedAt',
        'startedAt',
        'finishedAt',
      ]) {
        expect(Object.hasOwn(got!, field), field).toBe(false);
      }
      expect(await h.store.read.getStep(exec.id, 'missing')).toBeUndefined();
    });

    it('updateStep applies a patch, and with `expect` only when the status matches', async () => {
      const exec = await seedOne(h.store);
      const original = step(exec.id, 'a', { status: 'pending', error: { code: 'x', message: 'y' } });
      await h.store.transaction((tx) => tx.insertSteps([original]));

      const queued = { status: 'queued', attempts: 1, currentJobId: 'job-1', queuedAt: T0 + 1 } as const;
      expect(await h.store.transaction((tx) => tx.updateStep(exec.id, 'a', queued))).toBe(true);
      const afterQueued = { ...original, ...queued };
      expect(await h.store.read.getStep(exec.id, 'a')).toStrictEqual(afterQueued);

      // The guard fails: nothing changes.
      expect(
        await h.store.transaction((tx) =>
          tx.updateStep(exec.id, 'a', { status: 'completed', cost: 5 }, ['pending', 'running']),
        ),
      ).toBe(false);
      expect(await h.store.read.getStep(exec.id, 'a')).toStrictEqual(afterQueued);

      // The guard holds; an undefined field is cleared.
      expect(
        await h.store.transaction((tx) =>
          tx.updateStep(exec.id, 'a', { status: 'running', error: undefined }, ['queued']),
        ),
      ).toBe(true);
      const { error: _cleared, ...withoutError } = afterQueued;
      expect(await h.store.read.getStep(exec.id, 'a')).toStrictEqual({ ...withoutError, status: 'running' });

      expect(
        await h.store.transaction((tx) => tx.updateStep(exec.id, 'missing', { status: 'running' }, ['queued'])),
      ).toBe(false);
      // Without `expect` the update is sent without waiting for its count: it answers true.
      expect(await h.store.transaction((tx) => tx.updateStep(exec.id, 'missing', { status: 'running' }))).toBe(true);
      expect(await h.store.transaction((tx) => tx.updateStep(exec.id, 'a', { status: 'completed' }, []))).toBe(false);
      expect((await h.store.read.getStep(exec.id, 'a'))?.status).toBe('running');
    });

    it('markStepRunning only moves a queued step of the very job, and keeps an earlier start', async () => {
      const exec = await seedOne(h.store);
      await h.store.transaction((tx) =>
        tx.insertSteps([
          step(exec.id, 'fresh', { position: 0, status: 'queued', currentJobId: 'job-1' }),
          step(exec.id, 'retried', { position: 1, status: 'queued', currentJobId: 'job-2', startedAt: T0 + 5 }),
          step(exec.id, 'pending', { position: 2, status: 'pending', currentJobId: 'job-3' }),
        ]),
      );
      const mark = (stepId: string, jobId: string, now: number) =>
        h.store.transaction((tx) => tx.markStepRunning(exec.id, stepId, jobId, now));

      await mark('fresh', 'job-other', T0 + 100);
      expect(await h.store.read.getStep(exec.id, 'fresh')).toStrictEqual(
        step(exec.id, 'fresh', { position: 0, status: 'queued', currentJobId: 'job-1' }),
      );
      await mark('fresh', 'job-1', T0 + 100);
      expect(await h.store.read.getStep(exec.id, 'fresh')).toStrictEqual(
        step(exec.id, 'fresh', { position: 0, status: 'running', currentJobId: 'job-1', startedAt: T0 + 100 }),
      );
      // Already running: a second start changes nothing.
      await mark('fresh', 'job-1', T0 + 200);
      expect((await h.store.read.getStep(exec.id, 'fresh'))?.startedAt).toBe(T0 + 100);

      await mark('retried', 'job-2', T0 + 300);
      expect(await h.store.read.getStep(exec.id, 'retried')).toMatchObject({ status: 'running', startedAt: T0 + 5 });

      await mark('pending', 'job-3', T0 + 400);
      expect(await h.store.read.getStep(exec.id, 'pending')).toStrictEqual(
        step(exec.id, 'pending', { position: 2, status: 'pending', currentJobId: 'job-3' }),
      );
    });

    it('insertStepResult writes the first result of a step only', async () => {
      const exec = await seedOne(h.store);
      const first = stepResult(exec.id, 'a', { output: { text: 'first ✓', n: 2 ** 53 - 1, nested: [{ a: null }] } });
      const second = stepResult(exec.id, 'a', { output: { text: 'second' }, workerId: 'worker-2', attempt: 2 });
      expect(await h.store.transaction((tx) => tx.insertStepResult(first))).toBe(true);
      expect(await h.store.transaction((tx) => tx.insertStepResult(second))).toBe(false);
      expect(await h.store.read.getStepResults(exec.id)).toStrictEqual([first]);
      // A duplicate does not spoil the transaction it is part of.
      const other = stepResult(exec.id, 'b');
      await h.store.transaction(async (tx) => {
        expect(await tx.insertStepResult(second)).toBe(false);
        expect(await tx.insertStepResult(other)).toBe(true);
      });
      expect(await h.store.read.getStepResults(exec.id, ['a', 'b'])).toEqual(expect.arrayContaining([first, other]));
      expect(await h.store.read.getStepResults(exec.id, ['a', 'b'])).toHaveLength(2);
    });

    it('getStepResults returns all results, or those of the listed steps (lists longer than 200 too)', async () => {
      const exec = await seedOne(h.store);
      const other = await seedOne(h.store);
      const results = Array.from({ length: 300 }, (_, i) => stepResult(exec.id, `s${i}`, { cost: i }));
      await h.store.transaction(async (tx) => {
        for (const r of results) await tx.insertStepResult(r);
        await tx.insertStepResult(stepResult(other.id, 's0'));
      });
      const byStep = (list: { stepId: string }[]) => list.map((r) => r.stepId).sort();

      const all = await h.store.read.getStepResults(exec.id);
      expect(byStep(all)).toEqual(byStep(results));
      expect(all.find((r) => r.stepId === 's123')).toStrictEqual(results[123]);

      const wanted = Array.from({ length: 250 }, (_, i) => `s${i + 25}`);
      const some = await h.store.read.getStepResults(exec.id, [...wanted, 'missing']);
      expect(byStep(some)).toEqual([...wanted].sort());
      expect(some.find((r) => r.stepId === 's274')).toStrictEqual(results[274]);

      expect(await h.store.read.getStepResults(exec.id, [])).toEqual([]);
      expect(await h.store.read.getStepResults(exec.id, ['missing'])).toEqual([]);
    });
  });
}
