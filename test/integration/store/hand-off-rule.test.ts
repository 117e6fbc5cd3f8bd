import { describe, expect, it } from 'vitest';
import { serves } from '../../../src/coordinator/hand-off.js';
import type { Capabilities, JobRecord } from '../../../src/store/records.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { T0, hex, job, modelJob, seedOne, step, useStore } from './fixtures.js';

/**
 * A job handed to a reporting slot skips the claim statement, so the rule that decides which jobs a worker
 * may take exists twice: in SQL (claim.ts) and in memory (hand-off.ts). They must agree on every case.
 */
const WORKERS: Record<string, Capabilities> = {
  'types only': { stepTypes: ['data_processing'], models: [] },
  'a model, digest unknown': { stepTypes: [], models: ['llm'] },
  'a model at a digest': { stepTypes: ['inference'], models: ['llm'], modelDigests: { llm: hex('weights-a') } },
  'two models, one pinned': { stepTypes: [], models: ['llm', 'ocr'], modelDigests: { ocr: hex('ocr-1') } },
  nothing: { stepTypes: [], models: [] },
};

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`the hand-off rule agrees with the claim (${kind})`, () => {
    const h = useStore(kind, 'hand-off-rule');

    it('serves() says yes exactly for the jobs the claim statement would give the worker', async () => {
      const exec = await seedOne(h.store);
      const jobs = (): Record<string, JobRecord> => ({
        'data_processing, no model': job(exec),
        'inference, no model': job(exec, { stepType: 'inference' }),
        'llm, unpinned': modelJob(exec, 'llm'),
        'llm pinned at a': modelJob(exec, 'llm', { modelDigest: hex('weights-a') }),
        'llm pinned at b': modelJob(exec, 'llm', { modelDigest: hex('weights-b') }),
        'ocr, unpinned': modelJob(exec, 'ocr'),
        'ocr pinned at 1': modelJob(exec, 'ocr', { modelDigest: hex('ocr-1') }),
        'other model': modelJob(exec, 'other'),
      });
      const agreed: string[] = [];
      for (const [workerName, capabilities] of Object.entries(WORKERS)) {
        for (const [jobName, record] of Object.entries(jobs())) {
          // One queued job at a time: whether the claim takes it is whether this worker may run it.
          await h.store.transaction((tx) => tx.insertJob(record));
          const claimed = await h.store.transaction((tx) =>
            tx.claimJob({ workerId: `w-${workerName}`, ...capabilities, now: T0, leaseMs: 1000, nonce: 'n' }),
          );
          await h.store.transaction((tx) => tx.updateJob(record.id, { status: 'cancelled' }));
          expect(serves(capabilities, record), `${workerName} / ${jobName}`).toBe(claimed?.id === record.id);
          if (claimed) agreed.push(`${workerName} / ${jobName}`);
        }
      }
      // The matrix is not trivially all-no: these are the pairs both rules allow.
      expect(agreed.sort()).toEqual(
        [
          'types only / data_processing, no model',
          'a model, digest unknown / llm, unpinned',
          'a model at a digest / inference, no model',
          'a model at a digest / llm, unpinned',
          'a model at a digest / llm pinned at a',
          'two models, one pinned / llm, unpinned',
          'two models, one pinned / ocr, unpinned',
          'two models, one pinned / ocr pinned at 1',
        ].sort(),
      );
    });

    it('lockExecutionWithJob reads the execution, the job and its step in one go, and the execution alone without the job', async () => {
      const exec = await seedOne(h.store);
      const record = job(exec, { stepId: 'a', input: { text: 'héllo', n: [1, 2] } });
      await h.store.transaction(async (tx) => {
        await tx.insertSteps([step(exec.id, 'a', { status: 'running', attempts: 1, currentJobId: record.id })]);
        await tx.insertJob(record);
      });
      const locked = await h.store.transaction((tx) => tx.lockExecutionWithJob(exec.id, record.id));
      expect(locked?.execution).toEqual(await h.store.read.getExecution(exec.id));
      expect(locked?.job).toEqual(await h.store.read.getJob(record.id));
      expect(locked?.step).toEqual(await h.store.read.getStep(exec.id, 'a'));

      const other = await seedOne(h.store);
      // A job of another execution is not this execution's.
      const foreign = await h.store.transaction((tx) => tx.lockExecutionWithJob(other.id, record.id));
      expect(foreign?.execution.id).toBe(other.id);
      expect(foreign?.job).toBeUndefined();
      expect(foreign?.step).toBeUndefined();
      expect(
        await h.store.transaction((tx) => tx.lockExecutionWithJob('no-such-execution', record.id)),
      ).toBeUndefined();
    });
  });
}
