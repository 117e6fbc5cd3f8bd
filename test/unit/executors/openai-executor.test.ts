import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ExecutorContext, ExecutorJob } from '../../../src/executors/executor.js';
import { ExecutorError } from '../../../src/executors/executor.js';
import { OpenAiExecutor } from '../../../src/executors/inference/openai/openai-executor.js';
import type { OpenAiConfigInput } from '../../../src/executors/inference/openai/config.js';
import { startOpenAiServer, testEmbedding } from '../../support/openai-server.js';
import type { OpenAiTestServer } from '../../support/openai-server.js';

/** The executor on its own against the protocol server: the cases the worker tests do not need a node for. */

const KEY = 'sk-unit-secret-123';
let server: OpenAiTestServer;
beforeAll(async () => {
  server = await startOpenAiServer({ apiKey: KEY });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const executorFor = (extra: Partial<OpenAiConfigInput> = {}) =>
  new OpenAiExecutor({
    baseUrl: server.url,
    apiKey: KEY,
    models: [
      {
        name: 'test-llm',
        upstream: 'tiny-chat',
        pricing: { inputPerMillion: 2_000_000, outputPerMillion: 10_000_000 },
      },
      { name: 'embedder', upstream: 'tiny-embed', pricing: { inputPerMillion: 1_000_000, outputPerMillion: 0 } },
    ],
    ...extra,
  });

function job(input: unknown, model = 'test-llm', deadlineMs = 10_000): ExecutorJob {
  return {
    jobId: 'job-1',
    executionId: 'exec-1',
    stepId: 'step',
    attempt: 1,
    stepType: 'inference',
    spec: { workflowDigest: '0'.repeat(64), stepType: 'inference', model: { name: model } },
    input,
    maxCost: 1_000_000,
    deadlineAt: Date.now() + deadlineMs,
  };
}

const context = (signal = new AbortController().signal): ExecutorContext => ({
  signal,
  blobs: {
    get: () => Promise.reject(new Error('no blobs here')),
    put: () => Promise.reject(new Error('no blobs here')),
  },
});

async function failure(promise: Promise<unknown>): Promise<ExecutorError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExecutorError);
  return error as ExecutorError;
}

