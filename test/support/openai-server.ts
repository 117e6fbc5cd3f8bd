import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A real HTTP server speaking the OpenAI-compatible protocol, for tests: streamed and plain chat
 * completions, embeddings, the model list. Replies are deterministic ("summary: " and the first words of
 * the last user message), and tests can make the next requests fail, stall, or break off mid-stream.
 */

export type Behaviour =
  /** Answer with this status and an OpenAI-style error body (and `retry-after` if given). */
  | { kind: 'fail'; status: number; message?: string; retryAfter?: string }
  /** Never answer; with `afterChunks`, send that many chunks of the stream first. */
  | { kind: 'stall'; afterChunks?: number }
  /** Send `afterChunks` chunks of the stream, then end it without `[DONE]` (`end`) or drop the connection (`destroy`). */
  | { kind: 'cut'; afterChunks: number; mode?: 'end' | 'destroy' }
  /** Reply with this text instead of the summary. */
  | { kind: 'reply'; text: string };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface OpenAiServerOptions {
  /** Requests must carry `Authorization: Bearer <apiKey>`, or get a 401. */
  apiKey?: string;
  /** The `model` the server reports for a requested model. Default: `<requested>-2024-06-01`. */
  reportedModel?: (requested: string) => string;
  /** The `system_fingerprint` it reports; null to report none. Default: fp_0123abcd. */
  fingerprint?: string | null;
  /** Pause between streamed chunks. Default: 0 (each chunk is still written on its own). */
  chunkDelayMs?: number;
  /** Words of the last user message the summary keeps. Default: 5. */
  summaryWords?: number;
}

