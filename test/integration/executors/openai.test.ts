import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import { OpenAiExecutor } from '../../../src/executors/inference/openai/openai-executor.js';
import type { StepPredicate, Statement } from '../../../src/attest/statement.js';
import type { StoreReads } from '../../../src/store/store.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { buildBundle } from '../../../src/receipts/bundle.js';
import { startOpenAiServer } from '../../support/openai-server.js';
import type { OpenAiTestServer } from '../../support/openai-server.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { sandbox } from '../../support/evaluator.js';

/**
 * The OpenAI-compatible executor inside a real worker, against a real HTTP server speaking the protocol:
 * what a step records (text, usage, cost, the model the server ran) and how each failure of the server
 * meets the step's retry policy, timeout and cancellation.
 */

const KEY = 'sk-test-key-0123456789';
const WRONG_KEY = 'sk-wrong-key-9876543210';
const PRICING = { inputPerMillion: 3_000_000, outputPerMillion: 15_000_000 };

let server: OpenAiTestServer;
let t: TestNode;

beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: KEY });
  t = await startTestNode('sqlite', 'openai', {
    executors: [
      ...defaultExecutors(),
      new OpenAiExecutor({
        baseUrl: server.url,
        apiKey: KEY,
        models: [
          { name: 'test-llm', upstream: 'tiny-chat', pricing: PRICING },
          { name: 'llm', upstream: 'tiny-chat' },
        ],
        timeoutMs: 10_000,
      }),
      new OpenAiExecutor({ baseUrl: server.url, apiKey: WRONG_KEY, models: [{ name: 'wrong-key-llm' }] }),
    ],
    workers: 2,
  });
});

afterAll(async () => {
  await t?.close();
  await server?.close();
});

beforeEach(() => {
  server.requests.length = 0;
});

let counter = 0;
const workflow = (step: Record<string, unknown> = {}) => ({
  id: `summarize-${++counter}`,
  name: 'Summarize',
  version: 1,
  steps: [
    {
      id: 'summarize',
      step_type: 'inference',
      model_requirements: { name: 'test-llm' },
      input_mappings: { prompt: 'inputs.text' },
      ...step,
    },
  ],
});

const TEXT = 'Verity runs workflows on untrusted workers and proves what ran';

function statementOf(attestation: { payload: string } | undefined): Statement<StepPredicate> {
  expect(attestation).toBeDefined();
  return JSON.parse(Buffer.from(attestation!.payload, 'base64').toString('utf8')) as Statement<StepPredicate>;
}

async function stepResult(read: StoreReads, executionId: string, stepId = 'summarize') {
  const [result] = await read.getStepResults(executionId, [stepId]);
  expect(result).toBeDefined();
  return result!;
}

async function jobErrors(executionId: string) {
  return (await t.node.store.read.listJobs(executionId)).map((j) => [j.attempt, j.status, j.error?.code]);
}