describe('OpenAiExecutor', () => {
  it('sends messages with the system message first and the options given, and reports model, fingerprint, usage and cost', async () => {
    const result = await executorFor().run(
      job({
        system: 'Be brief.',
        messages: [
          { role: 'user', content: 'first question here' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: 'one two three four five six seven' },
        ],
        temperature: 0,
        max_tokens: 20,
        seed: 7,
        ignored: null,
      }),
      context(),
    );
    expect(result.output).toEqual({
      text: 'summary: one two three four five',
      finish_reason: 'stop',
      usage: { prompt_tokens: 13, completion_tokens: 6 },
      system_fingerprint: 'fp_0123abcd',
    });
    expect(result.usage).toEqual({ prompt_tokens: 13, completion_tokens: 6 });
    expect(result.cost).toBe(86); // 13 × 2 + 6 × 10
    // fp_0123abcd is no SHA-256: the attestation's model digest stays empty, the output keeps it.
    expect(result.model).toEqual({ name: 'test-llm', version: 'tiny-chat-2024-06-01' });
    const body = server.requests[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({
      model: 'tiny-chat',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0,
      max_tokens: 20,
      seed: 7,
    });
    expect((body.messages as { role: string }[]).map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('reports a fingerprint that is a hex SHA-256 as the model digest', async () => {
    const digest = 'ab'.repeat(32);
    const other = await startOpenAiServer({ fingerprint: digest, reportedModel: () => 'served-model' });
    try {
      const result = await new OpenAiExecutor({ baseUrl: other.url, models: [{ name: 'test-llm' }] }).run(
        job({ prompt: 'hi' }),
        context(),
      );
      expect(result.model).toEqual({ name: 'test-llm', version: 'served-model', digest });
      expect(result.cost).toBeUndefined(); // no pricing: the worker charges the step's estimate
      expect(other.requests[0]!.headers.authorization).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it('parses the reply as JSON when asked, and refuses a reply that is not JSON without retrying', async () => {
    server.queue({ kind: 'reply', text: '```json\n{"title": "T", "n": 2}\n```' });
    const result = await executorFor().run(job({ prompt: 'give json', json: true }), context());
    expect((result.output as { json: unknown }).json).toEqual({ title: 'T', n: 2 });

    server.queue({ kind: 'reply', text: 'sorry, no json today' });
    const error = await failure(executorFor().run(job({ prompt: 'give json', json: true }), context()));
    expect(error).toMatchObject({ code: 'invalid_output', retryable: false });
  });

  it('embeds texts in order, with usage and cost', async () => {
    const result = await executorFor().run(job({ embed: ['alpha beta', 'gamma'] }, 'embedder'), context());
    expect(result.output).toEqual({ embeddings: [testEmbedding('alpha beta'), testEmbedding('gamma')] });
    expect(result).toMatchObject({
      usage: { prompt_tokens: 3 },
      cost: 3,
      model: { name: 'embedder', version: 'tiny-embed-2024-06-01' },
    });
    expect(server.requests[0]).toMatchObject({
      path: '/v1/embeddings',
      body: { model: 'tiny-embed', input: ['alpha beta', 'gamma'] },
    });
    const single = await executorFor().run(job({ embed: 'alpha beta' }, 'embedder'), context());
    expect(single.output).toEqual({ embeddings: [testEmbedding('alpha beta')] });
  });

  it('refuses bad input and unknown models without calling the server', async () => {
    const executor = executorFor();
    expect(await failure(executor.run(job({ text: 'no prompt' }), context()))).toMatchObject({
      code: 'invalid_input',
      retryable: false,
    });
    expect(
      await failure(executor.run(job({ prompt: 'x', messages: [{ role: 'user', content: 'y' }] }), context())),
    ).toMatchObject({ code: 'invalid_input' });
    expect(await failure(executor.run(job({ embed: 3 }, 'embedder'), context()))).toMatchObject({
      code: 'invalid_input',
    });
    expect(await failure(executor.run(job({ prompt: 'x' }, 'other'), context()))).toMatchObject({
      code: 'unknown_model',
      retryable: false,
    });
    expect(server.requests).toHaveLength(0);
  });

  it('waits out a 429 with an HTTP-date retry-after, and gives up when the wait is past the deadline', async () => {
    server.queue({ kind: 'fail', status: 429, retryAfter: new Date(Date.now() + 1000).toUTCString() });
    const result = await executorFor().run(job({ prompt: 'hello there' }), context());
    expect((result.output as { text: string }).text).toBe('summary: hello there');
    expect(server.requests).toHaveLength(2);

    server.queue({ kind: 'fail', status: 429, retryAfter: '30', message: 'slow down' });
    const error = await failure(executorFor().run(job({ prompt: 'hello' }, 'test-llm', 5_000), context()));
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(error.message).toMatch(/past the step's deadline: slow down/);
    expect(server.requests).toHaveLength(3);
  });

  it('gives up on 429 after maxRetries waits', async () => {
    server.queue({ kind: 'fail', status: 429, retryAfter: '0' }, 3);
    const error = await failure(executorFor({ maxRetries: 2 }).run(job({ prompt: 'hello' }), context()));
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true });
    expect(error.message).toMatch(/after waiting 2 time/);
    expect(server.requests).toHaveLength(3);
  });

  it('classifies 401 and 404, never showing the key even when the server echoes it', async () => {
    server.queue({ kind: 'fail', status: 401, message: `Incorrect API key provided: ${KEY}` });
    const unauthorized = await failure(executorFor().run(job({ prompt: 'x' }), context()));
    expect(unauthorized).toMatchObject({ code: 'unauthorized', retryable: false });
    expect(unauthorized.message).not.toContain(KEY);
    expect(unauthorized.message).toMatch(/Incorrect API key provided: \[redacted\]/);

    server.queue({ kind: 'fail', status: 404, message: 'The model `tiny-chat` does not exist' });
    const missing = await failure(executorFor().run(job({ prompt: 'x' }), context()));
    expect(missing).toMatchObject({ code: 'invalid_request', retryable: false });
    expect(missing.message).toMatch(/does not exist; check the model name/);
  });

  it('reports a refused connection as unreachable', async () => {
    const port = await freePort();
    const error = await failure(
      new OpenAiExecutor({ baseUrl: `http://127.0.0.1:${port}`, models: [{ name: 'test-llm' }] }).run(
        job({ prompt: 'x' }),
        context(),
      ),
    );
    expect(error).toMatchObject({ code: 'unreachable', retryable: true });
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it('times a stalled request out after timeoutMs', async () => {
    server.queue({ kind: 'stall' });
    const error = await failure(executorFor({ timeoutMs: 200 }).run(job({ prompt: 'x' }), context()));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    await server.waitForAbandoned(1);
  });

  it('times out a stream that stalls after its first chunks', async () => {
    server.queue({ kind: 'stall', afterChunks: 2 });
    const error = await failure(executorFor({ timeoutMs: 300 }).run(job({ prompt: 'x' }), context()));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
  });

  it('reports a stream whose connection drops mid-way as truncated', async () => {
    server.queue({ kind: 'cut', afterChunks: 2, mode: 'destroy' });
    const error = await failure(executorFor().run(job({ prompt: 'one two three' }), context()));
    expect(error).toMatchObject({ code: 'truncated', retryable: true });
  });

  it('stops the request when the job signal aborts', async () => {
    server.queue({ kind: 'stall' });
    const abandonedBefore = server.abandoned.length;
    const controller = new AbortController();
    const running = executorFor().run(job({ prompt: 'x' }), context(controller.signal));
    await server.waitForRequests(1);
    controller.abort(new Error('cancelled'));
    expect(await failure(running)).toMatchObject({ code: 'aborted' });
    await server.waitForAbandoned(abandonedBefore + 1);
  });
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
