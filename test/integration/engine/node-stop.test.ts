import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, startTestNode } from '../../support/node.js';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`stopping a node (${kind})`, () => {
    it('stops once however many times it is asked: a signal handler and a finally block may both call stop', async () => {
      const t = await startTestNode(kind, 'node-stop');
      try {
        const view = await t.run({ id: 'before-stop', steps: [echo('a')] }, { n: 1 });
        expect(view.status).toBe('completed');
        // Before: the second call closed the store's pools again, and node-postgres threw.
        await Promise.all([t.node.stop(), t.node.stop()]);
        await expect(t.node.stop()).resolves.toBeUndefined();
      } finally {
        await t.close();
      }
    });
  });
}
