import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { httpWorkerClient, parseServerList } from '../../../src/worker/http-client.js';

/**
 * A remote worker given several replicas: against real sockets, one replica refusing connections, failing
 * (5xx) or cut off mid-answer, the client moves on to the next one at once, stays there, and a result the
 * first did not acknowledge is delivered to the second.
 */
type Answer = { status: number; body?: unknown; raw?: string } | 'hang-up' | 'cut-mid-body' | 'silence';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise<void>((resolve) => (s.closeAllConnections(), s.close(() => resolve())))),
  );
});

async function replica(answers: Answer[]): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume().on('end', () => {
      requests.push(request.url ?? '');
      const answer = answers.shift() ?? { status: 500, body: { error: { message: 'no more answers' } } };
      // A replica killed while it answers: the connection ends with no response.
      if (answer === 'hang-up') return void request.socket.destroy();
      // Cut off by the network: the request went in, nothing ever comes back.
      if (answer === 'silence') return;
      if (answer === 'cut-mid-body') {
        // Killed after the head and part of the body: the status looked fine, the body never ends.
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        response.write('{"accepted":');
        return void setTimeout(() => request.socket.destroy(), 20);
      }
      response.writeHead(answer.status, { 'content-type': answer.raw ? 'text/html' : 'application/json' });
      response.end(answer.raw ?? (answer.body === undefined ? '' : JSON.stringify(answer.body)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A URL where nothing listens: connections are refused, as on a replica that was killed. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const report = { jobId: 'job-1', workerId: 'w', attempt: 1, nonce: 'n', output: { ok: true } };
const accepted = { status: 200, body: { accepted: true } };

describe('the remote worker client with several replicas', () => {
  it('moves on at once from a replica that refuses connections, and stays on the one that answers', async () => {
    const dead = await deadUrl();
    const live = await replica([accepted, { status: 200, body: { state: 'ok' } }]);
    const moves: string[] = [];
    const pauses: number[] = [];
    const client = httpWorkerClient([dead, live.url], 'key', LocalSigner.generate(), {
      onFailover: (from, to) => moves.push(`${from} -> ${to}`),
      onPause: (ms) => pauses.push(ms),
    });
    expect(await client.complete(report)).toEqual({ accepted: true });
    // No back-off before the next replica: that is for when every replica failed.
    expect(pauses).toEqual([]);
    expect(await client.heartbeat(report)).toBe('ok');
    expect(live.requests).toEqual(['/v1/worker/jobs/job-1/complete', '/v1/worker/jobs/job-1/heartbeat']);
    expect(moves).toEqual([`${dead} -> ${live.url}`]);
  });

  it('moves on from a replica that answers 5xx, without waiting', async () => {
    const failing = await replica([{ status: 502 }, { status: 200, body: { state: 'ok' } }]);
    const live = await replica([accepted]);
    const pauses: number[] = [];
    const client = httpWorkerClient(`${failing.url},${live.url}`, 'key', LocalSigner.generate(), {
      onPause: (ms) => pauses.push(ms),
    });
    expect(await client.complete(report)).toEqual({ accepted: true });
    expect(pauses).toEqual([]);
    expect(failing.requests).toHaveLength(1);
    expect(live.requests).toHaveLength(1);
  });

  it('delivers a result to the next replica when the first is cut off before it answers', async () => {
    // The first may have stored it: the second's answer, `already_finished`, is the outcome then.
    const cut = await replica(['hang-up']);
    const live = await replica([
      { status: 409, body: { accepted: false, reason: 'already_finished', message: 'done' } },
    ]);
    const client = httpWorkerClient([cut.url, live.url], 'key', LocalSigner.generate());
    expect(await client.complete(report)).toEqual({ accepted: false, reason: 'already_finished', message: 'done' });
    expect(cut.requests).toEqual(['/v1/worker/jobs/job-1/complete']);
    expect(live.requests).toEqual(['/v1/worker/jobs/job-1/complete']);
  });

  it('claims on the next replica when the one in use dies during the long poll', async () => {
    const cut = await replica(['hang-up']);
    const job = { jobId: 'job-2', executionId: 'e', stepId: 's', attempt: 1 };
    const live = await replica([{ status: 200, body: job }]);
    const client = httpWorkerClient([cut.url, live.url], 'key', LocalSigner.generate());
    const claimed = await client.claim('w', { stepTypes: [], models: [] }, 10_000, new AbortController().signal);
    expect(claimed).toEqual(job);
    expect(live.requests).toEqual(['/v1/worker/claim']);
  });

  it('comes back round to the first replica when the second dies too, and gives up only when all are down', async () => {
    const first = await replica([{ status: 503 }, accepted]);
    const dead = await deadUrl();
    const pauses: number[] = [];
    const client = httpWorkerClient([first.url, dead], 'key', LocalSigner.generate(), {
      onPause: (ms) => pauses.push(ms),
    });
    // 503 on the first, refused on the second: a pause, then the first again.
    expect(await client.complete(report)).toEqual({ accepted: true });
    expect(first.requests).toHaveLength(2);
    expect(pauses).toEqual([250]);

    const none = httpWorkerClient([await deadUrl(), await deadUrl()], 'key', LocalSigner.generate());
    await expect(none.heartbeat(report)).rejects.toMatchObject({ code: 'unreachable' });
  }, 20_000);

  // Regression: the body was read outside the error handling, so a replica killed mid-answer threw past the
  // retries and the result was dropped; and a proxy's HTML error page was a JSON syntax error, not a 502.
  it('takes an answer cut off mid-body as no answer, and sends the result again (one server too)', async () => {
    const flaky = await replica(['cut-mid-body', accepted]);
    const client = httpWorkerClient(flaky.url, 'key', LocalSigner.generate());
    expect(await client.complete(report)).toEqual({ accepted: true });
    expect(flaky.requests).toHaveLength(2);
  });

  it("takes a load balancer's HTML 502 page as a failing replica and moves on", async () => {
    const proxy = await replica([{ status: 502, raw: '<html><body>502 Bad Gateway</body></html>' }]);
    const live = await replica([accepted]);
    const client = httpWorkerClient([proxy.url, live.url], 'key', LocalSigner.generate());
    expect(await client.complete(report)).toEqual({ accepted: true });
    expect(live.requests).toHaveLength(1);
  });

  // Regression: a heartbeat waited 30 s for a silent replica, twice a default lease, so the job was lost
  // before the worker looked elsewhere.
  it('leaves a replica that does not answer a heartbeat well within a lease', async () => {
    const silent = await replica(['silence']);
    const live = await replica([{ status: 200, body: { state: 'ok' } }]);
    const client = httpWorkerClient([silent.url, live.url], 'key', LocalSigner.generate());
    const started = Date.now();
    expect(await client.heartbeat(report)).toBe('ok');
    expect(Date.now() - started).toBeLessThan(15_000 / 2);
    expect(silent.requests).toHaveLength(1);
  }, 20_000);

  it('checks the list it is given and names the field', () => {
    expect(parseServerList(' http://a:1/, http://b:2 ')).toEqual(['http://a:1', 'http://b:2']);
    expect(() => parseServerList('', '--server')).toThrow(/--server: give at least one server URL/);
    expect(() => parseServerList('http://a:1,a.example', '--server')).toThrow(/--server: "a.example" is not a URL/);
    expect(() => parseServerList('ftp://a:1', '--server')).toThrow(/not an http\(s\) URL/);
    expect(() => parseServerList('http://a:1,http://a:1/', '--server')).toThrow(/given twice/);
  });
});
