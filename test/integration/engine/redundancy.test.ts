import { afterEach, describe, expect, it } from 'vitest';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import type { Executor, ExecutorJob } from '../../../src/executors/executor.js';
import { ExecutorError } from '../../../src/executors/executor.js';
import { ExecutorRegistry } from '../../../src/executors/registry.js';
import { tally } from '../../../src/engine/redundancy.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { localWorkerClient } from '../../../src/worker/local-client.js';
import { Worker } from '../../../src/worker/worker.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

/**
 * Redundant execution: a step with `redundancy: { replicas: k, quorum: q }` runs as k jobs on k distinct
 * workers of distinct principals, and its output is the one q principals agree on. A worker that returns
 * something else is outvoted, replicas that cannot agree fail the step with `redundancy_mismatch` naming who
 * said what, and no worker or principal ever holds two replicas of one attempt.
 */
type Behaviour = 'honest' | 'liar' | 'fail';

/** Serves `test/vote`: echoes its input honestly, or lies with an output of its own, or fails. */
class Voter implements Executor {
  readonly name = 'voter';
  readonly capabilities = { stepTypes: [], models: ['test/vote'] };
  constructor(
    private readonly behaviour: Behaviour,
    private readonly tag: string,
  ) {}
  run(job: ExecutorJob) {
    if (this.behaviour === 'fail')
      return Promise.reject(new ExecutorError('broken', `worker ${this.tag} is broken`, { retryable: false }));
    return Promise.resolve({ output: this.behaviour === 'honest' ? job.input : { lie: this.tag } });
  }
}

const flow = (id: string, redundancy = { replicas: 3, quorum: 2 }) => ({
  id,
  name: id,
  version: 1,
  steps: [
    {
      id: 'vote',
      step_type: 'inference',
      model_requirements: { name: 'test/vote' },
      input_mappings: { x: 'inputs.x' },
      redundancy,
      retry_policy: { max_attempts: 1 },
    },
    { id: 'after', step_type: 'data_processing', input_mappings: { v: 'steps.vote.output' }, expression: 'v' },
  ],
  outputs: { v: 'steps.after.output' },
});

