import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { execution, newId, seedOne, sleep, step, useStore, workflow } from './fixtures.js';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store transactions (${kind})`, () => {
    const h = useStore(kind, 'transactions');

    it('transactions that lock one execution serialize: concurrent read-modify-writes lose nothing', async () => {
      const exec = await seedOne(h.store, { spent: 0 });
      const observed: number[] = [];
      await Promise.all(
        Array.from({ length: 10 }, () =>
          h.store.transaction(async (tx) => {
            const locked = await tx.lockExecution(exec.id);
            observed.push(locked!.spent);
            // Give a concurrent transaction every chance to read the same value, were it not locked out.
            await sleep(5);
            await tx.updateExecution(exec.id, { spent: locked!.spent + 1 });
          }),
        ),
      );
      expect((await h.store.read.getExecution(exec.id))?.spent).toBe(10);
      // Each transaction saw the committed result of the one before it.
      expect([...observed].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    });

    it('lockExecution returns the current row, or undefined for an unknown id', async () => {
      const exec = await seedOne(h.store);
      await h.store.transaction(async (tx) => {
        expect(await tx.lockExecution(exec.id)).toStrictEqual(exec);
        expect(await tx.lockExecution(newId())).toBeUndefined();
      });
    });

    it('reads outside a transaction see committed state only', async () => {
      const wf = workflow();
      const exec = execution(wf);
      await h.store.transaction(async (tx) => {
        await tx.putWorkflow(wf);
        await tx.insertExecution(exec);
        expect(await tx.getExecution(exec.id)).toStrictEqual(exec);
        expect(await h.store.read.getExecution(exec.id)).toBeUndefined();
      });
      expect(await h.store.read.getExecution(exec.id)).toStrictEqual(exec);
    });

    // Writes that return nothing are sent without waiting for their answer (PostgreSQL pipelines them): a
    // failed one must still fail its transaction, with its own error, and keep none of its writes.
    describe('writes sent without waiting', () => {
      it('a failed write fails the transaction at its next read, with its own error, and keeps nothing', async () => {
        const exec = await seedOne(h.store, { spent: 0 });
        let readAfter = false;
        await expect(
          h.store.transaction(async (tx) => {
            await tx.updateExecution(exec.id, { spent: 7 });
            await tx.insertExecution({ ...exec }); // the same id: a unique key taken
            await tx.getExecution(exec.id);
            readAfter = true;
          }),
        ).rejects.toMatchObject({ code: 'conflict' });
        expect(readAfter).toBe(false);
        expect((await h.store.read.getExecution(exec.id))?.spent).toBe(0);
      });

      it('a failed last write fails the commit instead of rolling back in silence', async () => {
        const exec = await seedOne(h.store, { spent: 0 });
        await expect(
          h.store.transaction(async (tx) => {
            await tx.updateExecution(exec.id, { spent: 7 });
            await tx.insertExecution({ ...exec });
            return 'committed';
          }),
        ).rejects.toMatchObject({ code: 'conflict' });
        expect((await h.store.read.getExecution(exec.id))?.spent).toBe(0);
      });

      it('a write sent and not yet answered is seen by the reads after it in its transaction', async () => {
        const exec = await seedOne(h.store, { spent: 0 });
        const seen = await h.store.transaction(async (tx) => {
          await tx.insertSteps([step(exec.id, 'a')]);
          await tx.updateExecution(exec.id, { spent: 3 });
          await tx.updateStep(exec.id, 'a', { cost: 5 });
          return { spent: (await tx.getExecution(exec.id))?.spent, cost: (await tx.getStep(exec.id, 'a'))?.cost };
        });
        expect(seen).toEqual({ spent: 3, cost: 5 });
      });

      it('a function that throws with writes in flight rolls them back, and every connection stays usable', async () => {
        const exec = await seedOne(h.store, { spent: 0 });
        const failures = await Promise.allSettled(
          Array.from({ length: 12 }, (_, i) =>
            h.store.transaction(async (tx) => {
              await tx.updateExecution(exec.id, { spent: 100 + i });
              if (i % 2 === 0) await tx.insertExecution({ ...exec });
              throw new Error(`stop ${i}`);
            }),
          ),
        );
        expect(failures.every((f) => f.status === 'rejected')).toBe(true);
        expect((await h.store.read.getExecution(exec.id))?.spent).toBe(0);
        // More transactions than the pool has connections: each one that failed was returned clean.
        const spent = await Promise.all(
          Array.from({ length: 12 }, () =>
            h.store.transaction(async (tx) => {
              const locked = await tx.lockExecution(exec.id);
              await tx.updateExecution(exec.id, { spent: locked!.spent + 1 });
              return locked!.spent;
            }),
          ),
        );
        expect([...spent].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      });
    });

    it('a transaction returns what its function returns, and a failed one leaves the store usable', async () => {
      const exec = await seedOne(h.store);
      await expect(h.store.transaction(() => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
      expect(await h.store.transaction(async (tx) => (await tx.getExecution(exec.id))?.id)).toBe(exec.id);
    });
  });
}
