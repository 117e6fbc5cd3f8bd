import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import {
  bundleOf,
  clone,
  expectPassed,
  expectRejected,
  expectStoppedAtSignature,
  expectVerified,
  failedNames,
  flipHex,
  forgeReceipt,
  runExample,
  stepOf,
  verify,
} from './support.js';

/**
 * The receipt changed and RE-SIGNED by a key the verifier is told to trust (see forgeReceipt): the signature
 * passes, so the structural rules behind it must catch each change.
 */
describe('tampering with the receipt, re-signed by a trusted key', () => {
  let t: TestNode;
  let fixture: Bundle;
  let trusted: string;
  const forger = LocalSigner.generate();

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-tamper-resigned');
    trusted = t.node.coordinatorSigner.publicKeyPem;
    fixture = await bundleOf(t, await runExample(t, 'linear'));
  });
  afterAll(() => t?.close());

  const forge = (change: Parameters<typeof forgeReceipt>[3], options: Parameters<typeof forgeReceipt>[4] = {}) =>
    forgeReceipt(fixture, forger, trusted, change, options);

  it('the untampered fixture verifies at basic and full', async () => {
    expectVerified(await verify(fixture, [trusted], 'basic'));
    expectVerified(await verify(fixture, [trusted], 'full'));
  });

  describe('re-signed by a key the verifier trusts (the rules behind the signature)', () => {
    it('control: re-signing an unchanged receipt, with a log of its own, verifies (so each failure below is the change)', async () => {
      const { bundle, trusted: keys } = forge(() => undefined);
      expectVerified(await verify(bundle, keys, 'full'));
      const real = forge(() => undefined, { log: 'real' });
      expectVerified(await verify(real.bundle, real.trusted, 'full'));
    });

    it('status changed to failed: a failed execution has no result, so its result digest gives it away (and the real log does too)', async () => {
      const { bundle, trusted: keys } = forge((s) => void (s.predicate.status = 'failed'), { log: 'real' });
      const report = await verify(bundle, keys);
      expectRejected(report, {
        'receipt.result': /a failed execution names result digest [0-9a-f]{64}, not the digest of null/,
        'tlog.inclusion': /does not lead/,
      });
      expect(failedNames(report)).toEqual(['receipt.result', 'tlog.inclusion']);
    });

    it('totalCost changed: no longer the sum of the attested costs → costs (and the real log)', async () => {
      const { bundle, trusted: keys } = forge((s) => void (s.predicate.totalCost += 1), { log: 'real' });
      const report = await verify(bundle, keys, 'full');
      expectRejected(report, {
        costs: /totalCost is \d+, but the \d+ counted attestations cost \d+/,
        'tlog.inclusion': /does not lead/,
      });
      expect(failedNames(report)).toEqual(['costs', 'tlog.inclusion']);
    });

    it('resultDigest changed (subject kept) → receipt.subject', async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (s.predicate.resultDigest = flipHex(s.predicate.resultDigest)),
      );
      expectRejected(await verify(bundle, keys), { 'receipt.subject': /expected execution\/.*\/result/ });
    });

    it('subject digest changed (resultDigest kept) → receipt.subject', async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (s.subject[0]!.digest.sha256 = flipHex(s.subject[0]!.digest.sha256)),
      );
      expectRejected(await verify(bundle, keys), { 'receipt.subject': null });
    });

    it('subject name changed → receipt.subject', async () => {
      const { bundle, trusted: keys } = forge((s) => void (s.subject[0]!.name = 'execution/other/result'));
      expectRejected(await verify(bundle, keys), { 'receipt.subject': /execution\/other\/result/ });
    });

    it('resultDigest and subject changed together: basic passes, full re-derives the result → data.result', async () => {
      const { bundle, trusted: keys } = forge((s) => {
        s.predicate.resultDigest = flipHex(s.predicate.resultDigest);
        s.subject[0]!.digest.sha256 = s.predicate.resultDigest;
      });
      expectVerified(await verify(bundle, keys, 'basic'));
      expectRejected(await verify(bundle, keys, 'full'), { 'data.result': /receipt names/ });
    });

    it("a step's outputDigest changed → attestation.<id> (and data.step.<id> at full)", async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (stepOf(s, 'count').outputDigest = flipHex(stepOf(s, 'count').outputDigest!)),
      );
      expectRejected(await verify(bundle, keys), { 'attestation.count': /outputDigest/ });
      expectRejected(await verify(bundle, keys, 'full'), {
        'attestation.count': /outputDigest/,
        'data.step.count': /output hashes/,
      });
    });

    it("a step's inputDigest changed → attestation.<id>", async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (stepOf(s, 'count').inputDigest = flipHex(stepOf(s, 'count').inputDigest!)),
      );
      expectRejected(await verify(bundle, keys), { 'attestation.count': /inputDigest/ });
    });

    it("a step's jobId or attempt changed → attestation.<id>", async () => {
      const job = forge((s) => void (stepOf(s, 'count').jobId = 'another-job'));
      expectRejected(await verify(job.bundle, job.trusted), { 'attestation.count': /jobId/ });
      const attempt = forge((s) => void (stepOf(s, 'count').attempt = 2));
      expectRejected(await verify(attempt.bundle, attempt.trusted), { 'attestation.count': /attempt/ });
    });

    it('the workflow digest changed → every attestation (and data.workflow at full)', async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (s.predicate.workflow.digest = flipHex(s.predicate.workflow.digest)),
      );
      expectRejected(await verify(bundle, keys, 'full'), {
        'attestation.normalize': /workflowDigest/,
        'attestation.report': /workflowDigest/,
        'data.workflow': /receipt names/,
      });
    });

    it('a step removed (stepsRoot kept) → attestations and steps.root', async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (s.predicate.steps = s.predicate.steps.filter((x) => x.stepId !== 'tokenize')),
      );
      expectRejected(await verify(bundle, keys), {
        attestations: /\(5\) are not those the receipt commits to \(4\)/,
        'steps.root': /attestation digests give/,
      });
    });

    it('a step removed with stepsRoot recomputed → attestations (basic); steps.workflow (full)', async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (s.predicate.steps = s.predicate.steps.filter((x) => x.stepId !== 'tokenize')),
        { recomputeRoot: true },
      );
      const basic = await verify(bundle, keys);
      expectRejected(basic, { attestations: null });
      expectPassed(basic, ['steps.root']);
      expectRejected(await verify(bundle, keys, 'full'), { 'steps.workflow': /receipt lists \[normalize, count/ });
    });

    it('a step and its attestation removed, root recomputed: only the workflow (full) can tell → steps.workflow, data.steps', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          const index = s.predicate.steps.findIndex((x) => x.stepId === 'tokenize');
          s.predicate.steps.splice(index, 1);
          b.attestations.splice(index, 1);
        },
        { recomputeRoot: true },
      );
      expectVerified(await verify(bundle, keys, 'basic'));
      expectRejected(await verify(bundle, keys, 'full'), { 'steps.workflow': null, 'data.steps': /tokenize/ });
    });

    it('two steps swapped → attestations and steps.root', async () => {
      const { bundle, trusted: keys } = forge((s) => {
        const steps = s.predicate.steps;
        [steps[1], steps[2]] = [steps[2]!, steps[1]!];
      });
      expectRejected(await verify(bundle, keys), { attestations: /in its order/, 'steps.root': null });
    });

    it('two steps and their attestations swapped, root recomputed → steps.workflow (full)', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          const steps = s.predicate.steps;
          [steps[1], steps[2]] = [steps[2]!, steps[1]!];
          [b.attestations[1], b.attestations[2]] = [b.attestations[2]!, b.attestations[1]!];
        },
        { recomputeRoot: true },
      );
      expectVerified(await verify(bundle, keys, 'basic'));
      expectRejected(await verify(bundle, keys, 'full'), {
        'steps.workflow': /receipt lists \[normalize, count, tokenize/,
      });
    });

    it('an attestationDigest changed → attestations, attestation.<id> and steps.root', async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (stepOf(s, 'score').attestationDigest = flipHex(stepOf(s, 'score').attestationDigest!)),
      );
      expectRejected(await verify(bundle, keys), {
        attestations: null,
        'attestation.score': /no attestation with digest/,
        'steps.root': null,
      });
    });

    it('an attestationDigest changed with the root recomputed → attestations and attestation.<id>', async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (stepOf(s, 'score').attestationDigest = flipHex(stepOf(s, 'score').attestationDigest!)),
        { recomputeRoot: true },
      );
      const report = await verify(bundle, keys);
      expectRejected(report, { attestations: null, 'attestation.score': /no attestation with digest/ });
      expectPassed(report, ['steps.root']);
    });

    it('stepsRoot changed → steps.root', async () => {
      const { bundle, trusted: keys } = forge((s) => void (s.predicate.stepsRoot = flipHex(s.predicate.stepsRoot)));
      const report = await verify(bundle, keys);
      expectRejected(report, { 'steps.root': /stepsRoot is/ });
      expectPassed(report, ['attestations', 'attestation.score']);
    });

    it('a workerKeyId changed to a key the bundle lacks → attestation.<id>', async () => {
      const other = LocalSigner.generate();
      const { bundle, trusted: keys } = forge((s) => void (stepOf(s, 'score').workerKeyId = other.keyId));
      expectRejected(await verify(bundle, keys), { 'attestation.score': /has no key/ });
    });

    it("a workerKeyId changed to a key the bundle lists (the coordinator's) → attestation.<id>", async () => {
      const { bundle, trusted: keys } = forge((s) => void (stepOf(s, 'score').workerKeyId = forger.keyId));
      expectRejected(await verify(bundle, keys), { 'attestation.score': /signed by keyid .*, expected/ });
    });

    it('every workerKeyId changed → keys (the worker key is no longer used) and attestation.<id>', async () => {
      const other = LocalSigner.generate();
      const { bundle, trusted: keys } = forge((s) => s.predicate.steps.forEach((x) => (x.workerKeyId = other.keyId)));
      expectRejected(await verify(bundle, keys), {
        keys: /not used by this receipt/,
        'attestation.normalize': /has no key/,
      });
    });

    it('a completed step with a null attestationDigest → receipt.steps', async () => {
      const { bundle, trusted: keys } = forge((s) => void (stepOf(s, 'score').attestationDigest = null));
      expectRejected(await verify(bundle, keys), { 'receipt.steps': /completed step score lacks/ });
    });

    it('a skipped step that claims an attestation → receipt.steps', async () => {
      const { bundle, trusted: keys } = forge((s) => void (stepOf(s, 'score').status = 'skipped'));
      expectRejected(await verify(bundle, keys), { 'receipt.steps': /skipped step score claims/ });
    });

    it('a completed execution with a failed step → receipt.steps', async () => {
      const { bundle, trusted: keys } = forge((s) => {
        const step = stepOf(s, 'report');
        Object.assign(step, { status: 'failed', outputDigest: null, attestationDigest: null });
      });
      expectRejected(await verify(bundle, keys), {
        'receipt.steps': /completed execution has steps that did not complete: report=failed/,
      });
    });

    it('a duplicated step (with its attestation duplicated and the root recomputed) → receipt.steps', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          s.predicate.steps.splice(2, 0, clone(s.predicate.steps[1]!));
          b.attestations.splice(2, 0, clone(b.attestations[1]!));
        },
        { recomputeRoot: true },
      );
      const report = await verify(bundle, keys);
      expectRejected(report, { 'receipt.steps': /step tokenize appears twice/ });
      expectPassed(report, ['attestations', 'steps.root']);
    });

    it('a receipt signed by the forger is rejected when the forger is not trusted (the same bundle as the control)', async () => {
      const { bundle } = forge(() => undefined);
      expectStoppedAtSignature(await verify(bundle, [trusted]), /not a trusted coordinator key/);
    });
  });
});
