import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../../src/attest/dsse.js';
import { fromBase64 } from '../../../src/attest/bytes.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import {
  bundleOf,
  clone,
  encode,
  expectPassed,
  expectRejected,
  expectStoppedAtSignature,
  expectVerified,
  flipBase64Byte,
  flipHex,
  receiptOf,
  runExample,
  verify,
} from './support.js';

/** The receipt changed without re-signing: the coordinator's signature breaks, and the rule that reads the change too. */
describe('tampering with the receipt', () => {
  let t: TestNode;
  let fixture: Bundle;
  let trusted: string;
  const forger = LocalSigner.generate();

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-tamper-receipt');
    trusted = t.node.coordinatorSigner.publicKeyPem;
    fixture = await bundleOf(t, await runExample(t, 'linear'));
  });
  afterAll(() => t?.close());

  it('the untampered fixture verifies at basic and full', async () => {
    expectVerified(await verify(fixture, [trusted], 'basic'));
    expectVerified(await verify(fixture, [trusted], 'full'));
  });

  describe('without re-signing', () => {
    it('one character of the payload JSON changed (the execution id): the signature fails, and nothing past it is checked', async () => {
      const bundle = clone(fixture);
      const statement = receiptOf(bundle);
      statement.predicate.executionId = flipHex(statement.predicate.executionId);
      bundle.receipt.payload = encode(statement);
      expectStoppedAtSignature(await verify(bundle, [trusted]), /does not verify/);
    });

    it('the payload JSON changed (the status, to another valid status): signature and log fail', async () => {
      const bundle = clone(fixture);
      const text = new TextDecoder().decode(fromBase64(bundle.receipt.payload));
      expect(text).toContain('"status":"completed","steps"');
      const statement = receiptOf(bundle);
      statement.predicate.status = 'failed';
      bundle.receipt.payload = encode(statement);
      const report = await verify(bundle, [trusted]);
      expectStoppedAtSignature(report, /does not verify/);
      expectPassed(report, ['receipt.statement']);
    });

    it('one character of the payload JSON changed to break the statement (a status that is not one)', async () => {
      const bundle = clone(fixture);
      const text = new TextDecoder()
        .decode(fromBase64(bundle.receipt.payload))
        .replace('"status":"completed","steps"', '"status":"completes","steps"');
      bundle.receipt.payload = encode(JSON.parse(text));
      expectRejected(await verify(bundle, [trusted]), {
        'receipt.signature': /does not verify/,
        'receipt.statement': /status/,
      });
    });

    it('one byte of the receipt signature changed', async () => {
      const bundle = clone(fixture);
      bundle.receipt.signatures[0]!.sig = flipBase64Byte(bundle.receipt.signatures[0]!.sig, 10);
      for (const level of ['basic', 'full'] as const)
        expectStoppedAtSignature(await verify(bundle, [trusted], level), /does not verify/);
    });

    it('the signature keyid changed', async () => {
      const bundle = clone(fixture);
      bundle.receipt.signatures[0]!.keyid = flipHex(bundle.receipt.signatures[0]!.keyid);
      expectRejected(await verify(bundle, [trusted]), { 'receipt.signature': /not a trusted coordinator key/ });
    });

    it('a second signature added', async () => {
      const bundle = clone(fixture);
      bundle.receipt.signatures.push(clone(bundle.receipt.signatures[0]!));
      expectRejected(await verify(bundle, [trusted]), { 'receipt.signature': /exactly one signature/ });
    });

    it('a swapped payloadType', async () => {
      const bundle = clone(fixture);
      bundle.receipt.payloadType = 'application/json';
      expectRejected(await verify(bundle, [trusted]), {
        'receipt.statement': /payloadType/,
        'receipt.signature': /does not verify/,
      });
    });

    it('the payload signed by an untrusted key', async () => {
      const bundle = clone(fixture);
      bundle.receipt = signEnvelope(IN_TOTO_PAYLOAD_TYPE, fromBase64(bundle.receipt.payload), forger);
      // The payload is the one that was logged: only the trust in the signer is missing, and that is enough.
      for (const level of ['basic', 'full'] as const)
        expectStoppedAtSignature(await verify(bundle, [trusted], level), /not a trusted coordinator key/);
    });
  });
});
