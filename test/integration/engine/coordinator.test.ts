import { beforeEach, describe, expect, it } from 'vitest';
import type { Assignment } from '../../../src/coordinator/protocol.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { ManualWorker } from '../../support/manual-worker.js';
import { echo, transform, useTestNode } from '../../support/node.js';

const caps = { stepTypes: ['data_processing' as const], models: ['builtin/echo'] };

/** The worker protocol, driven by hand: no in-process worker runs, the test is the worker. */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`coordinator protocol (${kind})`, () => {
    const t = useTestNode(kind, 'coord', { workers: 0, leaseMs: 1000 });
    let w: ManualWorker;
    beforeEach(async () => {
      w = await new ManualWorker(t.node.coordinator, caps).register();
    });

    // Up to 6 s: a re-queued step waits out its 1 s lease and the default 1 s retry backoff first.
    const claimOne = async (worker = w): Promise<Assignment> => {
      for (let i = 0; i < 300; i++) {
        const job = await t.node.coordinator.claim(worker.id, caps);
        if (job) return job;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('no job to claim');
    };
    const report = (job: Assignment, over: Partial<{ workerId: string; attempt: number; nonce: string }> = {}) => ({
      jobId: job.jobId,
      workerId: w.id,
      attempt: job.attempt,
      nonce: job.nonce,
      ...over,
    });

    it('hands a job out once, and accepts its result only from the assigned worker with the right attempt and nonce', async () => {
      const execution = await t.start({ id: 'manual', steps: [echo('a')] }, { x: 1 });
      const job = await claimOne();
      expect(job).toMatchObject({
        executionId: execution.id,
        stepId: 'a',
        attempt: 1,
        input: { x: 1 },
        started: false,
      });
      expect(job.nonce).toMatch(/^[0-9a-f]{32}$/);
      const other = await new ManualWorker(t.node.coordinator, caps, 'other').register();
      expect(await t.node.coordinator.claim(other.id, caps)).toBeUndefined();

      expect(await t.node.coordinator.start(report(job, { workerId: other.id }))).toBe(false);
      expect(await t.node.coordinator.start(report(job))).toBe(true);
      const refusals = [
        await other.complete(job, 'forged'),
        await w.complete(job, 'forged', { attempt: 2 }),
        await w.complete(job, 'forged', { nonce: 'f'.repeat(32) }),
        await w.complete(job, 'forged', { jobId: 'no-such-job' }),
      ];
      expect(refusals.map((r) => (r.accepted ? 'accepted' : r.reason))).toEqual([
        'not_assigned',
        'stale_attempt',
        'bad_nonce',
        'unknown_job',
      ]);
      // None of them changed anything.
      expect((await t.node.store.read.getJob(job.jobId))!.status).toBe('running');
      expect(await t.node.store.read.getStepResults(execution.id)).toEqual([]);

      expect(await w.complete(job, { y: 2 })).toEqual({ accepted: true });
      const again = await w.complete(job, { y: 3 });
      expect(again).toMatchObject({ accepted: false, reason: 'already_finished' });
      const final = await t.view(execution.id);
      expect(final).toMatchObject({ status: 'completed', result: { y: 2 } });
      const refused = (await t.node.store.read.listEvents(execution.id, 0, 100)).filter(
        (e) => e.type === 'result.refused',
      );
      // Only the worker holding the job, while it holds it, leaves its refusals in the history: another
      // worker's report, and any report once the job is over, are counted instead (Metrics), not stored.
      expect(refused.map((e) => e.data?.reason)).toEqual(['stale_attempt', 'bad_nonce']);
      // The accepted result keeps the worker's attestation.
      const [result] = await t.node.store.read.getStepResults(execution.id);
      expect(result).toMatchObject({
        workerKeyId: w.signer.keyId,
        attestationDigest: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
      });
    });

    it('refuses a result whose attestation does not match the job, its output, or the worker key', async () => {
      const execution = await t.start({ id: 'attested', steps: [echo('a')] }, { x: 1 });
      const job = await claimOne();
      await t.node.coordinator.start(report(job));
      const impostor = LocalSigner.generate();
      const cases: [string, ReturnType<ManualWorker['attest']>][] = [
        ['another key', w.attest(job, { y: 1 }, { workerKeyId: impostor.keyId }, impostor)],
        ['the registered key id, another key', w.attest(job, { y: 1 }, {}, impostor)],
        ['another output', w.attest(job, { y: 'different' })],
        ['another input', w.attest(job, { y: 1 }, { inputDigest: '0'.repeat(64) })],
        ['another job', w.attest(job, { y: 1 }, { jobId: 'other-job' })],
        ['another attempt', w.attest(job, { y: 1 }, { attempt: 2 })],
        ['another nonce', w.attest(job, { y: 1 }, { jobNonce: 'a'.repeat(32) })],
        ['another execution', w.attest(job, { y: 1 }, { executionId: 'other-execution' })],
        ['another workflow', w.attest(job, { y: 1 }, { workflowDigest: 'f'.repeat(64) })],
        ['another step', w.attest(job, { y: 1 }, { stepId: 'b' })],
        ['another worker id', w.attest(job, { y: 1 }, { workerId: 'someone-else' })],
        ['a swapped payload type', { ...w.attest(job, { y: 1 }), payloadType: 'application/json' }],
      ];
      for (const [what, attestation] of cases) {
        // Renew the lease before each report: on a loaded machine the cases together outlast it.
        expect(await t.node.coordinator.heartbeat(report(job))).toBe('ok');
        const outcome = await w.complete(job, { y: 1 }, { attestation });
        expect(outcome, what).toMatchObject({ accepted: false, reason: 'bad_attestation' });
      }
      expect((await t.node.store.read.getJob(job.jobId))!.status).toBe('running');
      expect(await t.node.store.read.getStepResults(execution.id)).toEqual([]);
      expect(await w.complete(job, { y: 1 })).toEqual({ accepted: true });
      expect(await t.view(execution.id)).toMatchObject({ status: 'completed', result: { y: 1 } });
    });

    it('charges the cost the worker attested', async () => {
      const execution = await t.start({ id: 'metered', steps: [echo('a', { estimated_cost: 500 })] });
      const job = await claimOne();
      expect(job.maxCost).toBe(500);
      await t.node.coordinator.start(report(job));
      expect(await w.complete(job, 1, { attestation: w.attest(job, 1, { cost: 123 }) })).toEqual({ accepted: true });
      expect((await t.view(execution.id)).spent).toBe(123);
    });

    it('re-queues the step as a new attempt when a worker stops heartbeating, and refuses the old attempt afterwards', async () => {
      const execution = await t.start({ id: 'abandoned', steps: [echo('a')] }, { x: 1 });
      const first = await claimOne();
      await t.node.coordinator.start(report(first));
      // No heartbeats: the 1 s lease runs out and the sweeper re-queues the step.
      const second = await claimOne();
      expect(second).toMatchObject({ stepId: 'a', attempt: 2 });
      expect((await t.node.store.read.getJob(first.jobId))!).toMatchObject({
        status: 'expired',
        error: { code: 'lease_expired' },
      });
      const late = await w.complete(first, 'late');
      expect(late).toMatchObject({ accepted: false, reason: 'expired' });
      await t.node.coordinator.start(report(second));
      expect(await w.complete(second, 'fresh')).toEqual({ accepted: true });
      expect(await t.view(execution.id)).toMatchObject({ status: 'completed', result: 'fresh' });
    });

    it('keeps a job alive while its worker heartbeats', async () => {
      await t.start({ id: 'kept', steps: [echo('a')] });
      const job = await claimOne();
      await t.node.coordinator.start(report(job));
      // Twice the 1 s lease, heartbeating four times a lease.
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 250));
        expect(await t.node.coordinator.heartbeat(report(job))).toBe('ok');
      }
      expect(await w.complete(job, 1)).toEqual({ accepted: true });
    });

    it('tells a worker its job was cancelled through the heartbeat', async () => {
      const execution = await t.start({ id: 'cancelled', steps: [echo('a')] });
      const job = await claimOne();
      await t.node.coordinator.start(report(job));
      await t.node.engine.cancel(execution.id, 'client:test');
      expect(await t.node.coordinator.heartbeat(report(job))).toBe('cancelled');
      expect(await w.complete(job, 1)).toMatchObject({ accepted: false, reason: 'cancelled' });
    });

    it('refuses a result that arrives after the step deadline, and retries the step', async () => {
      const execution = await t.start({
        id: 'late',
        steps: [echo('a', { timeout_seconds: 1, retry_policy: { max_attempts: 2, initial_backoff_ms: 0 } })],
      });
      const job = await claimOne();
      await t.node.coordinator.start(report(job));
      // Keep the lease alive past the deadline, so it is the deadline that is missed.
      const until = Date.now() + 1300;
      while (Date.now() < until) {
        await t.node.coordinator.heartbeat(report(job));
        await new Promise((r) => setTimeout(r, 50));
      }
      const outcome = await w.complete(job, 'too late');
      expect(outcome.accepted).toBe(false);
      expect(['late', 'expired']).toContain(outcome.accepted ? '' : outcome.reason);
      const retry = await claimOne();
      expect(retry.attempt).toBe(2);
      expect((await t.node.store.read.getJob(job.jobId))!.error?.code).toBe('step_timeout');
      await t.node.coordinator.start(report(retry));
      await w.complete(retry, 'on time');
      expect(await t.view(execution.id)).toMatchObject({ status: 'completed', result: 'on time' });
    });

    it('gives a worker only jobs it can serve', async () => {
      await t.start({
        id: 'mixed',
        steps: [
          echo('model_step'),
          transform('expr_step', '1'),
          {
            id: 'sleepy',
            step_type: 'inference',
            model_requirements: { name: 'builtin/sleep' },
            input_mappings: { ms: '1' },
          },
        ],
      });
      const onlyExpressions = { stepTypes: ['data_processing' as const], models: [] };
      const onlyEcho = { stepTypes: [], models: ['builtin/echo'] };
      const a = await t.node.coordinator.claim(w.id, onlyExpressions);
      const b = await t.node.coordinator.claim(w.id, onlyEcho);
      expect(a?.stepId).toBe('expr_step');
      expect(b?.stepId).toBe('model_step');
      expect(await t.node.coordinator.claim(w.id, onlyExpressions)).toBeUndefined();
      expect(await t.node.coordinator.claim(w.id, onlyEcho)).toBeUndefined();
    });

    it('re-queues the jobs of a worker that stops, and refuses claims from a stopped worker', async () => {
      await t.start({ id: 'stopping', steps: [echo('a')] });
      const job = await claimOne();
      await t.node.coordinator.start(report(job));
      await t.node.coordinator.stopWorker(w.id);
      expect((await t.node.store.read.getJob(job.jobId))!).toMatchObject({
        status: 'expired',
        error: { code: 'worker_stopped' },
      });
      await expect(t.node.coordinator.claim(w.id, caps)).rejects.toMatchObject({ code: 'worker_stopped' });
      const other = await new ManualWorker(t.node.coordinator, caps, 'other').register();
      const retry = await claimOne(other);
      expect(retry.attempt).toBe(2);
    });

    it('refuses to register a worker whose key is not an Ed25519 public key', async () => {
      await expect(
        t.node.coordinator.registerWorker({
          name: 'bad',
          kind: 'remote',
          capabilities: caps,
          concurrency: 1,
          publicKeyPem: 'not a key',
        }),
      ).rejects.toMatchObject({ code: 'invalid_key' });
    });
  });
}
