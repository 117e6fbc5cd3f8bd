import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobDigestOf } from '../../../src/blobs/blob-ref.js';
import type { Executor, ExecutorContext, ExecutorJob } from '../../../src/executors/executor.js';
import { ExecutorRegistry } from '../../../src/executors/registry.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { VerityApiError } from '../../../src/sdk/client.js';
import { httpWorkerClient } from '../../../src/worker/http-client.js';
import { Worker } from '../../../src/worker/worker.js';
import { call } from '../../support/api-http.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * Blobs through the server: who may upload and read them, and a remote worker that reads a blob its job's
 * input names and stores one its step produces. A digest is not a capability: naming another client's blob,
 * in the inputs or through a workflow expression, reads nothing.
 */

/** A step that reads the blob `input.file` and stores its bytes reversed (a stand-in for OCR or a trainer). */
class ReverseBlob implements Executor {
  readonly name = 'reverse-blob';
  readonly capabilities = { stepTypes: [], models: ['test/reverse-blob'] };
  async run(job: ExecutorJob, context: ExecutorContext) {
    const input = job.input as { file: string; lie?: boolean };
    const bytes = await context.blobs.get(input.file);
    const reversed = Buffer.from(bytes).reverse();
    if (input.lie)
      return { output: { reversed: { $blob: `sha256:${'e'.repeat(64)}`, size: 3, mediaType: 'text/plain' } } };
    return { output: { reversed: await context.blobs.put(reversed, 'text/plain'), length: bytes.length } };
  }
}

const reverseFlow = (id: string, file: string) => ({
  id,
  name: id,
  version: 1,
  steps: [
    {
      id: 'rev',
      step_type: 'inference',
      model_requirements: { name: 'test/reverse-blob' },
      input_mappings: { file, lie: 'inputs.lie = true' },
      retry_policy: { max_attempts: 1 },
    },
  ],
  outputs: { reversed: 'steps.rev.output.reversed' },
});

