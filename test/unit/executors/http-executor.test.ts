import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/attest/digest.js';
import type { ExecutorContext, ExecutorJob } from '../../../src/executors/executor.js';
import { ExecutorError } from '../../../src/executors/executor.js';
import { HttpExecutor } from '../../../src/executors/http/http-executor.js';
import { startHttpService } from '../../support/http-service.js';
import type { HttpService } from '../../support/http-service.js';

/** The executor on its own against a local service: the cases the node tests do not need a node for. */

const SECRET = 'Bearer unit-secret-value';
let service: HttpService;
let closedPort: number;
let executor: HttpExecutor;

beforeAll(async () => {
  service = await startHttpService();
  // A port that was just free: nothing listens there.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  executor = new HttpExecutor({
    endpoints: [
      { url: `${service.url}/`, methods: ['GET', 'POST', 'DELETE'], headers: { authorization: SECRET } },
      { url: `${service.url}/small/`, max_response_bytes: 64 },
      { url: `http://127.0.0.1:${closedPort}/` },
    ],
  });
});
afterAll(() => service.close());

function job(input: unknown): ExecutorJob {
  return {
    jobId: 'job-1',
    executionId: 'exec-1',
    stepId: 'step',
    attempt: 1,
    stepType: 'inference',
    spec: { workflowDigest: '0'.repeat(64), stepType: 'inference', model: { name: 'builtin/http' } },
    input,
    maxCost: 0,
    deadlineAt: Date.now() + 10_000,
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

describe('HttpExecutor', () => {
  it('an empty 204 is the output null, with the digest of no bytes', async () => {
    service.route('/empty', () => ({ status: 204 }));
    const result = await executor.run(job({ url: `${service.url}/empty`, method: 'DELETE' }), context());
    expect(result.output).toBeNull();
    expect(result.http).toEqual({
      url: `${service.url}/empty`,
      method: 'DELETE',
      status: 204,
      requestDigest: sha256Hex(new Uint8Array()),
      responseDigest: sha256Hex(new Uint8Array()),
    });
  });

  it('a streamed response (no content-length) over the limit is cut off: http_response_too_large', async () => {
    service.route('/small/stream', () => ({
      headers: { 'transfer-encoding': 'chunked' },
      body: JSON.stringify({ data: 'y'.repeat(200) }),
    }));
    const error = await failure(executor.run(job({ url: `${service.url}/small/stream`, body: {} }), context()));
    expect(error).toMatchObject({ code: 'http_response_too_large', retryable: false });
    expect(error.message).toContain('more than 64 bytes');
  });

  it('nothing listening: retryable http_unreachable', async () => {
    const error = await failure(executor.run(job({ url: `http://127.0.0.1:${closedPort}/x`, body: {} }), context()));
    expect(error).toMatchObject({ code: 'http_unreachable', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it("the job's signal ends the request: retryable http_timeout", async () => {
    service.route('/hang', () => ({ delayMs: 5000, body: '{}' }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('the step reached its deadline')), 100);
    const started = Date.now();
    const error = await failure(
      executor.run(job({ url: `${service.url}/hang`, body: {} }), context(controller.signal)),
    );
    expect(error).toMatchObject({ code: 'http_timeout', retryable: true });
    expect(error.message).toContain('the step reached its deadline');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a redirect echoing the secret in its Location never shows it; other statuses get codes', async () => {
    service.route('/moved', (request) => ({
      status: 307,
      headers: { location: `https://elsewhere.example/?leak=${request.headers.authorization ?? ''}` },
    }));
    const moved = await failure(executor.run(job({ url: `${service.url}/moved`, body: {} }), context()));
    expect(moved).toMatchObject({ code: 'http_307', retryable: false });
    expect(moved.message).toContain('https://elsewhere.example/');
    expect(moved.message).not.toContain('unit-secret-value');

    // Only the token echoed, without its "Bearer ": still never shown.
    service.route('/echo-token', (request) => ({
      status: 401,
      body: `bad token ${(request.headers.authorization ?? '').split(' ')[1]}`,
    }));
    const echoed = await failure(executor.run(job({ url: `${service.url}/echo-token`, body: {} }), context()));
    expect(echoed).toMatchObject({ code: 'http_401', retryable: false });
    expect(echoed.message).toContain('bad token [redacted]');

    for (const [status, retryable] of [
      [404, false],
      [409, false],
      [500, true],
      [502, true],
      [504, true],
    ] as const) {
      service.route(`/status/${status}`, () => ({ status, body: `{"error":"status ${status}"}` }));
      const error = await failure(executor.run(job({ url: `${service.url}/status/${status}`, body: {} }), context()));
      expect(error).toMatchObject({ code: `http_${status}`, retryable });
      expect(error.message).toContain(`status ${status}`);
    }
  });

  it('refuses bad input before sending anything', async () => {
    const before = service.requests.length;
    for (const [input, pattern] of [
      [{}, /url/],
      [{ url: 42 }, /url/],
      [{ url: `${service.url}/x`, method: 'TRACE' }, /method/],
      [{ url: `${service.url}/x`, method: 'GET', body: { a: 1 } }, /GET request has no body/],
      [{ url: `${service.url}/x`, query: { a: { nested: 1 } } }, /query/],
      [{ url: `${service.url}/x`, extra: 1 }, /extra/],
      [{ url: `${service.url}/x`, headers: { authorization: 'mine' } }, /no headers from a step/],
      [{ url: `${service.url}/x`, query: { q: 'z'.repeat(17_000) } }, /longer than 16384/],
      ['just a string', /url/],
    ] as const) {
      const error = await failure(executor.run(job(input), context()));
      expect(error.code, JSON.stringify(input)).toBe('invalid_input');
      expect(error.message).toMatch(pattern);
      expect(error.retryable).toBe(false);
    }
    const put = await failure(executor.run(job({ url: `${service.url}/x`, method: 'PUT', body: {} }), context()));
    expect(put).toMatchObject({ code: 'http_not_allowed', retryable: false });
    expect(service.requests.length).toBe(before);
  });
});
