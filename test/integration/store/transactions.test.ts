import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { execution, newId, seedOne, sleep, useStore, workflow } from './fixtures.js';

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

    it('a transaction returns what its function returns, and a failed one leaves the store usable', async () => {
      const exec = await seedOne(h.store);
      await expect(h.store.transaction(() => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
      expect(await h.store.transaction(async (tx) => (await tx.getExecution(exec.id))?.id)).toBe(exec.id);
    });
  });
}
