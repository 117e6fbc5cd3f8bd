import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../../../errors.js';
import { ExecutorError } from '../../executor.js';
import type { ResolvedOpenAiConfig } from './config.js';
import { describeServer } from './config.js';

/** How much of an error response is read to find its message. */
const MAX_ERROR_BODY = 64 * 1024;
/** A 429 without retry-after is waited out with this, doubled each time. */
const DEFAULT_RATE_LIMIT_WAIT_MS = 500;

export interface PostOptions {
  config: ResolvedOpenAiConfig;
  /** Under the API root: `/chat/completions`. */
  path: string;
  body: unknown;
  /** The job's signal: cancellation, a lost lease and the step's deadline all end the request. */
  signal: AbortSignal;
  /** The job's deadline (epoch ms): no 429 is waited out past it. */
  deadlineAt: number;
}

/** Why this module aborted a request itself. */
class RequestTimedOut extends Error {}

/**
 * POSTs JSON and hands a successful response to `consume`, which reads its body under the same
 * timeout and signal. Any failure comes out as an ExecutorError with a code retry policies can match;
 * a 429 is waited out here (up to `maxRetries` times, never past the deadline).
 */
export async function postJson<T>(options: PostOptions, consume: (response: Response) => Promise<T>): Promise<T> {
  const { config, signal } = options;
  const server = describeServer(config.apiRoot);
  for (let retry = 0; ; retry++) {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(new RequestTimedOut()), config.timeoutMs);
    let phase: 'connect' | 'body' = 'connect';
    let wait: number | undefined;
    try {
      const response = await fetch(`${config.apiRoot}${options.path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...(config.apiKey !== undefined && { authorization: `Bearer ${config.apiKey}` }),
        },
        body: JSON.stringify(options.body),
        signal: controller.signal,
      });
      phase = 'body';
      if (response.ok) return await consume(response);
      const message = scrub(errorMessage(await readLimited(response)), config.apiKey);
      if (response.status !== 429) throw statusError(response.status, message, server);
      wait = retryAfterMs(response.headers, retry);
      const remaining = options.deadlineAt - Date.now();
      if (retry >= config.maxRetries || wait >= remaining) {
        const why =
          retry >= config.maxRetries
            ? `after waiting ${retry} time(s)`
            : `its retry-after (${Math.ceil(wait / 1000)} s) is past the step's deadline`;
        throw new ExecutorError(
          'rate_limited',
          `the model server at ${server} is rate limiting requests (429), giving up ${why}: ${message}`,
          {
            retryable: true,
            context: { status: 429, retryAfterMs: wait },
          },
        );
      }
    } catch (error) {
      throw translate(error, { signal, controller, phase, server, apiKey: config.apiKey, timeoutMs: config.timeoutMs });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
    await sleep(wait, undefined, { signal }).catch(() => {
      throw aborted(signal, server);
    });
  }
}

function translate(
  error: unknown,
  how: {
    signal: AbortSignal;
    controller: AbortController;
    phase: 'connect' | 'body';
    server: string;
    apiKey: string | undefined;
    timeoutMs: number;
  },
): unknown {
  if (how.signal.aborted) return aborted(how.signal, how.server);
  if (how.controller.signal.aborted && how.controller.signal.reason instanceof RequestTimedOut) {
    return new ExecutorError(
      'timeout',
      `the model server at ${how.server} did not answer within ${how.timeoutMs} ms (timeoutMs in the model config)`,
      {
        retryable: true,
      },
    );
  }
  if (error instanceof ExecutorError) return error;
  const detail = scrub(networkDetail(error), how.apiKey);
  if (how.phase === 'connect') {
    return new ExecutorError(
      'unreachable',
      `cannot reach the model server at ${how.server}: ${detail}; is it running, and is baseUrl right?`,
      {
        retryable: true,
        cause: error,
      },
    );
  }
  return new ExecutorError(
    'truncated',
    `the connection to the model server at ${how.server} broke before the response was complete: ${detail}`,
    {
      retryable: true,
      cause: error,
    },
  );
}

function aborted(signal: AbortSignal, server: string): ExecutorError {
  return new ExecutorError(
    'aborted',
    `the request to the model server at ${server} was abandoned: ${describeError(signal.reason)}`,
    {
      retryable: true,
      cause: signal.reason,
    },
  );
}

function statusError(status: number, message: string, server: string): ExecutorError {
  const context = { status };
  if (status === 401 || status === 403) {
    return new ExecutorError(
      'unauthorized',
      `the model server at ${server} refused the credentials (${status}): ${message}; check apiKey in the model config`,
      {
        retryable: false,
        context,
      },
    );
  }
  if (status === 408)
    return new ExecutorError('timeout', `the model server at ${server} timed out the request (408): ${message}`, {
      retryable: true,
      context,
    });
  if (status >= 500) {
    return new ExecutorError('upstream_unavailable', `the model server at ${server} failed (${status}): ${message}`, {
      retryable: true,
      context,
    });
  }
  if (status >= 400) {
    const hint = status === 404 ? '; check the model name (upstream) and that baseUrl is the API root' : '';
    return new ExecutorError(
      'invalid_request',
      `the model server at ${server} rejected the request (${status}): ${message}${hint}`,
      {
        retryable: false,
        context,
      },
    );
  }
  return new ExecutorError(
    'upstream_unavailable',
    `the model server at ${server} answered with status ${status}: ${message}`,
    { retryable: true, context },
  );
}

/** Milliseconds to wait after a 429: `retry-after-ms`, `retry-after` (seconds or an HTTP date), else a backoff. */
export function retryAfterMs(headers: Headers, retry: number, now = Date.now()): number {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const value = headers.get('retry-after')?.trim();
  if (value !== undefined && value !== '') {
    if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
    const date = Date.parse(value);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  return DEFAULT_RATE_LIMIT_WAIT_MS * 2 ** retry;
}

async function readLimited(response: Response): Promise<string> {
  if (!response.body) return '';
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length >= MAX_ERROR_BODY) break; // leaving the loop cancels the rest
  }
  return text.slice(0, MAX_ERROR_BODY);
}

/** The message of an error body: OpenAI's `{ error: { message } }`, or what other servers send. */
export function errorMessage(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim().slice(0, 500) || '(no message)';
  }
  const record = (v: unknown): Record<string, unknown> | undefined =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const root = record(parsed);
  const error = root?.error;
  const candidate = typeof error === 'string' ? error : (record(error)?.message ?? root?.message ?? root?.detail);
  const text = typeof candidate === 'string' ? candidate : candidate === undefined ? body : JSON.stringify(candidate);
  return text.trim().slice(0, 500) || '(no message)';
}

/** The key never leaves the executor, even when a server echoes it back. */
export function scrub(text: string, apiKey: string | undefined): string {
  return apiKey === undefined || apiKey === '' ? text : text.split(apiKey).join('[redacted]');
}

/** The most telling part of a fetch failure: the system error code (ECONNREFUSED) where there is one. */
export function networkDetail(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const code = (c: unknown) =>
    c !== null && typeof c === 'object' && 'code' in c && typeof c.code === 'string' ? c.code : undefined;
  const inner: unknown = cause instanceof AggregateError ? (cause.errors[0] as unknown) : cause;
  return code(inner) ?? code(cause) ?? (inner === undefined ? describeError(error) : describeError(inner));
}
