import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatement, STEP_PREDICATE_TYPE, stepPredicateSchema } from '../../../src/attest/statement.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import type { Executor } from '../../../src/executors/executor.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

/**
 * Model digests: a worker advertises the digest of each model it serves (computed in `prepare`), a step
 * may pin name, version or digest, only a worker serving exactly that digest claims its jobs, and the
 * attestation records the digest that ran.
 */
const SERVED = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

class DigestedModel implements Executor {
  readonly name = 'digested';
  capabilities: Executor['capabilities'] = { stepTypes: [], models: ['test/digested'] };
  prepared = 0;
  prepare() {
    this.prepared++;
    this.capabilities = { ...this.capabilities, modelDigests: { 'test/digested': SERVED } };
    return Promise.resolve();
  }
  run(job: { input: unknown }) {
    return Promise.resolve({ output: job.input });
  }
}

const flow = (id: string, model: Record<string, unknown>) => ({
  id,
  name: id,
  version: 1,
  steps: [
    {
      id: 'm',
      step_type: 'inference',
      model_requirements: { name: 'test/digested', ...model },
      input_mappings: { x: '1' },
    },
  ],
});

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`model digests (${kind})`, () => {
    let t: TestNode;
    const model = new DigestedModel();
    beforeAll(async () => {
      // A refused result leaves its job leased until the lease runs out: 3 s, not 15, before the step fails.
      t = await startTestNode(kind, 'model-pinning', {
        executors: [...defaultExecutors(), model],
        workers: 2,
        leaseMs: 3_000,
      });
    });
    afterAll(() => t?.close());

    const attestedModel = async (executionId: string) => {
      const [result] = await t.node.store.read.getStepResults(executionId);
      return readStatement(result!.attestation!, STEP_PREDICATE_TYPE, stepPredicateSchema).predicate.model;
    };

    it('prepares the executor once before the worker registers, and advertises the digest', async () => {
      expect(model.prepared).toBe(1);
      const workers = await t.node.store.read.listWorkers();
      expect(workers.some((w) => w.capabilities.modelDigests?.['test/digested'] === SERVED)).toBe(true);
    });

    it('records the served digest in the attestation when the step pins nothing', async () => {
      const view = await t.run(flow('unpinned', {}));
      expect(view.status).toBe('completed');
      expect(await attestedModel(view.executionId)).toEqual({ name: 'test/digested', version: null, digest: SERVED });
    });

    it('runs a step pinned to the served digest', async () => {
      const view = await t.run(flow('pinned', { digest: SERVED }));
      expect(view.status).toBe('completed');
      expect((await attestedModel(view.executionId))?.digest).toBe(SERVED);
    });

    it('never hands a step pinned to another digest to this worker: the job waits in the queue', async () => {
      const execution = await t.start(flow('pinned-other', { digest: OTHER }));
      await new Promise((r) => setTimeout(r, 600));
      expect((await t.node.store.read.listJobs(execution.id)).map((j) => j.status)).toEqual(['queued']);
      await t.node.engine.cancel(execution.id, 'test');
    });

    it('refuses a result whose attestation names another version than the step pins, and the step fails', async () => {
      // This worker reports no version, so a step pinning one cannot accept its attestation.
      const view = await t.run({
        ...flow('pinned-version', { version: '2.0' }),
        steps: [{ ...flow('x', { version: '2.0' }).steps[0], retry_policy: { max_attempts: 1 } }],
      });
      expect(view.status).toBe('failed');
      const events = await t.node.store.read.listEvents(view.executionId, 0, 100);
      const refused = events.find((e) => e.type === 'result.refused');
      expect(JSON.stringify(refused?.data)).toContain('version 2.0');
    });
  });
}
