import { afterAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { VerityNode } from '../../../src/node/verity-node.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { BACKENDS, backendAvailable, createBackend } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';
import { example } from '../receipts/support.js';
import { validateWorkflow } from '../../../src/workflow/validate.js';

/*
 * A node that stops while proving hands the receipt back with the batches it finished; the next node on
 * the store proves only the rest, and the proofs verify as one.
 */
const backends: BackendFixture[] = [];
afterAll(async () => {
  await Promise.all(backends.map((b) => b.cleanup()));
  await releaseCurveWorkers();
});

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`proving across nodes (${kind})`, () => {
    it(
      'a node stopped mid-proof hands the work back; another finishes it without redoing finished batches',
      async () => {
        const zk = await ensureTestZkArtifacts();
        const backend = await createBackend(kind, 'zk-resume');
        backends.push(backend);
        const options = {
          dataDir: backend.dataDir,
          databaseUrl: backend.databaseUrl,
          zkDir: zk.zkDir,
          zkConfig: zk.config,
          provers: 1,
          sweepIntervalMs: 50,
          pollMs: 100,
        };
        const first = await VerityNode.open(options);
        await first.start();
        const validated = validateWorkflow(example('private-report').definition);
        if (!validated.ok) throw new Error('invalid example');
        const workflow = await first.engine.registerWorkflow(validated.definition, validated.digest);
        const execution = await first.engine.start({
          workflow,
          inputs: example('private-report').input,
          clientId: 'test',
        });
        await first.waitFor(execution.id);
        for (let i = 0; i < 600 && ((await first.store.read.getZkProof(execution.id))?.batchesDone ?? 0) < 1; i++)
          await new Promise((r) => setTimeout(r, 50));
        await first.stop(1000);

        const second = await VerityNode.open(options);
        try {
          const handedBack = await second.store.read.getZkProof(execution.id);
          expect(handedBack).toMatchObject({ status: 'pending' });
          expect(handedBack!.leaseOwner).toBeUndefined();
          const kept = handedBack!.batchesDone;
          expect(kept).toBeGreaterThanOrEqual(1);
          expect(kept).toBeLessThan(5);
          await second.start();
          for (let i = 0; i < 1200 && (await second.store.read.getZkProof(execution.id))?.status !== 'completed'; i++)
            await new Promise((r) => setTimeout(r, 50));
          const events = await second.store.read.listEvents(execution.id, 0, 1000);
          expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['zk.released', 'zk.proved']));
          const proved = events.filter((e) => e.type === 'zk.proved');
          expect(proved).toHaveLength(1);
          // Only the batches not finished before the stop were proven again.
          expect((proved[0]!.data as { batchMs: number[] }).batchMs).toHaveLength(5 - kept);
          const bundle = await second.bundle(execution.id, { zkOnly: true });
          const report = await verifyBundle(JSON.parse(JSON.stringify(bundle)), {
            trustedKeys: [second.coordinatorSigner.publicKeyPem],
            level: 'zk',
          });
          expect(report.checks.filter((c) => !c.ok)).toEqual([]);
          expect(report.ok).toBe(true);
        } finally {
          await second.stop(1000);
        }
      },
      30 * 60_000,
    );
  });
}
