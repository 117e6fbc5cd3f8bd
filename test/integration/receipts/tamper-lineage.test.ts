import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { jsonDigest } from '../../../src/attest/digest.js';
import { stepStatement } from '../../../src/attest/statement.js';
import { LocalSigner, loadSigner } from '../../../src/keys/local-signer.js';
import { ManualWorker } from '../../support/manual-worker.js';
import { echo, startTestNode, transform } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import {
  attestationDigestOf,
  attestationIndex,
  attestationOf,
  bundleOf,
  expectPassed,
  expectRejected,
  expectVerified,
  forgeReceipt,
  resign,
  runExample,
  stepOf,
  verify,
} from './support.js';

const shouting = {
  id: 'shouting',
  steps: [
    transform('upper', '$uppercase(text)', { input_mappings: { text: 'inputs.text' } }),
    echo('shout', { input_mappings: { text: 'steps.upper.output' } }),
  ],
};

/**
 * Forgeries that keep every digest consistent and every signature valid: a worker that lies about a
 * deterministic output (the coordinator cannot know), and bundles whose data disagree with the workflow,
 * signed by a worker key and a coordinator key the verifier trusts. Only the replay at level full can tell.
 */
describe('signed forgeries that only the full level catches', () => {
  let t: TestNode;
  let manual: TestNode;
  let worker: ManualWorker;
  let lied: Bundle;
  let honest: Bundle;
  let conditional: Bundle;
  const forger = LocalSigner.generate();

  /** Plays the worker for one execution: `upper` returns `upperOutput(text)`, `shout` echoes. */
  async function drive(upperOutput: (text: string) => string): Promise<Bundle> {
    const execution = await manual.start(shouting, { text: 'hello, world' });
    for (let i = 0; i < 1000 && (await manual.view(execution.id)).status === 'running'; i++) {
      const job = await manual.node.coordinator.claim(worker.id, worker.capabilities, { start: true });
      if (!job) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const output = job.stepId === 'upper' ? upperOutput((job.input as { text: string }).text) : job.input;
      expect(await worker.complete(job, output)).toEqual({ accepted: true });
    }
    expect((await manual.view(execution.id)).status).toBe('completed');
    return bundleOf(manual, execution.id);
  }

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-lineage');
    conditional = await bundleOf(t, await runExample(t, 'conditional'));
    manual = await startTestNode('sqlite', 'receipts-lineage-manual', { workers: 0 });
    worker = await new ManualWorker(manual.node.coordinator, {
      stepTypes: ['data_processing'],
      models: ['builtin/echo'],
    }).register();
    lied = await drive(() => 'hello, world');
    honest = await drive((text) => text.toUpperCase());
  });
  afterAll(async () => {
    await manual?.close();
    await t?.close();
  });

  it('the honest run verifies at full; its upper step was re-run', async () => {
    const report = await verify(honest, [manual.node.coordinatorSigner.publicKeyPem], 'full');
    expectVerified(report);
    expect(report.checks.find((c) => c.name === 'rerun.upper')).toMatchObject({ ok: true });
    expect(honest.data!.steps.upper!.output).toBe('HELLO, WORLD');
  });

  it('a worker that attests a wrong output for a deterministic step: basic passes, full fails with rerun.<id>', async () => {
    const trusted = [manual.node.coordinatorSigner.publicKeyPem];
    expect(lied.keys.find((k) => k.role === 'worker')?.keyid).toBe(worker.signer.keyId);
    expectVerified(await verify(lied, trusted, 'basic'));
    const report = await verify(lied, trusted, 'full');
    expectRejected(report, {
      'rerun.upper': /re-running the transform gives an output hashing to [0-9a-f]{64}, attested/,
    });
    // Everything else about the lie is consistent: the digests, and the downstream step's lineage.
    expectPassed(report, ['attestation.upper', 'data.step.upper', 'lineage.upper', 'lineage.shout', 'data.result']);
  });

  it("a step's input replaced in the data, re-attested by its worker and re-committed by a trusted receipt → lineage.<id>", async () => {
    const forgedInput = { text: 'SOMETHING ELSE' };
    const { bundle, trusted } = forgeReceipt(
      honest,
      forger,
      manual.node.coordinatorSigner.publicKeyPem,
      (s, b) => {
        const index = attestationIndex(b, 'shout');
        const predicate = { ...attestationOf(b.attestations[index]!).predicate, inputDigest: jsonDigest(forgedInput) };
        b.attestations[index] = resign(b.attestations[index]!.payloadType, stepStatement(predicate), worker.signer);
        b.data!.steps.shout!.input = forgedInput;
        Object.assign(stepOf(s, 'shout'), {
          inputDigest: predicate.inputDigest,
          attestationDigest: attestationDigestOf(b.attestations[index]),
        });
      },
      { recomputeRoot: true },
    );
    expectVerified(await verify(bundle, trusted, 'basic'));
    const report = await verify(bundle, trusted, 'full');
    expectRejected(report, {
      'lineage.shout': /its input mappings give an input hashing to [0-9a-f]{64}, but the attested input digest is/,
    });
    expectPassed(report, ['attestation.shout', 'data.step.shout', 'rerun.upper', 'data.result']);
  });

  it('a step that ran, marked skipped (attestation and data dropped, root recomputed) → condition.<id>', async () => {
    const { bundle, trusted } = forgeReceipt(
      conditional,
      forger,
      t.node.coordinatorSigner.publicKeyPem,
      (s, b) => {
        // A consistent forgery: the dropped attestation's cost leaves totalCost with it.
        s.predicate.totalCost -= stepOf(s, 'manual_review').cost ?? 0;
        Object.assign(stepOf(s, 'manual_review'), {
          status: 'skipped',
          outputDigest: null,
          attestationDigest: null,
          workerKeyId: null,
          cost: null,
          principal: null,
        });
        b.attestations.splice(attestationIndex(b, 'manual_review'), 1);
        delete b.data!.steps.manual_review;
      },
      { recomputeRoot: true },
    );
    expectVerified(await verify(bundle, trusted, 'basic'));
    expectRejected(await verify(bundle, trusted, 'full'), {
      'condition.manual_review': /the step is skipped, but its when condition is true/,
      'condition.notify_reviewer': /the step is completed, but its dependency manual_review was skipped/,
    });
  });

  it('a step that was skipped, marked completed with a worker-signed attestation → condition.<id>', async () => {
    const workerSigner = loadSigner(join(t.backend.dataDir, 'keys', 'worker.key'));
    const input = { amount: 1250 };
    const output = 'approved automatically: 1250';
    const { bundle, trusted } = forgeReceipt(
      conditional,
      forger,
      t.node.coordinatorSigner.publicKeyPem,
      (s, b) => {
        const template = attestationOf(b.attestations[attestationIndex(b, 'classify')]!).predicate;
        const predicate = {
          ...template,
          stepId: 'fast_approve',
          jobId: 'forged-job',
          inputDigest: jsonDigest(input),
          outputDigest: jsonDigest(output),
        };
        const envelope = resign(b.attestations[0]!.payloadType, stepStatement(predicate), workerSigner);
        b.attestations.splice(attestationIndex(b, 'summary'), 0, envelope);
        b.data!.steps.fast_approve = { input, output };
        Object.assign(stepOf(s, 'fast_approve'), {
          status: 'completed',
          attempt: 1,
          jobId: 'forged-job',
          inputDigest: predicate.inputDigest,
          outputDigest: predicate.outputDigest,
          attestationDigest: attestationDigestOf(envelope),
          workerKeyId: workerSigner.keyId,
          cost: predicate.cost,
          principal: stepOf(s, 'classify').principal,
        });
        s.predicate.totalCost += predicate.cost;
      },
      { recomputeRoot: true },
    );
    expectVerified(await verify(bundle, trusted, 'basic'));
    const report = await verify(bundle, trusted, 'full');
    expectRejected(report, { 'condition.fast_approve': /the step is completed, but its when condition is false/ });
    expectPassed(report, [
      'data.step.fast_approve',
      'lineage.fast_approve',
      'rerun.fast_approve',
      'attestation.fast_approve',
    ]);
  });
});
