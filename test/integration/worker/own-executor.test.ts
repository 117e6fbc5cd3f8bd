import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Bundle } from '../../../src/attest/bundle.js';
import { envelopePayload } from '../../../src/attest/dsse.js';
import type { StepPredicate } from '../../../src/attest/statement.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { defineExecutor, ExecutorError, runWorker } from '../../../src/worker/sdk/index.js';
import type { WorkerHandle } from '../../../src/worker/sdk/index.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';
import type { VerityClient } from '../../../src/sdk/client.js';

/**
 * `verity/worker` end to end: executors defined with defineExecutor, run by runWorker as a remote worker
 * over HTTP against a real server (no in-process workers, so only this worker can run the steps), with
 * the guarantees of any other worker: its attestation is checked by the coordinator and committed to by
 * the receipt, which verifies at level full.
 */
let server: TestServer;
let client: VerityClient;
let worker: WorkerHandle;
let dataDir: string;
const seen = { aborted: [] as string[], started: [] as string[] };

const wordCount = defineExecutor({
  name: 'acme/word-count',
  version: '3',
  stepTypes: ['inference'],
  input: z.object({ text: z.string().min(1) }),
  output: z.object({ words: z.number().int() }),
  run: ({ text }, ctx) => {
    const words = text.split(/\s+/).filter(Boolean).length;
    ctx.reportCost(words * 10, { words });
    return { words };
  },
});

const slow = defineExecutor({
  name: 'acme/slow',
  version: '1',
  input: z.object({ ms: z.number(), tag: z.string() }),
  run: async ({ ms, tag }, ctx) => {
    seen.started.push(tag);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        seen.aborted.push(tag);
        reject(new Error('aborted'));
      });
    });
    return { tag };
  },
});

const thumbnail = defineExecutor({
  name: 'acme/reverse-blob',
  version: '1',
  input: z.object({ file: z.object({ $blob: z.string(), size: z.number(), mediaType: z.string() }) }),
  run: async ({ file }, ctx) => {
    const bytes = await ctx.blobs.get(file);
    const reversed = Buffer.from(bytes).reverse();
    return { reversed: await ctx.blobs.put(reversed, 'application/octet-stream'), size: bytes.byteLength };
  },
});

const refuses = defineExecutor({
  name: 'acme/refuses',
  version: '1',
  run: () => {
    throw new ExecutorError('quota_gone', 'the upstream quota is used up', { retryable: false });
  },
});

function oneStep(id: string, model: Record<string, unknown>, input: Record<string, string>, extra = {}) {
  return {
    id,
    verification_level: 'full',
    steps: [
      {
        id: 'only',
        step_type: 'inference',
        model_requirements: model,
        input_mappings: input,
        retry_policy: { max_attempts: 3, initial_backoff_ms: 10 },
        estimated_cost: 5,
        ...extra,
      },
    ],
    outputs: { out: 'steps.only.output' },
  };
}

