import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import type { StepPredicate } from '../../../src/attest/statement.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import { HttpExecutor } from '../../../src/executors/http/http-executor.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { startHttpService } from '../../support/http-service.js';
import type { HttpService } from '../../support/http-service.js';
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
  forgeReceipt,
  resign,
  stepOf,
  verify,
} from './support.js';

/** The `http` field of an HTTP step's attestation is signed by the worker: no part of it changes unnoticed. */
describe('tampering with the http field of an attestation', () => {
  let service: HttpService;
  let t: TestNode;
  let fixture: Bundle;
  let trusted: string;

  beforeAll(async () => {
    service = await startHttpService();
    service.route('/api/score', () => ({ body: '{"score":0.93}' }));
    t = await startTestNode('sqlite', 'receipts-tamper-http', {
      executors: [...defaultExecutors(), new HttpExecutor({ endpoints: [{ url: `${service.url}/api/` }] })],
    });
    trusted = t.node.coordinatorSigner.publicKeyPem;
    const view = await t.run(
      {
        id: 'http-tamper',
        verification_level: 'full',
        steps: [
          {
            id: 'score',
            step_type: 'inference',
            model_requirements: { name: 'builtin/http' },
            input_mappings: { url: `'${service.url}/api/score'`, body: "{ 'text': inputs.text }" },
          },
          {
            id: 'label',
            step_type: 'data_processing',
            input_mappings: { score: 'steps.score.output.score' },
            expression: "score > 0.5 ? 'good' : 'bad'",
          },
        ],
      },
      { text: 'great' },
    );
    expect(view.status, JSON.stringify(view.steps)).toBe('completed');
    fixture = await bundleOf(t, view.executionId);
  });
  afterAll(async () => {
    await t?.close();
    await service?.close();
  });

  const changed = (change: (http: NonNullable<StepPredicate['http']>, p: StepPredicate) => void): Bundle => {
    const bundle = clone(fixture);
    const index = attestationIndex(bundle, 'score');
    const statement = attestationOf(bundle.attestations[index]!);
    change(statement.predicate.http!, statement.predicate);
    bundle.attestations[index]!.payload = encode(statement);
    return bundle;
  };

  it('the untampered fixture verifies at level full, and its attestation carries the exchange', async () => {
    expectVerified(await verify(fixture, [trusted], 'full'));
    const http = attestationOf(fixture.attestations[attestationIndex(fixture, 'score')]!).predicate.http;
    expect(http).toMatchObject({ url: `${service.url}/api/score`, method: 'POST', status: 200 });
  });

  const tampers: [string, (http: NonNullable<StepPredicate['http']>, p: StepPredicate) => void][] = [
    ['the url', (h) => (h.url = h.url.replace('/api/score', '/api/other'))],
    ['the method', (h) => (h.method = 'PUT')],
    ['the status', (h) => (h.status = 201)],
    ['the request digest', (h) => (h.requestDigest = h.responseDigest)],
    ['the response digest', (h) => (h.responseDigest = h.requestDigest)],
    ['the whole field removed', (_, p) => delete p.http],
  ];

  /**
   * A worker that signs a call other than the one its input asked for: its own key, a receipt that commits
   * to what it signed. Every signature holds; level full compares the call with the step's input.
   */
  const lyingWorker = (change: (http: NonNullable<StepPredicate['http']>) => void) => {
    const liar = LocalSigner.generate();
    const index = attestationIndex(fixture, 'score');
    const statement = attestationOf(fixture.attestations[index]!);
    change(statement.predicate.http!);
    statement.predicate.workerKeyId = liar.keyId;
    const envelope = resign(fixture.attestations[index]!.payloadType, statement, liar);
    return forgeReceipt(
      fixture,
      LocalSigner.generate(),
      trusted,
      (s, b) => {
        b.attestations[index] = envelope;
        b.keys.push({ keyid: liar.keyId, role: 'worker', publicKeyPem: liar.publicKeyPem });
        Object.assign(stepOf(s, 'score'), {
          attestationDigest: attestationDigestOf(envelope),
          workerKeyId: liar.keyId,
        });
      },
      { recomputeRoot: true },
    );
  };

  it('level full checks the attested call against the step input: http.score', async () => {
    const report = await verify(fixture, [trusted], 'full');
    expect(report.checks.find((c) => c.name === 'http.score')).toMatchObject({ ok: true });
    // At level basic there is no data to compare with.
    expect((await verify(fixture, [trusted], 'basic')).checks.some((c) => c.name === 'http.score')).toBe(false);
  });

  for (const [what, change, pattern] of [
    ['another body', (h: NonNullable<StepPredicate['http']>) => (h.requestDigest = h.responseDigest), /request digest/],
    ['another url', (h: NonNullable<StepPredicate['http']>) => (h.url = `${h.url}?admin=1`), /attested url/],
    ['another method', (h: NonNullable<StepPredicate['http']>) => (h.method = 'DELETE'), /attested method is DELETE/],
  ] as const) {
    it(`a worker that signs ${what} than its input asked for → http.score at level full`, async () => {
      const { bundle, trusted: keys } = lyingWorker(change);
      const report = await verify(bundle, keys, 'full');
      expectRejected(report, { 'http.score': pattern });
      expectPassed(report, ['attestations', 'attestation.score', 'lineage.score', 'data.step.score']);
    });
  }

  for (const [what, change] of tampers) {
    it(`${what} changed → attestations, attestation.score (the receipt commits to the signed bytes)`, async () => {
      expectRejected(await verify(changed(change), [trusted], 'full'), {
        attestations: null,
        'attestation.score': /no attestation with digest/,
      });
    });

    it(`${what} changed AND a trusted receipt committing to it → attestation.score: the worker's signature fails`, async () => {
      const tampered = changed(change);
      const { bundle, trusted: keys } = forgeReceipt(
        tampered,
        LocalSigner.generate(),
        trusted,
        (s, b) => {
          stepOf(s, 'score').attestationDigest = attestationDigestOf(b.attestations[attestationIndex(b, 'score')]!);
        },
        { recomputeRoot: true },
      );
      const report = await verify(bundle, keys, 'full');
      expectRejected(report, { 'attestation.score': /does not verify/ });
      expectPassed(report, ['attestations', 'steps.root', 'attestation.label']);
    });
  }
});
