import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import {
  attestationDigestOf,
  attestationIndex,
  attestationOf,
  bundleOf,
  clone,
  encode,
  expectPassed,
  expectRejected,
  expectVerified,
  flipBase64Byte,
  flipHex,
  forgeReceipt,
  resign,
  runExample,
  stepOf,
  verify,
} from './support.js';

/** The step attestations and the keys that signed them. */
describe('tampering with the attestations and keys', () => {
  let t: TestNode;
  let fixture: Bundle;
  /** A bundle of another execution of the same workflow. */
  let other: Bundle;
  let trusted: string;

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-tamper-attestations');
    trusted = t.node.coordinatorSigner.publicKeyPem;
    fixture = await bundleOf(t, await runExample(t, 'linear'));
    other = await bundleOf(t, await runExample(t, 'linear'));
  });
  afterAll(() => t?.close());

  const tampered = (change: (bundle: Bundle) => void): Bundle => {
    const bundle = clone(fixture);
    change(bundle);
    return bundle;
  };
  const workerKey = (bundle: Bundle) => bundle.keys.find((k) => k.role === 'worker')!;
  const count = (bundle: Bundle) => bundle.attestations[attestationIndex(bundle, 'count')]!;

  it('the untampered fixtures verify, and the two executions differ', async () => {
    expectVerified(await verify(fixture, [trusted], 'full'));
    expectVerified(await verify(other, [trusted], 'full'));
    expect(attestationOf(count(other)).predicate.executionId).not.toBe(
      attestationOf(count(fixture)).predicate.executionId,
    );
  });

  describe('the list of attestations', () => {
    it('one removed → attestations, attestation.<id>', async () => {
      const bundle = tampered((b) => b.attestations.splice(attestationIndex(b, 'count'), 1));
      expectRejected(await verify(bundle, [trusted]), {
        attestations: /\(4\) are not those the receipt commits to \(5\)/,
        'attestation.count': /no attestation with digest/,
      });
    });

    it('one duplicated → attestations', async () => {
      const bundle = tampered((b) => b.attestations.push(clone(b.attestations[0]!)));
      const report = await verify(bundle, [trusted]);
      expectRejected(report, { attestations: /\(6\) are not those the receipt commits to \(5\)/ });
      expectPassed(report, ['attestation.normalize', 'steps.root']);
    });

    it('two reordered → attestations', async () => {
      const bundle = tampered(
        (b) => ([b.attestations[0], b.attestations[3]] = [b.attestations[3]!, b.attestations[0]!]),
      );
      const report = await verify(bundle, [trusted]);
      expectRejected(report, { attestations: /in its order/ });
      expectPassed(report, ['steps.root']);
    });

    it("replaced by the same step's attestation from another execution → attestations, attestation.<id>", async () => {
      const bundle = tampered((b) => (b.attestations[attestationIndex(b, 'count')] = clone(count(other))));
      expectRejected(await verify(bundle, [trusted]), {
        attestations: null,
        'attestation.count': /no attestation with digest/,
      });
    });

    it("replaced by another execution's attestation AND a trusted receipt that commits to it → attestation.<id> names the execution", async () => {
      const borrowed = count(other);
      const { bundle, trusted: keys } = forgeReceipt(
        fixture,
        LocalSigner.generate(),
        trusted,
        (s, b) => {
          const step = stepOf(s, 'count');
          const p = attestationOf(borrowed).predicate;
          Object.assign(step, {
            attestationDigest: attestationDigestOf(borrowed),
            jobId: p.jobId,
            inputDigest: p.inputDigest,
            outputDigest: p.outputDigest,
          });
          b.attestations[attestationIndex(b, 'count')] = clone(borrowed);
        },
        { recomputeRoot: true },
      );
      const report = await verify(bundle, keys);
      expectRejected(report, { 'attestation.count': /executionId is "[^"]+", expected/ });
      expectPassed(report, ['attestations', 'steps.root']);
    });
  });

  describe('one attestation', () => {
    it('one byte of its payload changed (re-encoded canonically) → attestations, attestation.<id>', async () => {
      const bundle = tampered((b) => (b.attestations[2]!.payload = flipBase64Byte(b.attestations[2]!.payload, 40)));
      expectRejected(await verify(bundle, [trusted]), {
        attestations: null,
        'attestation.count': /no attestation with digest/,
      });
    });

    it('one character of its statement changed (the cost) → attestations, attestation.<id>', async () => {
      const bundle = tampered((b) => {
        const statement = attestationOf(b.attestations[2]!);
        statement.predicate.cost += 1;
        b.attestations[2]!.payload = encode(statement);
      });
      expectRejected(await verify(bundle, [trusted]), { attestations: /expected \[/, 'attestation.count': null });
    });

    it('one byte of its signature changed → attestation.<id>', async () => {
      const bundle = tampered(
        (b) => (b.attestations[2]!.signatures[0]!.sig = flipBase64Byte(b.attestations[2]!.signatures[0]!.sig, 5)),
      );
      const report = await verify(bundle, [trusted]);
      expectRejected(report, { 'attestation.count': /does not verify/ });
      expectPassed(report, ['attestations', 'attestation.tokenize', 'steps.root', 'tlog.inclusion']);
    });

    it('its keyid changed → attestation.<id>', async () => {
      const bundle = tampered(
        (b) => (b.attestations[2]!.signatures[0]!.keyid = flipHex(b.attestations[2]!.signatures[0]!.keyid)),
      );
      expectRejected(await verify(bundle, [trusted]), {
        'attestation.count': /signed by keyid [0-9a-f]{64}, expected/,
      });
    });

    it('its signatures removed → attestation.<id>', async () => {
      const bundle = tampered((b) => (b.attestations[2]!.signatures = []));
      expectRejected(await verify(bundle, [trusted]), { 'attestation.count': /exactly one signature, found 0/ });
    });

    it('its payloadType swapped → attestation.<id> (the digest covers only the payload; the signature and type do not pass)', async () => {
      const bundle = tampered((b) => (b.attestations[2]!.payloadType = 'application/vnd.dsse+json'));
      const report = await verify(bundle, [trusted]);
      expectRejected(report, { 'attestation.count': /does not verify.*payloadType/ });
      expectPassed(report, ['attestations']);
    });

    it("re-signed by another worker key the bundle also lists → attestation.<id> (not the receipt's workerKeyId) and keys (unused)", async () => {
      const impostor = LocalSigner.generate();
      const bundle = tampered((b) => {
        const envelope = b.attestations[2]!;
        b.attestations[2] = resign(envelope.payloadType, attestationOf(envelope), impostor);
        b.keys.push({ keyid: impostor.keyId, role: 'worker', publicKeyPem: impostor.publicKeyPem });
      });
      const report = await verify(bundle, [trusted]);
      expectRejected(report, {
        'attestation.count': new RegExp(`signed by keyid ${impostor.keyId}, expected ${workerKey(fixture).keyid}`),
        keys: /not used by this receipt/,
      });
      expectPassed(report, ['attestations', 'steps.root']);
    });

    it('re-signed by another worker key after naming it as workerKeyId → attestations, attestation.<id>', async () => {
      const impostor = LocalSigner.generate();
      const bundle = tampered((b) => {
        const statement = attestationOf(b.attestations[2]!);
        statement.predicate.workerKeyId = impostor.keyId;
        b.attestations[2] = resign(b.attestations[2]!.payloadType, statement, impostor);
        b.keys.push({ keyid: impostor.keyId, role: 'worker', publicKeyPem: impostor.publicKeyPem });
      });
      expectRejected(await verify(bundle, [trusted]), {
        attestations: null,
        'attestation.count': /no attestation with digest/,
      });
    });
  });

  describe('the keys', () => {
    it('a worker key substituted by another key, keyid kept → keys, attestation.<id>', async () => {
      const bundle = tampered((b) => (workerKey(b).publicKeyPem = LocalSigner.generate().publicKeyPem));
      expectRejected(await verify(bundle, [trusted]), {
        keys: /is not the key its keyid names/,
        'attestation.normalize': /has no key/,
      });
    });

    it('a worker key substituted by another key with its keyid → keys (unused), attestation.<id>', async () => {
      const substitute = LocalSigner.generate();
      const bundle = tampered((b) =>
        Object.assign(workerKey(b), { keyid: substitute.keyId, publicKeyPem: substitute.publicKeyPem }),
      );
      expectRejected(await verify(bundle, [trusted]), {
        keys: /not used by this receipt/,
        'attestation.report': /has no key/,
      });
    });

    it('a worker key that is not a PEM → keys', async () => {
      const bundle = tampered((b) => (workerKey(b).publicKeyPem = 'not a key'));
      expectRejected(await verify(bundle, [trusted]), {
        keys: /not a PEM public key/,
        'attestation.count': /has no key/,
      });
    });

    it('the worker key removed → attestation.<id> for each step', async () => {
      const bundle = tampered((b) => (b.keys = b.keys.filter((k) => k.role !== 'worker')));
      expectRejected(await verify(bundle, [trusted]), {
        'attestation.normalize': /has no key/,
        'attestation.report': /has no key/,
      });
    });

    // The receipt is checked against the caller's trusted key, not the bundle's: only the `keys` rule (every
    // key the receipt uses is listed) notices the coordinator's entry is gone.
    it('the coordinator key removed from keys → keys', async () => {
      const bundle = tampered((b) => (b.keys = b.keys.filter((k) => k.role !== 'coordinator')));
      expect(bundle.keys).toHaveLength(1);
      expectRejected(await verify(bundle, [trusted], 'full'), { keys: /which the receipt uses, is not in the bundle/ });
    });

    it('an unused key added → keys', async () => {
      const extra = LocalSigner.generate();
      const bundle = tampered((b) =>
        b.keys.push({ keyid: extra.keyId, role: 'worker', publicKeyPem: extra.publicKeyPem }),
      );
      const report = await verify(bundle, [trusted]);
      expectRejected(report, { keys: new RegExp(`key ${extra.keyId} is not used by this receipt`) });
      expectPassed(report, ['attestation.count']);
    });

    it('a key listed twice → keys', async () => {
      const bundle = tampered((b) => b.keys.push(clone(workerKey(b))));
      expectRejected(await verify(bundle, [trusted]), { keys: /is listed twice/ });
    });

    it("a key's role changed (worker → coordinator, coordinator → worker) → keys", async () => {
      const worker = tampered((b) => (workerKey(b).role = 'coordinator'));
      expectRejected(await verify(worker, [trusted]), { keys: /is listed as coordinator but is used as worker/ });
      const coordinator = tampered((b) => (b.keys.find((k) => k.role === 'coordinator')!.role = 'worker'));
      expectRejected(await verify(coordinator, [trusted]), { keys: /is listed as worker but is used as coordinator/ });
    });
  });
});
