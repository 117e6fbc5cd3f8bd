import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { hex, newId, seed, T0, useStore } from './fixtures.js';

/** What the per-principal quotas read from the store: bytes a principal uploaded, executions a client has running. */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store: quota counts (${kind})`, () => {
    const h = useStore(kind, 'quotas');

    it('counts the bytes a principal uploaded, each digest once, apart from other principals', async () => {
      const { store } = h;
      expect(await store.read.blobBytesUploaded('alice')).toBe(0);
      const big = { digest: `sha256:${hex('big')}`, size: 6 * 1024 ** 3 };
      const small = { digest: `sha256:${hex('small')}`, size: 100 };
      const firsts = await store.transaction(async (tx) => [
        await tx.recordBlobUpload('alice', big, T0),
        await tx.recordBlobUpload('alice', small, T0),
        await tx.recordBlobUpload('alice', big, T0 + 1),
        await tx.recordBlobUpload('bob', small, T0),
      ]);
      expect(firsts).toEqual([true, true, false, true]);
      // Past 2^32: sums of sizes stay exact numbers on both databases.
      expect(await store.read.blobBytesUploaded('alice')).toBe(6 * 1024 ** 3 + 100);
      expect(await store.read.blobBytesUploaded('bob')).toBe(100);
      // A transaction that rolls back counts nothing.
      await expect(
        store.transaction(async (tx) => {
          await tx.recordBlobUpload('carol', small, T0);
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await store.read.blobBytesUploaded('carol')).toBe(0);
    });

    it("counts a client's running executions, no further than asked", async () => {
      const { store } = h;
      await seed(
        store,
        ...Array.from({ length: 5 }, () => ({ id: newId(), clientId: 'alice', status: 'running' as const })),
        { id: newId(), clientId: 'alice', status: 'completed' },
        { id: newId(), clientId: 'alice', status: 'cancelled' },
        { id: newId(), clientId: 'bob', status: 'running' },
      );
      expect(await store.read.countRunningExecutions('alice', 100)).toBe(5);
      expect(await store.read.countRunningExecutions('alice', 3)).toBe(3);
      expect(await store.read.countRunningExecutions('bob', 100)).toBe(1);
      expect(await store.read.countRunningExecutions('nobody', 100)).toBe(0);
    });
  });
}