export interface OpenAiTestServer {
  /** http://127.0.0.1:<port>, the baseUrl to configure. */
  readonly url: string;
  /** Every request, in order of arrival. */
  readonly requests: RecordedRequest[];
  /** Requests whose client went away before the response was complete. */
  readonly abandoned: RecordedRequest[];
  /** The next `times` chat or embeddings requests behave so (queued after any already queued). */
  queue(behaviour: Behaviour, times?: number): void;
  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once `count` requests have been abandoned by their client. */
  waitForAbandoned(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const words = (text: string) => text.split(/\s+/).filter((w) => w !== '');

/** The deterministic reply to a conversation. */
export function summaryOf(lastUserMessage: string, keep = 5): string {
  return `summary: ${words(lastUserMessage).slice(0, keep).join(' ')}`;
}

/** A deterministic unit-ish vector for a text: 8 numbers in [-1, 1] from its SHA-256. */
export function testEmbedding(text: string): number[] {
  const hash = createHash('sha256').update(text).digest();
  return Array.from({ length: 8 }, (_, i) => Math.round(((hash[i]! / 255) * 2 - 1) * 1e6) / 1e6);
}

export async function startOpenAiServer(options: OpenAiServerOptions = {}): Promise<OpenAiTestServer> {
  const requests: RecordedRequest[] = [];
  const abandoned: RecordedRequest[] = [];
  const behaviours: Behaviour[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  const fingerprint = options.fingerprint === undefined ? 'fp_0123abcd' : options.fingerprint;
  const reportedModel = options.reportedModel ?? ((requested: string) => `${requested}-2024-06-01`);

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      // Recorded as text; the handler answers 400 below.
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const record: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) {
        abandoned.push(record);
        notify();
      }
    });
    notify();

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      // Like OpenAI, the message quotes the key it got: clients must not pass it on.
      const got = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      return error(res, 401, `Incorrect API key provided: ${got}.`, 'invalid_request_error');
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return json(res, 200, {
        object: 'list',
        data: [{ id: 'test-model', object: 'model', created: 0, owned_by: 'verity-test' }],
      });
    }
    if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/embeddings')) {
      return error(res, 404, `no route ${req.method} ${path}`, 'invalid_request_error');
    }
    if (body === null || typeof body !== 'object')
      return error(res, 400, 'the body must be a JSON object', 'invalid_request_error');
    const request = body as Record<string, unknown>;
    if (typeof request.model !== 'string' || request.model === '')
      return error(res, 400, 'you must provide a model parameter', 'invalid_request_error');

    const behaviour = behaviours.shift();
    if (behaviour?.kind === 'fail') {
      if (behaviour.retryAfter !== undefined) res.setHeader('retry-after', behaviour.retryAfter);
      return error(
        res,
        behaviour.status,
        behaviour.message ?? `test failure ${behaviour.status}`,
        behaviour.status >= 500 ? 'server_error' : 'invalid_request_error',
      );
    }
    if (
      behaviour?.kind === 'stall' &&
      !(behaviour.afterChunks !== undefined && behaviour.afterChunks > 0 && request.stream === true)
    )
      return; // never answers

    if (path === '/v1/embeddings') {
      const input = request.input;
      const texts =
        typeof input === 'string'
          ? [input]
          : Array.isArray(input) && input.every((t) => typeof t === 'string')
            ? input
            : undefined;
      if (!texts) return error(res, 400, 'input must be a string or a list of strings', 'invalid_request_error');
      return json(res, 200, {
        object: 'list',
        model: reportedModel(request.model),
        data: texts.map((text, index) => ({ object: 'embedding', index, embedding: testEmbedding(text) })),
        usage: {
          prompt_tokens: texts.reduce((n, t) => n + words(t).length, 0),
          total_tokens: texts.reduce((n, t) => n + words(t).length, 0),
        },
      });
    }

    const messages = Array.isArray(request.messages)
      ? (request.messages as { role?: unknown; content?: unknown }[])
      : undefined;
    if (!messages || messages.length === 0)
      return error(res, 400, "'messages' must be a non-empty list", 'invalid_request_error');
    const text = (m: { content?: unknown }) => (typeof m.content === 'string' ? m.content : '');
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const reply =
      behaviour?.kind === 'reply' ? behaviour.text : summaryOf(lastUser ? text(lastUser) : '', options.summaryWords);
    const usage = {
      prompt_tokens: messages.reduce((n, m) => n + words(text(m)).length, 0),
      completion_tokens: words(reply).length,
    };
    usage.completion_tokens = Math.max(1, usage.completion_tokens);
    const model = reportedModel(request.model);
    const base = {
      id: 'chatcmpl-test',
      created: 1_700_000_000,
      model,
      ...(fingerprint !== null && { system_fingerprint: fingerprint }),
    };

    if (request.stream !== true) {
      return json(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      });
    }

    const pieces = reply.split(/(?=\s)/);
    const events: unknown[] = [
      {
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
      },
      ...pieces.map((piece) => ({
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: piece }, finish_reason: null }],
      })),
      { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ];
    const streamOptions = request.stream_options as { include_usage?: unknown } | undefined;
    if (streamOptions?.include_usage === true) {
      events.push({
        ...base,
        object: 'chat.completion.chunk',
        choices: [],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const limit = behaviour?.kind === 'cut' || behaviour?.kind === 'stall' ? (behaviour.afterChunks ?? 0) : Infinity;
    let sent = 0;
    for (const event of events) {
      if (sent >= limit) break;
      if (res.destroyed) return;
      res.write(`data: ${JSON.stringify(event)}\n\n`);
      sent++;
      if (options.chunkDelayMs) await sleep(options.chunkDelayMs);
    }
    if (behaviour?.kind === 'stall') return; // headers and some chunks sent, then silence
    if (behaviour?.kind === 'cut') {
      // Let what was written reach the client first: the cut is meant to come mid-stream.
      await new Promise<void>((resolve) => res.write('', () => resolve()));
      await sleep(20);
      if (behaviour.mode === 'destroy') res.destroy();
      else res.end();
      return;
    }
    res.end('data: [DONE]\n\n');
  }

  function json(res: ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  }

  function error(res: ServerResponse, status: number, message: string, type: string): void {
    json(res, status, { error: { message, type, param: null, code: null } });
  }

  const waitUntil = async (done: () => boolean, timeoutMs: number, what: string) => {
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`the OpenAI test server waited ${timeoutMs} ms for ${what}`));
      }, timeoutMs);
      waiters.add(check);
    });
  };

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    abandoned,
    queue(behaviour, times = 1) {
      for (let i = 0; i < times; i++) behaviours.push(behaviour);
    },
    waitForRequests: (count, timeoutMs = 10_000) =>
      waitUntil(() => requests.length >= count, timeoutMs, `${count} request(s)`),
    waitForAbandoned: (count, timeoutMs = 10_000) =>
      waitUntil(() => abandoned.length >= count, timeoutMs, `${count} abandoned request(s)`),
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}
