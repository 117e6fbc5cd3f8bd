import { afterAll, describe, expect, it } from 'vitest';
import { STEP_PREDICATE_TYPE, readStatement, stepPredicateSchema } from '../../../src/attest/statement.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { VerityNode } from '../../../src/node/verity-node.js';
import type { NodeOptions } from '../../../src/node/verity-node.js';
import { validateWorkflow } from '../../../src/workflow/validate.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { BACKENDS, backendAvailable, createBackend } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';
import { rawQuery } from '../store/fixtures.js';
import { example } from '../receipts/support.js';

/*
 * At level zk a result is accepted on its Ed25519 attestation; the worker's Baby Jubjub leaf signature
 * comes after it and is checked off the step path. What is checked is stored, so a node that dies before a
 * check checks it when it comes back (here: rows put back to unchecked, as a crash would leave them), and a
 * leaf signature that does not verify fails the proof with a recorded reason instead of being proven.
 */
const backends: BackendFixture[] = [];
afterAll(async () => {
  await Promise.all(backends.map((b) => b.cleanup()));
  await releaseCurveWorkers();
});

const until = async (what: () => Promise<boolean>, tries = 1200): Promise<void> => {
  for (let i = 0; i < tries && !(await what()); i++) await new Promise((r) => setTimeout(r, 50));
};

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`zk leaf signatures (${kind})`, () => {
    it(
      'are checked off the step path, again after a crash, and a bad one fails the proof with its reason',
      async () => {
        const zk = await ensureTestZkArtifacts();
        const backend = await createBackend(kind, 'zk-leaves');
        backends.push(backend);
        const options: Partial<NodeOptions> = {
          dataDir: backend.dataDir,
          databaseUrl: backend.databaseUrl,
          zkDir: zk.zkDir,
          zkConfig: zk.config,
          sweepIntervalMs: 50,
          pollMs: 100,
        };
        // No provers: the leaves are recorded and checked, the proofs wait for the next node.
        const first = await VerityNode.open({ ...options, provers: 0 });
        await first.start();
        const validated = validateWorkflow(example('private-report').definition);
        if (!validated.ok) throw new Error('invalid example');
        const workflow = await first.engine.registerWorkflow(validated.definition, validated.digest);
        const start = (inputs: unknown) => first.engine.start({ workflow, inputs, clientId: 'test' });
        const good = await start(example('private-report').input);
        const bad = await start({ title: 'Other', text: 'a different text entirely, with other words' });
        await first.waitFor(good.id);
        await first.waitFor(bad.id);
        const allChecked = async (id: string) => {
          const leaves = await first.store.read.listZkLeaves(id);
          return leaves.length === 5 && leaves.every((l) => l.status !== 'unchecked');
        };
        await until(async () => (await allChecked(good.id)) && (await allChecked(bad.id)));
        for (const id of [good.id, bad.id]) {
          expect((await first.store.read.listZkLeaves(id)).map((l) => l.status)).toEqual(Array(5).fill('valid'));
          // The results were accepted on their Ed25519 attestations alone: no leaf signature inside.
          for (const result of await first.store.read.getStepResults(id))
            expect(readStatement(result.attestation!, STEP_PREDICATE_TYPE, stepPredicateSchema).predicate.zk).toBe(
              undefined,
            );
          expect(await first.store.read.getZkProof(id)).toMatchObject({ status: 'pending' });
        }
        const [victim] = await first.store.read.getStepResults(bad.id);
        await first.stop(1000);

        // What a crash between accepting the results and checking their leaves leaves behind: unchecked
        // rows. In `bad`, one of them also carries a signature that does not verify.
        await rawQuery(backend, "UPDATE zk_leaves SET status = 'unchecked', checked_at = NULL");
        await rawQuery(backend, "UPDATE zk_leaves SET s = '12345' WHERE job_id = ?", [victim!.jobId]);

        const second = await VerityNode.open({ ...options, provers: 1 });
        try {
          await second.start();
          const settled = async (id: string) =>
            ['completed', 'failed'].includes((await second.store.read.getZkProof(id))?.status ?? '');
          await until(async () => (await settled(good.id)) && (await settled(bad.id)), 6000);

          // The good execution's leaves were checked after the restart, and its proofs made and verified.
          expect((await second.store.read.listZkLeaves(good.id)).map((l) => l.status)).toEqual(Array(5).fill('valid'));
          expect(await second.store.read.getZkProof(good.id)).toMatchObject({ status: 'completed', batchesDone: 5 });
          const bundle = JSON.parse(JSON.stringify(await second.bundle(good.id, { zkOnly: true }))) as unknown;
          const report = await verifyBundle(bundle, {
            trustedKeys: [second.coordinatorSigner.publicKeyPem],
            level: 'zk',
          });
          expect(report.checks.filter((c) => !c.ok)).toEqual([]);

          // The tampered one: nothing proven, the reason recorded on the proof, the leaf and in the history.
          const reason = `step ${victim!.stepId}: the Baby Jubjub signature does not verify over the step leaf`;
          const failed = await second.store.read.getZkProof(bad.id);
          expect(failed).toMatchObject({ status: 'failed', batchesDone: 0, proofs: [] });
          expect(failed!.error).toEqual({ code: 'invalid_signature', message: reason });
          const leaf = (await second.store.read.listZkLeaves(bad.id)).find((l) => l.jobId === victim!.jobId);
          expect(leaf).toMatchObject({ status: 'invalid', problem: reason });
          const events = await second.store.read.listEvents(bad.id, 0, 1000);
          expect(events.find((e) => e.type === 'zk.leaf_invalid')).toMatchObject({ stepId: victim!.stepId });
          expect(events.find((e) => e.type === 'zk.failed')?.data).toMatchObject({ error: { message: reason } });
          await expect(second.bundle(bad.id, { zkOnly: true })).rejects.toThrow();
        } finally {
          await second.stop(1000);
        }
      },
      30 * 60_000,
    );
  });
}