describe('blobs through the server', () => {
  let server: TestServer;
  let worker: Worker;
  let alice: ReturnType<TestServer['client']>;
  let bob: ReturnType<TestServer['client']>;
  let publish: (definition: Record<string, unknown>) => Promise<unknown>;

  beforeAll(async () => {
    server = await startTestServer('sqlite', 'blobs', { node: { workers: 0 }, server: { closeGraceMs: 200 } });
    // A workflow runs through the plan's execute route only for its owner: Alice and Bob publish their own.
    await server.client(await server.key('alice', 'publisher')).publishWorkflow(reverseFlow('reverse', 'inputs.file'));
    const bobPublisher = server.client(await server.key('bob', 'publisher'));
    await bobPublisher.publishWorkflow(reverseFlow('reverse-bob', 'inputs.file'));
    publish = (definition) => bobPublisher.publishWorkflow(definition);
    alice = server.client(await server.key('alice', 'client'));
    bob = server.client(await server.key('bob', 'client'));
    const signer = LocalSigner.generate();
    worker = new Worker(
      httpWorkerClient(server.url, await server.key('w', 'worker'), signer),
      new ExecutorRegistry([...defaultExecutors(), new ReverseBlob()]),
      {
        signer,
        concurrency: 2,
        pollMs: 500,
      },
    );
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop(2_000);
    await server?.close();
  });

  it('uploads and downloads the same bytes, with their media type; the same bytes get the same reference', async () => {
    const bytes = new TextEncoder().encode('hello blob');
    const ref = await alice.uploadBlob(bytes, 'text/plain');
    expect(ref.$blob).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ref).toEqual({ $blob: ref.$blob, size: 10, mediaType: 'text/plain' });
    expect(await alice.uploadBlob(bytes, 'text/plain')).toEqual(ref);
    const back = await alice.downloadBlob(ref);
    expect(new TextDecoder().decode(back.bytes)).toBe('hello blob');
    expect(back.mediaType).toBe('text/plain');
  });

  it('gives another client a 404 for a blob, exactly as for one that does not exist; an admin may read it', async () => {
    const ref = await alice.uploadBlob(new TextEncoder().encode('alice only'), 'text/plain');
    const theirs = await bob.downloadBlob(ref).catch((e: unknown) => e);
    const none = await bob.downloadBlob(`sha256:${'0'.repeat(64)}`).catch((e: unknown) => e);
    for (const error of [theirs, none]) {
      expect(error).toBeInstanceOf(VerityApiError);
      expect((error as VerityApiError).status).toBe(404);
    }
    expect((theirs as Error).message).toBe((none as Error).message.replace('0'.repeat(64), blobDigestOf(ref).slice(7)));
    expect(new TextDecoder().decode((await server.client(server.adminKey).downloadBlob(ref)).bytes)).toBe('alice only');
  });

  it('refuses a malformed digest (400 naming the field) and a malformed media type (415)', async () => {
    const bad = await call(server.url, 'GET', '/v1/blobs/sha256:XYZ', { key: await server.key('carol', 'client') });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('path.digest');
    const type = await fetch(`${server.url}/v1/blobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.adminKey}`, 'content-type': 'image/png/extra' },
      body: 'x',
    });
    // Fastify's own check of the header comes first: 415, in the API's error shape.
    expect(type.status).toBe(415);
    expect(await type.text()).toContain('unsupported_media_type');
  });

  it('runs a step on a remote worker that reads an input blob and stores an output blob the client can download', async () => {
    const ref = await alice.uploadBlob(new TextEncoder().encode('abcdef'), 'text/plain');
    const started = await alice.execute('reverse', { inputs: { file: ref.$blob } });
    const done = await alice.waitFor(started.executionId);
    expect(done.status, JSON.stringify(done)).toBe('completed');
    const out = (done.result as { reversed: { $blob: string } }).reversed;
    expect(new TextDecoder().decode((await alice.downloadBlob(out.$blob)).bytes)).toBe('fedcba');
    // Bob did not run it: the output is Alice's.
    await expect(bob.downloadBlob(out.$blob)).rejects.toMatchObject({ status: 404 });
  });

  it("refuses an execution whose inputs name another client's blob (400), and reads nothing", async () => {
    const ref = await alice.uploadBlob(new TextEncoder().encode('secret of alice'), 'text/plain');
    const refused = await bob.execute('reverse-bob', { inputs: { file: ref.$blob } }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 400 });
    expect((refused as Error).message).toContain('body.inputs');
    expect((await bob.listExecutions()).executions).toHaveLength(0);
  });

  it('does not let a workflow expression open a blob by naming its digest: the step cannot read it', async () => {
    // The blob exists (Alice uploaded it); the workflow names its digest as a constant, which Bob runs.
    const ref = await alice.uploadBlob(new TextEncoder().encode('alice private'), 'text/plain');
    await publish(reverseFlow('reverse-fixed', `"${ref.$blob}"`));
    const started = await bob.execute('reverse-fixed', { inputs: {} });
    const done = await bob.waitFor(started.executionId);
    expect(done.status).toBe('failed');
    expect(JSON.stringify(done.steps)).toMatch(/no blob|not_found/);
  });

  it('fails a step whose output names a blob that was never stored, as one it may not hand on (blob_not_granted)', async () => {
    const ref = await alice.uploadBlob(new TextEncoder().encode('xyz'), 'text/plain');
    const started = await alice.execute('reverse', { inputs: { file: ref.$blob, lie: true } });
    const done = await alice.waitFor(started.executionId);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'blob_not_granted' });
  });

  it('refuses to serve a blob whose file was changed on disk', async () => {
    const ref = await alice.uploadBlob(new TextEncoder().encode('pristine'), 'text/plain');
    const hex = ref.$blob.slice('sha256:'.length);
    writeFileSync(join(server.test.node.options.blobDir, 'sha256', hex.slice(0, 2), hex), 'tampered');
    const response = await call(server.url, 'GET', `/v1/blobs/${ref.$blob}`, { key: server.adminKey });
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(response.text).not.toContain('tampered');
  });
});
