import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { seedOne, sleep, useBackend } from './fixtures.js';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`two stores on one database in one process (${kind})`, () => {
    const h = useBackend(kind, 'two-stores');

    it('interleave their write transactions without deadlock or lost updates', async () => {
      const a = await h.open();
      const b = await h.open();
      const exec = await seedOne(a, { spent: 0 });
      // Each transaction holds the write lock across an await: on SQLite, a second store that blocked in
      // BEGIN IMMEDIATE would freeze the event loop the first one needs to commit.
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).transaction(async (tx) => {
            const locked = await tx.lockExecution(exec.id);
            await sleep(5);
            await tx.updateExecution(exec.id, { spent: locked!.spent + 1 });
          }),
        ),
      );
      expect((await b.read.getExecution(exec.id))!.spent).toBe(10);
    });
  });
}