beforeAll(async () => {
  server = await startTestServer('sqlite', 'own-executor', {
    node: { workers: 0, leaseMs: 3_000 },
    server: { closeGraceMs: 200 },
  });
  client = server.client(await server.key('pub', 'publisher'));
  dataDir = mkdtempSync(join(tmpdir(), 'verity-own-executor-'));
  worker = await runWorker({
    server: server.url,
    key: await server.key('acme-workers', 'worker'),
    executors: [wordCount, slow, thumbnail, refuses],
    concurrency: 4,
    dataDir,
    handleSignals: false,
    drainMs: 5_000,
  });
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('your own executor on a remote worker (verity/worker)', () => {
  it('runs a step that names it; the receipt commits to its signed attestation and verifies at level full', async () => {
    await client.publishWorkflow(
      oneStep('own-count', { name: 'acme/word-count', version: '3' }, { text: 'inputs.text' }),
    );
    const started = await client.execute('own-count', { inputs: { text: 'one two three four' } });
    const done = await client.waitFor(started.executionId);
    expect(done.status).toBe('completed');
    expect(done.result).toEqual({ out: { words: 4 } });

    const bundle = (await client.receipt(started.executionId, { includeData: true })) as unknown as Bundle;
    const report = await verifyBundle(bundle, {
      trustedKeys: [server.test.node.coordinatorSigner.publicKey],
      level: 'full',
    });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    const predicate = (
      JSON.parse(new TextDecoder().decode(envelopePayload(bundle.attestations[0]!))) as {
        predicate: StepPredicate;
      }
    ).predicate;
    expect(predicate).toMatchObject({
      executor: 'acme/word-count@3',
      model: { name: 'acme/word-count', version: '3', digest: wordCount.digest },
      workerKeyId: worker.keyId,
      cost: 40,
      usage: { words: 4 },
    });
    expect(done.spent).toBe(40);
  });

  it('refuses a bad input once, naming the field, without retrying', async () => {
    await client.publishWorkflow(oneStep('own-bad-input', { name: 'acme/word-count' }, { text: '42' }));
    const started = await client.execute('own-bad-input', { inputs: {} });
    const done = await client.waitFor(started.executionId);
    expect(done.status).toBe('failed');
    const step = done.steps.find((s) => s.id === 'only')!;
    expect(step.error).toMatchObject({ code: 'bad_request' });
    expect(step.error!.message).toContain('input.text');
    expect(step.attempts).toBe(1);
  });

  it("an executor's own ExecutorError is the step's error, with its code and retryability", async () => {
    await client.publishWorkflow(oneStep('own-refuses', { name: 'acme/refuses' }, { x: '1' }));
    const done = await client.waitFor((await client.execute('own-refuses', { inputs: {} })).executionId);
    expect(done.status).toBe('failed');
    const step = done.steps.find((s) => s.id === 'only')!;
    expect(step.error).toMatchObject({ code: 'quota_gone', message: 'the upstream quota is used up' });
    expect(step.attempts).toBe(1);
  });

  it('a step of the wrong type is refused with bad_request', async () => {
    await client.publishWorkflow({
      ...oneStep('own-wrong-type', { name: 'acme/word-count' }, { text: "'a b'" }),
      steps: [
        {
          id: 'only',
          step_type: 'training',
          model_requirements: { name: 'acme/word-count' },
          input_mappings: { text: "'a b'" },
        },
      ],
    });
    const done = await client.waitFor((await client.execute('own-wrong-type', { inputs: {} })).executionId);
    const step = done.steps.find((s) => s.id === 'only')!;
    expect(step.error?.code).toBe('bad_request');
    expect(step.error?.message).toContain('runs inference steps');
  });

  it('reads an input blob and stores an output blob through its context', async () => {
    const ref = await client.uploadBlob(new Uint8Array([1, 2, 3, 4, 5]), 'application/octet-stream');
    await client.publishWorkflow(oneStep('own-blob', { name: 'acme/reverse-blob' }, { file: 'inputs.file' }));
    const done = await client.waitFor((await client.execute('own-blob', { inputs: { file: ref } })).executionId);
    expect(done.status).toBe('completed');
    const out = (done.result as { out: { reversed: { $blob: string }; size: number } }).out;
    expect(out.size).toBe(5);
    expect([...(await client.downloadBlob(out.reversed.$blob)).bytes]).toEqual([5, 4, 3, 2, 1]);
  });

  it("aborts the executor's signal when the execution is cancelled, and at the step's time-out", async () => {
    await client.publishWorkflow(
      oneStep('own-cancel', { name: 'acme/slow' }, { ms: '30000', tag: "'cancel'" }, { timeout_seconds: 60 }),
    );
    const cancelled = await client.execute('own-cancel', { inputs: {} });
    await waitUntil(() => seen.started.includes('cancel'));
    await client.cancel(cancelled.executionId);
    await waitUntil(() => seen.aborted.includes('cancel'));

    await client.publishWorkflow(
      oneStep(
        'own-timeout',
        { name: 'acme/slow' },
        { ms: '30000', tag: "'timeout'" },
        {
          timeout_seconds: 1,
          retry_policy: { max_attempts: 1 },
        },
      ),
    );
    const done = await client.waitFor((await client.execute('own-timeout', { inputs: {} })).executionId);
    expect(done.status).toBe('failed');
    expect(done.steps[0]!.error?.code).toBe('step_timeout');
    expect(seen.aborted).toContain('timeout');
  });

  it('a step that pins another code digest is not given to this worker; the right digest is', async () => {
    await client.publishWorkflow(
      oneStep('own-pinned-other', { name: 'acme/word-count', digest: 'a'.repeat(64) }, { text: "'x y'" }),
    );
    const other = await client.execute('own-pinned-other', { inputs: {} });
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await client.status(other.executionId)).steps[0]!.status).not.toBe('completed');
    await client.cancel(other.executionId);

    await client.publishWorkflow(
      oneStep('own-pinned-same', { name: 'acme/word-count', digest: wordCount.digest }, { text: "'x y'" }),
    );
    const same = await client.waitFor((await client.execute('own-pinned-same', { inputs: {} })).executionId);
    expect(same.status).toBe('completed');
  });

  it('stops gracefully: a running job finishes within the drain, then the worker deregisters', async () => {
    const second = await runWorker({
      server: server.url,
      key: await server.key('acme-workers', 'worker'),
      executors: [slow],
      concurrency: 1,
      dataDir: join(dataDir, 'second'),
      handleSignals: false,
      drainMs: 10_000,
    });
    // The first worker stops taking work, so the job goes to the second.
    await worker.stop();
    await client.publishWorkflow(oneStep('own-drain', { name: 'acme/slow' }, { ms: '1500', tag: "'drain'" }));
    const started = await client.execute('own-drain', { inputs: {} });
    await waitUntil(() => seen.started.includes('drain'));
    await second.stop();
    await second.stopped;
    const done = await client.waitFor(started.executionId);
    expect(done.status).toBe('completed');
    expect(seen.aborted).not.toContain('drain');
    const workers = await server.client(server.adminKey).listWorkers();
    const mine = workers.filter((w) => w.id === second.id || w.id === worker.id);
    expect(mine.every((w) => w.status !== 'active')).toBe(true);
  });
});

async function waitUntil(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}
