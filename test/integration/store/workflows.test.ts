import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { T0, definition, useStore, workflow } from './fixtures.js';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store workflows (${kind})`, () => {
    const h = useStore(kind, 'workflows');

    it('getWorkflow round-trips the definition exactly', async () => {
      const wf = workflow();
      await h.store.transaction((tx) => tx.putWorkflow(wf));
      const got = await h.store.read.getWorkflow(wf.digest);
      expect(got).toStrictEqual(wf);
      expect(got?.definition).toStrictEqual(definition());
      expect(await h.store.read.getWorkflow('0'.repeat(64))).toBeUndefined();
    });

    it('putWorkflow is idempotent by digest: a second put keeps the first', async () => {
      const wf = workflow();
      await h.store.transaction((tx) => tx.putWorkflow(wf));
      await h.store.transaction((tx) => tx.putWorkflow({ ...wf, name: 'renamed', createdAt: T0 + 1 }));
      expect(await h.store.read.getWorkflow(wf.digest)).toStrictEqual(wf);
      expect(await h.store.read.listWorkflows()).toHaveLength(1);
    });

    it('listWorkflows filters by workflow id, in version order', async () => {
      const a2 = workflow({ definition: definition('alpha', 2) });
      const a1 = workflow({ definition: definition('alpha', 1) });
      const b1 = workflow({ definition: definition('beta', 1) });
      await h.store.transaction(async (tx) => {
        for (const wf of [a2, b1, a1]) await tx.putWorkflow(wf);
      });
      expect(await h.store.read.listWorkflows('alpha')).toStrictEqual([a1, a2]);
      expect(await h.store.read.listWorkflows('beta')).toStrictEqual([b1]);
      expect(await h.store.read.listWorkflows('gamma')).toStrictEqual([]);
      expect((await h.store.read.listWorkflows()).map((w) => w.digest)).toEqual([a1.digest, a2.digest, b1.digest]);
    });
  });
}
