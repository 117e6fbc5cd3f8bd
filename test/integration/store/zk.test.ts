import { describe, expect, it } from 'vitest';
import type { ZkLeafRecord, ZkProofRecord } from '../../../src/store/records.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { T0, seedOne, useStore } from './fixtures.js';

function proofRecord(executionId: string, overrides: Partial<ZkProofRecord> = {}): ZkProofRecord {
  return {
    executionId,
    revision: 1,
    circuitId: 'verity-batch-v1-b1-d2',
    salt: '123456789012345678901234567890',
    commitment: '42',
    registryRoot: '7',
    registrySize: 2,
    statement: { payloadType: 'application/vnd.in-toto+json', payload: 'e30=', signatures: [{ keyid: 'k', sig: 's' }] },
    status: 'pending',
    batchesTotal: 3,
    batchesDone: 0,
    proofs: [],
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store zk registry and proofs (${kind})`, () => {
    const h = useStore(kind, 'zk');

    it('gives each new key the next leaf, and a known key its own', async () => {
      const a = await h.store.transaction((tx) => tx.registerZkKey('1', '2', 'w1', T0));
      const b = await h.store.transaction((tx) => tx.registerZkKey('3', '4', 'w2', T0));
      const again = await h.store.transaction((tx) => tx.registerZkKey('1', '2', 'w3', T0));
      expect([a, b, again]).toEqual([0, 1, 0]);
      expect(await h.store.read.listZkRegistry()).toEqual([
        { leafIndex: 0, keyX: '1', keyY: '2', workerId: 'w1', registeredAt: T0 },
        { leafIndex: 1, keyX: '3', keyY: '4', workerId: 'w2', registeredAt: T0 },
      ]);
      expect(await h.store.read.listZkRegistry(1)).toHaveLength(1);
      expect(await h.store.read.findZkRegistryKey('3', '4')).toMatchObject({ leafIndex: 1 });
      expect(await h.store.read.findZkRegistryKey('3', '5')).toBeUndefined();
    });

    it('never hands one leaf to two keys registered at once', async () => {
      const indexes = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          h.store.transaction((tx) => tx.registerZkKey(`x${i}`, `y${i}`, `w${i}`, T0)),
        ),
      );
      expect(new Set(indexes).size).toBe(8);
    });

    it('round-trips a proof record and lists the claimable ones', async () => {
      const exec = await seedOne(h.store);
      const record = proofRecord(exec.id);
      await h.store.transaction((tx) => tx.insertZkProof(record));
      expect(await h.store.read.getZkProof(exec.id)).toStrictEqual(record);
      expect(await h.store.read.getZkProof(exec.id, 2)).toBeUndefined();
      expect(await h.store.read.listZkProofsToProve(T0, 10)).toEqual([{ executionId: exec.id, revision: 1 }]);
    });

    it('lets one node claim a record; another takes it over only after the lease runs out', async () => {
      const exec = await seedOne(h.store);
      await h.store.transaction((tx) => tx.insertZkProof(proofRecord(exec.id)));
      const claim = (owner: string, now: number) =>
        h.store.transaction((tx) =>
          tx.updateZkProof(
            exec.id,
            1,
            { status: 'proving', leaseOwner: owner, leaseExpiresAt: now + 1000 },
            { claimableAt: now },
          ),
        );
      expect(await claim('a', T0)).toBe(true);
      expect(await claim('b', T0 + 500)).toBe(false);
      expect(await h.store.read.listZkProofsToProve(T0 + 500, 10)).toEqual([]);
      expect(await h.store.read.listZkProofsToProve(T0 + 1001, 10)).toEqual([{ executionId: exec.id, revision: 1 }]);
      expect(await claim('b', T0 + 1001)).toBe(true);
      // The first node's late progress is refused: the record is b's now.
      expect(
        await h.store.transaction((tx) =>
          tx.updateZkProof(exec.id, 1, { batchesDone: 1 }, { leaseOwner: 'a', status: ['proving'] }),
        ),
      ).toBe(false);
      const proof = {
        batch: 0,
        proof: {
          pi_a: ['1', '2', '1'],
          pi_b: [
            ['1', '2'],
            ['3', '4'],
            ['1', '0'],
          ],
          pi_c: ['5', '6', '1'],
          protocol: 'groth16' as const,
          curve: 'bn128' as const,
        },
        publicSignals: ['1'],
      };
      expect(
        await h.store.transaction((tx) =>
          tx.updateZkProof(
            exec.id,
            1,
            { status: 'completed', proofs: [proof], batchesDone: 1, leaseExpiresAt: undefined },
            { leaseOwner: 'b', status: ['proving'] },
          ),
        ),
      ).toBe(true);
      const done = await h.store.read.getZkProof(exec.id);
      expect(done).toMatchObject({ status: 'completed', batchesDone: 1, proofs: [proof], leaseOwner: 'b' });
      expect(done?.leaseExpiresAt).toBeUndefined();
      // A completed record is never claimable, however old its lease.
      expect(await claim('c', T0 + 10_000_000)).toBe(false);
    });

    it('keeps the first leaf signature of a job, and records its check once', async () => {
      const leaf = (jobId: string, s: string): ZkLeafRecord => ({
        jobId,
        executionId: 'e1',
        stepId: `step-${jobId}`,
        workerId: 'w1',
        keyX: '1',
        keyY: '2',
        r8x: '3',
        r8y: '4',
        s,
        status: 'unchecked',
        createdAt: T0,
      });
      expect(await h.store.transaction((tx) => tx.insertZkLeaf(leaf('j1', '5')))).toBe(true);
      expect(await h.store.transaction((tx) => tx.insertZkLeaf(leaf('j1', '6')))).toBe(false);
      expect(await h.store.transaction((tx) => tx.insertZkLeaf(leaf('j2', '7')))).toBe(true);
      expect(await h.store.transaction((tx) => tx.checkedZkLeaf('j1', 'valid', undefined, T0 + 1))).toBe(true);
      expect(await h.store.transaction((tx) => tx.checkedZkLeaf('j1', 'invalid', 'late', T0 + 2))).toBe(false);
      expect(await h.store.transaction((tx) => tx.checkedZkLeaf('j2', 'invalid', 'bad', T0 + 3))).toBe(true);
      const byJob = new Map((await h.store.read.listZkLeaves('e1')).map((l) => [l.jobId, l]));
      expect(byJob.get('j1')).toEqual({ ...leaf('j1', '5'), status: 'valid', checkedAt: T0 + 1 });
      expect(byJob.get('j2')).toEqual({ ...leaf('j2', '7'), status: 'invalid', problem: 'bad', checkedAt: T0 + 3 });
      expect(await h.store.read.listZkLeaves('e2')).toEqual([]);
    });
  });
}
