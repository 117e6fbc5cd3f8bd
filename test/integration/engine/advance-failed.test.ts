import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, sleepStep, transform, useTestNode } from '../../support/node.js';

/**
 * An execution whose next decision keeps failing for a reason that will not pass is failed with
 * `advance_failed` and a message that says why, instead of being retried at every sweep forever (a publisher's
 * expression must never leave an execution spinning, and no restart tries it again). Here the reason is
 * real, not injected: the blob holding a completed step's large output disappears from disk before the
 * step that reads it can be decided.
 */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`an advance that keeps failing (${kind})`, () => {
    // The sweeper looks again every 300 ms rather than 5 s: three failed looks take a second, not fifteen.
    const t = useTestNode(kind, 'advance-failed', { decisionSweepMs: 300 });

    it('fails the execution with advance_failed once its decision has failed a few times in a row', async () => {
      const execution = await t.start({
        id: 'lost-output',
        steps: [
          // Over 256 KiB of output: the worker stores it as a blob and the result names the blob.
          transform('big', "{ 'text': $pad('', 400000, 'y') }"),
          // Long enough that big's blob is gone before reader, which waits for gate too, is decided.
          sleepStep('gate', 2_000),
          // An expression (not a plain path) reads big's output, so deciding it reads the blob.
          echo('reader', { depends_on: ['big', 'gate'], input_mappings: { n: '$length(big.output.text)' } }),
        ],
      });
      let ref: { $blob: string } | undefined;
      const deadline = Date.now() + 30_000;
      while (ref === undefined && Date.now() < deadline) {
        const [result] = await t.node.store.read.getStepResults(execution.id, ['big']);
        if (result) ref = result.output as { $blob: string };
        else await new Promise((r) => setTimeout(r, 20));
      }
      expect(ref?.$blob).toMatch(/^sha256:[0-9a-f]{64}$/);
      const hex = ref!.$blob.slice('sha256:'.length);
      rmSync(join(t.backend.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex));

      await t.node.waitFor(execution.id, 100);
      const view = await t.view(execution.id);
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({
        code: 'advance_failed',
        message: expect.stringContaining('could not advance') as unknown,
      });
      expect(view.steps.find((s) => s.id === 'reader')?.status).not.toBe('running');
      // The node goes on running other executions.
      expect((await t.run({ id: 'after', steps: [echo('a')] })).status).toBe('completed');
    }, 90_000);
  });
}