describe('the OpenAI-compatible executor in a worker', () => {
  it('streams a completion, assembles it, and records usage, cost and the model the server ran', async () => {
    const view = await t.run(workflow(), { text: TEXT });
    expect(view.error).toBeUndefined();
    expect(view.status).toBe('completed');
    const result = await stepResult(t.node.store.read, view.executionId);
    expect(result.output).toEqual({
      text: 'summary: Verity runs workflows on untrusted',
      finish_reason: 'stop',
      usage: { prompt_tokens: 10, completion_tokens: 6 },
      system_fingerprint: 'fp_0123abcd',
    });
    // 10 × 3 + 6 × 15 micro-units.
    expect(result.cost).toBe(120);
    expect(view.spent).toBe(120);
    expect(view.steps[0]).toMatchObject({ status: 'completed', attempts: 1, cost: 120 });

    const { predicate } = statementOf(result.attestation);
    expect(predicate.usage).toEqual({ prompt_tokens: 10, completion_tokens: 6 });
    expect(predicate.cost).toBe(120);
    expect(predicate.executor).toBe('openai');
    expect(predicate.model).toEqual({ name: 'test-llm', version: 'tiny-chat-2024-06-01', digest: null });

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request!.body).toEqual({
      model: 'tiny-chat',
      messages: [{ role: 'user', content: TEXT }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('waits out a 429 per its retry-after inside the attempt, then succeeds', async () => {
    server.queue({ kind: 'fail', status: 429, retryAfter: '1', message: 'Rate limit reached' });
    const started = Date.now();
    const view = await t.run(workflow({ retry_policy: { max_attempts: 1 } }), { text: TEXT });
    expect(view.status).toBe('completed');
    expect(view.steps[0]).toMatchObject({ attempts: 1 });
    expect(server.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('retries a 500 by the step retry policy', async () => {
    server.queue({ kind: 'fail', status: 500, message: 'The server had an error while processing your request.' });
    const view = await t.run(workflow({ retry_policy: { max_attempts: 3, initial_backoff_ms: 10 } }), { text: TEXT });
    expect(view.status).toBe('completed');
    expect(view.steps[0]).toMatchObject({ attempts: 2 });
    expect(await jobErrors(view.executionId)).toEqual([
      [1, 'failed', 'upstream_unavailable'],
      [2, 'completed', undefined],
    ]);
  });

  it('fails at once on 401, and the key appears in no error or event', async () => {
    const view = await t.run(
      workflow({
        model_requirements: { name: 'wrong-key-llm' },
        retry_policy: { max_attempts: 3, initial_backoff_ms: 10 },
      }),
      { text: TEXT },
    );
    expect(view.status).toBe('failed');
    expect(view.steps[0]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(view.error).toMatchObject({ code: 'unauthorized', stepId: 'summarize' });
    expect(view.error!.message).toMatch(/refused the credentials \(401\)/);
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${WRONG_KEY}`);
    const recorded = JSON.stringify([
      view,
      await t.node.store.read.listJobs(view.executionId),
      await t.node.store.read.listEvents(view.executionId, 0, 1000),
    ]);
    expect(recorded).not.toContain(WRONG_KEY);
    expect(recorded).not.toContain(KEY);
  });

  it("fails at once on 400, with the server's message", async () => {
    server.queue({ kind: 'fail', status: 400, message: "Invalid value for 'temperature': must be at most 2." });
    const view = await t.run(workflow({ retry_policy: { max_attempts: 3, initial_backoff_ms: 10 } }), { text: TEXT });
    expect(view.status).toBe('failed');
    expect(view.steps[0]).toMatchObject({ attempts: 1 });
    expect(view.error).toMatchObject({ code: 'invalid_request' });
    expect(view.error!.message).toMatch(/rejected the request \(400\): Invalid value for 'temperature'/);
  });

  it('aborts the in-flight request when the execution is cancelled', async () => {
    server.queue({ kind: 'stall', afterChunks: 2 });
    const abandoned = server.abandoned.length;
    const execution = await t.start(workflow(), { text: TEXT });
    await server.waitForRequests(1);
    await t.node.engine.cancel(execution.id, 'test');
    await server.waitForAbandoned(abandoned + 1, 5_000);
    await t.node.waitFor(execution.id);
    expect((await t.view(execution.id)).status).toBe('cancelled');
  });

  it('fails the step at its timeout on a stalled server, and the server sees the request abandoned', async () => {
    server.queue({ kind: 'stall' });
    const abandoned = server.abandoned.length;
    const started = Date.now();
    const view = await t.run(workflow({ timeout_seconds: 1, retry_policy: { max_attempts: 1 } }), { text: TEXT });
    expect(view.status).toBe('failed');
    expect(view.error).toMatchObject({ code: 'step_timeout' });
    expect(Date.now() - started).toBeLessThan(5_000);
    await server.waitForAbandoned(abandoned + 1, 5_000);
  });

  it('retries a stream cut before [DONE]', async () => {
    server.queue({ kind: 'cut', afterChunks: 3 });
    const view = await t.run(workflow({ retry_policy: { max_attempts: 2, initial_backoff_ms: 10 } }), { text: TEXT });
    expect(view.status).toBe('completed');
    expect(await jobErrors(view.executionId)).toEqual([
      [1, 'failed', 'truncated'],
      [2, 'completed', undefined],
    ]);
    const result = await stepResult(t.node.store.read, view.executionId);
    expect((result.output as { text: string }).text).toBe('summary: Verity runs workflows on untrusted');
  });

  it('refuses an image_url part that is not a data: URL before anything reaches the model server', async () => {
    // The model server would fetch these itself: a step's input could make it reach any host or file.
    const urls = [
      `${server.url}/v1/models`,
      'https://example.com/cat.png',
      'http://169.254.169.254/latest/meta-data/',
      'file:///etc/passwd',
      'ftp://example.com/x.png',
      ' data:image/png;base64,AAAA',
    ];
    const messages = (url: unknown) => [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: url },
        ],
      },
    ];
    const chatFlow = workflow({
      input_mappings: { messages: 'inputs.messages' },
      retry_policy: { max_attempts: 3, initial_backoff_ms: 10 },
    });
    for (const image of [...urls.map((url) => ({ url })), ...urls]) {
      const view = await t.run({ ...chatFlow, id: `image-url-${++counter}` }, { messages: messages(image) });
      expect(view.status, JSON.stringify(image)).toBe('failed');
      expect(view.steps[0]).toMatchObject({ attempts: 1 });
      expect(view.error).toMatchObject({ code: 'invalid_input' });
      expect(view.error!.message).toMatch(/messages\.0\.content\.1\.image_url.*only a data: URL/);
    }
    expect(server.requests).toEqual([]);

    const inline = 'data:image/png;base64,iVBORw0KGgo=';
    const view = await t.run(
      { ...chatFlow, id: `image-url-${++counter}` },
      { messages: messages({ url: inline, detail: 'low' }) },
    );
    expect(view.status).toBe('completed');
    expect((server.requests[0]!.body as { messages: unknown[] }).messages).toEqual(
      messages({ url: inline, detail: 'low' }),
    );
  });

  it('runs the llm-summary example', async () => {
    const root = new URL('../../../examples/llm-summary/', import.meta.url);
    const definition = parseYaml(readFileSync(new URL('workflow.yaml', root), 'utf8')) as unknown;
    const input = JSON.parse(readFileSync(new URL('input.json', root), 'utf8')) as { text: string };
    const view = await t.run(definition, input);
    expect(view.error).toBeUndefined();
    expect(view.status).toBe('completed');
    const body = server.requests[0]!.body as {
      messages: { role: string; content: string }[];
      temperature: number;
      max_tokens: number;
      seed: number;
    };
    expect(body).toMatchObject({ temperature: 0, max_tokens: 200, seed: 42 });
    expect(body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(body.messages[1]!.content).toMatch(
      /^Summarize the document "Receipts for AI workflows" in at most 30 words\.\n\nVerity runs/,
    );
    const usage = (await stepResult(t.node.store.read, view.executionId, 'summarize')).output as {
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(view.result).toEqual({
      summary: 'summary: Summarize the document "Receipts for',
      tokens: usage.usage.prompt_tokens + usage.usage.completion_tokens,
    });
    // The attestation naming the hosted model's version is a valid one: the receipt verifies.
    const bundle = await buildBundle(t.node.store, t.node.log, view.executionId, { includeData: true });
    for (const level of ['basic', 'full'] as const) {
      const report = await verifyBundle(bundle, {
        trustedKeys: [t.node.coordinatorSigner.publicKeyPem],
        level,
        evaluator: sandbox(),
      });
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.ok).toBe(true);
    }
  });
});
