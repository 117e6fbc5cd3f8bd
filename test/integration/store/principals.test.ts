import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../../../src/store/records.js';
import type { ClaimRequest, Store } from '../../../src/store/store.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { T0, hex, job, seedOne, stepResult, useStore, worker } from './fixtures.js';

/**
 * Principals in the store (migration 9): a claim records the principal of the worker it assigns, a worker
 * never claims a replica of an attempt that a worker of its principal holds, replica results keep their
 * principal, and the reads behind the per-principal registration caps count what they should.
 */

const claimRequest = (workerId: string): ClaimRequest => ({
  workerId,
  stepTypes: ['data_processing'],
  models: [],
  now: T0,
  leaseMs: 10_000,
  nonce: `nonce-${workerId}`,
});

function claim(store: Store, workerId: string): Promise<JobRecord | undefined> {
  return store.transaction((tx) => tx.claimJob(claimRequest(workerId)));
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store principals (${kind})`, () => {
    const h = useStore(kind, 'principals');

    it("a claim records the worker's principal, and one principal gets one replica of an attempt, whichever of its workers asks", async () => {
      const exec = await seedOne(h.store);
      await h.store.transaction(async (tx) => {
        await tx.upsertWorker(worker({ id: 'a1', kind: 'remote', principal: 'acme' }));
        await tx.upsertWorker(worker({ id: 'a2', kind: 'remote', principal: 'acme' }));
        await tx.upsertWorker(worker({ id: 'b1', kind: 'remote', principal: 'bravo' }));
        await tx.upsertWorker(worker({ id: 'legacy' }));
        for (const replica of [0, 1, 2]) await tx.insertJob(job(exec, { stepId: 'vote', replica }));
      });
      const first = await claim(h.store, 'a1');
      expect(first).toMatchObject({ workerId: 'a1', principal: 'acme', replica: 0 });
      expect(await h.store.read.getJob(first!.id)).toMatchObject({ principal: 'acme' });
      expect(await h.store.read.hasClaimableJob({ ...claimRequest('a2') })).toBe(false);
      expect(await claim(h.store, 'a2')).toBeUndefined();
      expect(await claim(h.store, 'b1')).toMatchObject({ workerId: 'b1', principal: 'bravo', replica: 1 });
      // A worker registered without a principal is kept apart by its id alone, as before.
      const legacy = await claim(h.store, 'legacy');
      expect(legacy).toMatchObject({ workerId: 'legacy', replica: 2 });
      expect(Object.hasOwn(legacy!, 'principal')).toBe(false);
    });

    it('two workers of one principal claiming at the same moment still take one replica of an attempt between them', async () => {
      // Each round races two claims of one principal's workers for a fresh 3-replica attempt; before the
      // per-attempt lock, PostgreSQL let both win now and then (each saw the other's assignment uncommitted).
      const workers = ['r1', 'r2', 'r3', 'r4'];
      await h.store.transaction(async (tx) => {
        for (const id of workers) await tx.upsertWorker(worker({ id, kind: 'remote', principal: 'racer' }));
      });
      for (let round = 0; round < 25; round++) {
        const exec = await seedOne(h.store);
        await h.store.transaction(async (tx) => {
          for (const replica of [0, 1, 2]) await tx.insertJob(job(exec, { stepId: 'vote', replica }));
        });
        const won = (await Promise.all(workers.map((id) => claim(h.store, id)))).filter((j) => j !== undefined);
        expect(won, `round ${round}`).toHaveLength(1);
        const held = (await h.store.read.listJobs(exec.id)).filter((j) => j.workerId !== undefined);
        expect(held.map((j) => j.principal)).toEqual(['racer']);
      }
    });

    it('steps that run once are claimed by any worker of a principal', async () => {
      const exec = await seedOne(h.store);
      await h.store.transaction(async (tx) => {
        await tx.upsertWorker(worker({ id: 'a1', kind: 'remote', principal: 'acme' }));
        await tx.upsertWorker(worker({ id: 'a2', kind: 'remote', principal: 'acme' }));
        await tx.insertJob(job(exec));
        await tx.insertJob(job(exec));
      });
      expect(await claim(h.store, 'a1')).toMatchObject({ principal: 'acme' });
      expect(await claim(h.store, 'a2')).toMatchObject({ principal: 'acme' });
    });

    it('a replica result keeps its principal', async () => {
      const exec = await seedOne(h.store);
      const withPrincipal = { ...stepResult(exec.id, 'vote'), replica: 0, principal: 'acme' };
      const without = { ...stepResult(exec.id, 'vote'), replica: 1 };
      await h.store.transaction(async (tx) => {
        expect(await tx.insertReplicaResult(withPrincipal)).toBe(true);
        expect(await tx.insertReplicaResult(without)).toBe(true);
      });
      const [a, b] = await h.store.read.listReplicaResults(exec.id, { stepId: 'vote', attempt: 1 });
      expect(a).toMatchObject({ replica: 0, principal: 'acme' });
      expect(Object.hasOwn(b!, 'principal')).toBe(false);
    });

    it("a step result summary carries its job's principal (whom the receipt says its cost pays), and none when the job has none", async () => {
      const exec = await seedOne(h.store);
      const paid = job(exec, { stepId: 'paid', principal: 'acme' });
      const legacy = job(exec, { stepId: 'legacy' });
      await h.store.transaction(async (tx) => {
        await tx.insertJob(paid);
        await tx.insertJob(legacy);
        await tx.insertStepResult(
          stepResult(exec.id, 'paid', { jobId: paid.id, cost: 42, attestationDigest: hex('a'), workerKeyId: hex('k') }),
        );
        await tx.insertStepResult(stepResult(exec.id, 'legacy', { jobId: legacy.id }));
        // A result whose job row is missing still reads (the principal is simply unknown).
        await tx.insertStepResult(stepResult(exec.id, 'orphan'));
      });
      const summaries = new Map((await h.store.read.listStepResultSummaries(exec.id)).map((r) => [r.stepId, r]));
      expect(summaries.size).toBe(3);
      expect(summaries.get('paid')).toMatchObject({
        jobId: paid.id,
        cost: 42,
        attestationDigest: hex('a'),
        workerKeyId: hex('k'),
        principal: 'acme',
      });
      expect(Object.hasOwn(summaries.get('paid')!, 'output')).toBe(false);
      expect(Object.hasOwn(summaries.get('paid')!, 'attestation')).toBe(false);
      expect(Object.hasOwn(summaries.get('legacy')!, 'principal')).toBe(false);
      expect(Object.hasOwn(summaries.get('orphan')!, 'principal')).toBe(false);
      expect(summaries.get('orphan')).toMatchObject({ cost: 10, outputDigest: hex('orphan') });
    });

    it("listActiveWorkerKeyIds: the distinct keys of a principal's active workers; countZkKeysOfPrincipal: its workers' registry leaves", async () => {
      await h.store.transaction(async (tx) => {
        await tx.upsertWorker(worker({ id: 'a1', kind: 'remote', principal: 'acme', keyId: hex('k1') }));
        await tx.upsertWorker(worker({ id: 'a2', kind: 'remote', principal: 'acme', keyId: hex('k1') }));
        await tx.upsertWorker(worker({ id: 'a3', kind: 'remote', principal: 'acme', keyId: hex('k2') }));
        await tx.upsertWorker(
          worker({ id: 'a4', kind: 'remote', principal: 'acme', keyId: hex('k3'), status: 'stopped' }),
        );
        await tx.upsertWorker(worker({ id: 'b1', kind: 'remote', principal: 'bravo', keyId: hex('k4') }));
        await tx.registerZkKey('1', '2', 'a1', T0);
        await tx.registerZkKey('3', '4', 'a4', T0);
        await tx.registerZkKey('5', '6', 'b1', T0);
      });
      expect((await h.store.read.listActiveWorkerKeyIds('acme')).sort()).toEqual([hex('k1'), hex('k2')].sort());
      expect(await h.store.read.listActiveWorkerKeyIds('nobody')).toEqual([]);
      // The registry never forgets a key, so a stopped worker's still counts.
      expect(await h.store.read.countZkKeysOfPrincipal('acme')).toBe(2);
      expect(await h.store.read.countZkKeysOfPrincipal('bravo')).toBe(1);
      expect(await h.store.read.countZkKeysOfPrincipal('nobody')).toBe(0);
    });
  });
}