describe('the vote (pure)', () => {
  const v = (replica: number, digest: string, key: string, principal = `p-${key}`) => ({
    replica,
    outputDigest: digest,
    workerId: `w${key}`,
    workerKeyId: key,
    principal,
  });
  it('agrees once q distinct keys agree, on the lowest agreeing replica', () => {
    expect(tally([v(0, 'a', 'k1'), v(1, 'b', 'k2'), v(2, 'a', 'k3')], 0, 2)).toEqual({
      state: 'agreed',
      outputDigest: 'a',
      primary: 0,
      agreeing: 2,
    });
    expect(tally([v(1, 'a', 'k1'), v(2, 'a', 'k3')], 1, 2)).toMatchObject({ state: 'agreed', primary: 1 });
  });
  it('counts one key once, however many replicas it ran', () => {
    expect(tally([v(0, 'a', 'k1'), v(1, 'a', 'k1')], 1, 2)).toEqual({ state: 'waiting', best: 1 });
    expect(tally([v(0, 'a', 'k1'), v(1, 'a', 'k1')], 0, 2)).toEqual({ state: 'impossible', best: 1 });
  });
  it('counts one principal once, however many keys its replicas were signed with', () => {
    expect(tally([v(0, 'a', 'k1', 'sybil'), v(1, 'a', 'k2', 'sybil')], 1, 2)).toEqual({ state: 'waiting', best: 1 });
    expect(tally([v(0, 'a', 'k1', 'sybil'), v(1, 'a', 'k2', 'sybil'), v(2, 'b', 'k3', 'honest')], 0, 2)).toEqual({
      state: 'impossible',
      best: 1,
    });
    expect(tally([v(0, 'a', 'k1', 'sybil'), v(1, 'a', 'k2', 'sybil'), v(2, 'a', 'k3', 'honest')], 0, 2)).toMatchObject({
      state: 'agreed',
      agreeing: 2,
    });
  });
  it('counts one key once even under two principals', () => {
    expect(tally([v(0, 'a', 'k1', 'p1'), v(1, 'a', 'k1', 'p2')], 0, 2)).toEqual({ state: 'impossible', best: 1 });
  });
  it('waits while the pending replicas could still make the quorum, and gives up when they cannot', () => {
    expect(tally([v(0, 'a', 'k1'), v(1, 'b', 'k2')], 1, 2)).toEqual({ state: 'waiting', best: 1 });
    expect(tally([v(0, 'a', 'k1'), v(1, 'b', 'k2'), v(2, 'c', 'k3')], 0, 2)).toEqual({ state: 'impossible', best: 1 });
    expect(tally([], 3, 2)).toEqual({ state: 'waiting', best: 0 });
  });
});

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`redundant steps (${kind})`, () => {
    let t: TestNode | undefined;
    let workers: Worker[] = [];
    afterEach(async () => {
      for (const w of workers) await w.stop(1000);
      workers = [];
      await t?.close();
      t = undefined;
    });

    /**
     * A node with no worker of its own, and one worker (own key) per behaviour, each of a principal of its
     * own unless `principals` names them.
     */
    async function setUp(
      label: string,
      behaviours: Behaviour[],
      principals?: string[],
    ): Promise<{ t: TestNode; ids: string[] }> {
      t = await startTestNode(kind, label, { workers: 0 });
      const ids: string[] = [];
      for (const [i, behaviour] of behaviours.entries()) {
        const signer = LocalSigner.generate();
        const principal = principals?.[i] ?? `operator-${i}`;
        const worker = new Worker(
          localWorkerClient(t.node.coordinator, t.node.blobs, t.node.store, { principal }),
          new ExecutorRegistry([new Voter(behaviour, String(i)), ...defaultExecutors()]),
          {
            signer,
            concurrency: 2,
            pollMs: 100,
            name: `${behaviour}-${i}`,
          },
        );
        ids.push(await worker.start());
        workers.push(worker);
      }
      return { t, ids };
    }

    it('runs k replicas on k distinct workers and completes with the output q of them agree on', async () => {
      const { t, ids } = await setUp('redundancy-honest', ['honest', 'honest', 'honest']);
      const view = await t.run(flow('redundant-honest'), { x: 42 });
      expect(view.status).toBe('completed');
      expect(view.result).toEqual({ v: { x: 42 } });
      const jobs = (await t.node.store.read.listJobs(view.executionId)).filter((j) => j.stepId === 'vote');
      expect(jobs.map((j) => j.replica).sort()).toEqual([0, 1, 2]);
      // Never two replicas of one attempt on one worker.
      const holders = jobs.filter((j) => j.workerId !== undefined).map((j) => j.workerId);
      expect(new Set(holders).size).toBe(holders.length);
      for (const holder of holders) expect(ids).toContain(holder);
      const replicas = await t.node.store.read.listReplicaResults(view.executionId);
      expect(replicas.length).toBeGreaterThanOrEqual(2);
      expect(new Set(replicas.map((r) => r.workerKeyId)).size).toBe(replicas.length);
      // Each replica result carries the principal recorded when its job was assigned.
      expect(new Set(replicas.map((r) => r.principal)).size).toBe(replicas.length);
      for (const r of replicas) expect(r.principal).toBe(jobs.find((j) => j.id === r.jobId)!.principal);
      const [result] = await t.node.store.read.getStepResults(view.executionId, ['vote']);
      expect(replicas.map((r) => r.attestationDigest)).toContain(result!.attestationDigest);
    });

    it('outvotes a worker that returns something else', async () => {
      const { t } = await setUp('redundancy-liar', ['liar', 'honest', 'honest']);
      const view = await t.run(flow('redundant-liar'), { x: 'truth' });
      expect(view.status).toBe('completed');
      expect(view.result).toEqual({ v: { x: 'truth' } });
    });

    it('fails the step with redundancy_mismatch, naming the workers, when no quorum can agree', async () => {
      const { t, ids } = await setUp('redundancy-mismatch', ['liar', 'liar', 'honest']);
      const view = await t.run(flow('redundant-mismatch'), { x: 1 });
      expect(view.status).toBe('failed');
      const step = view.steps.find((s) => s.id === 'vote')!;
      expect(step.error?.code).toBe('redundancy_mismatch');
      for (const id of ids) expect(step.error?.message).toContain(id);
      for (const principal of ['operator-0', 'operator-1', 'operator-2'])
        expect(step.error?.message).toContain(`of ${principal}`);
      expect(view.steps.find((s) => s.id === 'after')!.status).not.toBe('completed');
    });

    it('completes when one replica fails but the others still make the quorum', async () => {
      const { t } = await setUp('redundancy-failure', ['fail', 'honest', 'honest']);
      const view = await t.run(flow('redundant-failure'), { x: 7 });
      expect(view.status).toBe('completed');
      expect(view.result).toEqual({ v: { x: 7 } });
    });

    it('never gives one principal two replicas of an attempt: two liars of one principal take one replica, and their lie is not the answer', async () => {
      const { t, ids } = await setUp('redundancy-sybil', ['liar', 'liar', 'honest'], ['sybil', 'sybil', 'honest']);
      const execution = await t.start(flow('redundant-sybil'), { x: 'truth' });
      await new Promise((r) => setTimeout(r, 1000));
      const jobs = (await t.node.store.read.listJobs(execution.id)).filter((j) => j.stepId === 'vote');
      const held = jobs.filter((j) => j.workerId !== undefined);
      expect(held.filter((j) => j.principal === 'sybil')).toHaveLength(1);
      expect(held.filter((j) => j.principal === 'honest')).toHaveLength(1);
      expect(held.filter((j) => j.workerId === ids[0] || j.workerId === ids[1])).toHaveLength(1);
      expect(jobs.filter((j) => j.status === 'queued')).toHaveLength(1);
      const view = await t.view(execution.id);
      expect(view.status).toBe('running');
      expect(view.steps.find((s) => s.id === 'vote')!.status).not.toBe('completed');
      await t.node.engine.cancel(execution.id, 'test');
    });

    it('an in-process worker registered without a principal speaks for the node', async () => {
      t = await startTestNode(kind, 'redundancy-node-principal', { workers: 1 });
      const [worker] = (await t.node.store.read.listWorkers()).filter(
        (w) => w.kind === 'local' && w.status === 'active',
      );
      expect(worker?.principal).toBe(`node:${t.node.coordinatorSigner.keyId.slice(0, 16)}`);
    });

    it('never gives one worker two replicas of an attempt: with one worker, the others wait', async () => {
      const { t, ids } = await setUp('redundancy-alone', ['honest']);
      const execution = await t.start(flow('redundant-alone'), { x: 1 });
      await new Promise((r) => setTimeout(r, 700));
      const jobs = (await t.node.store.read.listJobs(execution.id)).filter((j) => j.stepId === 'vote');
      expect(jobs.filter((j) => j.workerId === ids[0])).toHaveLength(1);
      expect(jobs.filter((j) => j.status === 'queued')).toHaveLength(2);
      expect((await t.view(execution.id)).status).toBe('running');
      await t.node.engine.cancel(execution.id, 'test');
    });
  });
}
