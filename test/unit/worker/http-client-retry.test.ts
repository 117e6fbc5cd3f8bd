import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { httpWorkerClient } from '../../../src/worker/http-client.js';

/**
 * The remote worker's retry policy for its reports, against an HTTP server that answers as a busy or
 * restarting Verity server does: a job's result must not be dropped because the server said 429 or 503
 * once, and must not be sent twice when the server gave a real answer.
 */
type Answer = { status: number; headers?: Record<string, string>; body?: unknown };

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(answers: Answer[]): Promise<{ url: string; requests: { path: string; at: number }[] }> {
  const requests: { path: string; at: number }[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume().on('end', () => {
      requests.push({ path: request.url ?? '', at: Date.now() });
      const answer = answers.shift() ?? { status: 500, body: { error: { message: 'no more answers' } } };
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = () => new Promise((resolve) => server.close(() => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const report = { jobId: 'job-1', workerId: 'w', attempt: 1, nonce: 'n', output: { ok: true } };

describe('the remote worker client', () => {
  it('sends a result again after a 429, waiting the Retry-After the server gave', async () => {
    const { url, requests } = await serve([
      { status: 429, headers: { 'retry-after': '1' }, body: { error: { code: 'rate_limited' } } },
      { status: 200, body: { accepted: true } },
    ]);
    const client = httpWorkerClient(url, 'key', LocalSigner.generate());
    expect(await client.complete(report)).toEqual({ accepted: true });
    expect(requests.map((r) => r.path)).toEqual(['/v1/worker/jobs/job-1/complete', '/v1/worker/jobs/job-1/complete']);
    expect(requests[1]!.at - requests[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('sends a result again after a 503, and a start too', async () => {
    const { url, requests } = await serve([
      { status: 503 },
      { status: 204 },
      { status: 503 },
      { status: 503 },
      { status: 200, body: { accepted: true } },
    ]);
    const client = httpWorkerClient(url, 'key', LocalSigner.generate());
    expect(await client.start(report)).toBe(true);
    expect(await client.complete(report)).toEqual({ accepted: true });
    expect(requests).toHaveLength(5);
  });

  it('takes a refusal as the answer: a 409 is not sent again', async () => {
    const { url, requests } = await serve([
      { status: 409, body: { accepted: false, reason: 'already_finished', message: 'done' } },
    ]);
    const client = httpWorkerClient(url, 'key', LocalSigner.generate());
    expect(await client.complete(report)).toEqual({ accepted: false, reason: 'already_finished', message: 'done' });
    expect(requests).toHaveLength(1);
  });

  it('gives up after a bounded number of tries and says why', async () => {
    const { url, requests } = await serve(Array.from({ length: 10 }, () => ({ status: 503 })));
    const client = httpWorkerClient(url, 'key', LocalSigner.generate());
    await expect(client.complete(report)).rejects.toThrow(/503/);
    expect(requests).toHaveLength(6);
  }, 20_000);
});
