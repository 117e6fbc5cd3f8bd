import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonDigest } from '../../../src/attest/digest.js';
import { readStepOutput } from '../../../src/blobs/step-output.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { buildBundle } from '../../../src/receipts/bundle.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import { ExecutorRegistry } from '../../../src/executors/registry.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { httpWorkerClient } from '../../../src/worker/http-client.js';
import { Worker } from '../../../src/worker/worker.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { startTestNode } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import { sandbox } from '../../support/evaluator.js';

/**
 * Step outputs too large for a database row (256 KiB of canonical JSON by default) are stored as blobs of
 * their canonical JSON and the row keeps the reference; the engine, the next steps and the result see the
 * value, and the digest everyone signs is the value's.
 */
const big = 'x'.repeat(300 * 1024);
const flow = (id: string) => ({
  id,
  name: id,
  version: 1,
  steps: [
    {
      id: 'produce',
      step_type: 'inference',
      model_requirements: { name: 'builtin/echo' },
      input_mappings: { text: 'inputs.text' },
    },
    {
      id: 'measure',
      step_type: 'data_processing',
      input_mappings: { text: 'steps.produce.output.text' },
      expression: '{ "length": $length(text) }',
    },
  ],
  outputs: { length: 'steps.measure.output.length', head: '$substring(steps.produce.output.text, 0, 3)' },
});

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`large step outputs (${kind})`, () => {
    let t: Awaited<ReturnType<typeof startTestNode>>;
    beforeAll(async () => {
      t = await startTestNode(kind, 'large-outputs', { workers: 2 });
    });
    afterAll(() => t?.close());

    it('keeps a large output as a blob of its canonical JSON, and every reader sees the value', async () => {
      const view = await t.run(flow('large-local'), { text: big });
      expect(view.status).toBe('completed');
      expect(view.result).toEqual({ length: big.length, head: 'xxx' });
      const [produced] = await t.node.store.read.getStepResults(view.executionId, ['produce']);
      expect(produced!.outputStorage).toBe('blob');
      const ref = produced!.output as { $blob: string; size: number; mediaType: string };
      expect(ref.mediaType).toBe('application/json');
      expect(ref.$blob).toBe(`sha256:${produced!.outputDigest}`);
      expect(produced!.outputDigest).toBe(jsonDigest({ text: big }));
      expect(await readStepOutput(t.node.blobs, produced!)).toEqual({ text: big });
      // The bundle carries the value for level full, and verifies there.
      const bundle = await buildBundle(t.node.store, t.node.log, view.executionId, {
        includeData: true,
        blobs: t.node.blobs,
      });
      const report = await verifyBundle(bundle, {
        trustedKeys: [t.node.coordinatorSigner.publicKeyPem],
        level: 'full',
        evaluator: sandbox(),
      });
      expect(report.ok, JSON.stringify(report.checks.filter((c) => !c.ok))).toBe(true);
      // Small outputs stay inline.
      const [measured] = await t.node.store.read.getStepResults(view.executionId, ['measure']);
      expect(measured!.outputStorage).toBeUndefined();
      expect(measured!.output).toEqual({ length: big.length });
    });
  });
}

describe('large step outputs from a remote worker', () => {
  it('uploads the output blob over HTTP and reports it by reference', async () => {
    const server = await startTestServer('sqlite', 'large-outputs-http', {
      node: { workers: 0 },
      server: { closeGraceMs: 200 },
    });
    const signer = LocalSigner.generate();
    const worker = new Worker(
      httpWorkerClient(server.url, await server.key('w', 'worker'), signer),
      new ExecutorRegistry(defaultExecutors()),
      { signer, concurrency: 1, pollMs: 500 },
    );
    await worker.start();
    try {
      const client = server.client(await server.key('pub', 'publisher'));
      await client.publishWorkflow(flow('large-http'));
      const started = await client.execute('large-http', { inputs: { text: big } });
      const done = await client.waitFor(started.executionId);
      expect(done.status).toBe('completed');
      expect(done.result).toEqual({ length: big.length, head: 'xxx' });
      const [produced] = await server.test.node.store.read.getStepResults(started.executionId, ['produce']);
      expect(produced!.outputStorage).toBe('blob');
      // The client may download what its execution produced.
      const bytes = (await client.downloadBlob((produced!.output as { $blob: string }).$blob)).bytes;
      expect(JSON.parse(new TextDecoder().decode(bytes))).toEqual({ text: big });
    } finally {
      await worker.stop(2_000);
      await server.close();
    }
  });
});
