import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../support/api-http.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';
import { blobChunks, streamUpload } from '../../support/upload.js';

/**
 * The server's request timeout (VERITY_REQUEST_TIMEOUT_MS, 5 minutes by default; 2 s here) bounds how long
 * a client may take to send a request: an upload that stalls is cut and leaves no file. It does not bound
 * answers: an event stream stays open past it and goes on delivering events.
 */
const stuckFlow = {
  id: 'timeout-stuck',
  name: 'Timeout stuck',
  version: 1,
  steps: [{ id: 'wait', step_type: 'inference', model_requirements: { name: 'nobody/serves-this' } }],
};

describe('the request timeout of a real server', () => {
  let server: ServerProcess;
  let dataDir: string;
  let key: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'verity-request-timeout-'));
    server = await startServerProcess({ dataDir, env: { VERITY_REQUEST_TIMEOUT_MS: '2000' } });
    const publisher = (
      await call(server.url, 'POST', '/v1/keys', {
        key: server.adminKey,
        // Alice's own publisher key: the plan's execute route runs only the caller's own workflows.
        json: { principal: 'alice', role: 'publisher' },
      })
    ).json as { token: string };
    expect((await call(server.url, 'POST', '/v1/workflows', { key: publisher.token, json: stuckFlow })).status).toBe(
      201,
    );
    key = (
      (
        await call(server.url, 'POST', '/v1/keys', {
          key: server.adminKey,
          json: { principal: 'alice', role: 'client' },
        })
      ).json as { token: string }
    ).token;
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('cuts an upload that stops sending (408) and removes its file', async () => {
    const started = Date.now();
    const result = await streamUpload(server.url, key, blobChunks(1, 10), {
      declare: 10_000_000,
      stallAfter: 3_000_000,
    });
    expect(result.status).toBe(408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    const tmp = join(dataDir, 'blobs', 'tmp');
    const deadline = Date.now() + 10_000;
    while (existsSync(tmp) && readdirSync(tmp).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(tmp) ? readdirSync(tmp) : []).toEqual([]);
  });

  it('keeps an event stream open past it, delivering events to the end', async () => {
    const started = await call(server.url, 'POST', '/v1/agents/timeout-stuck/execute', { key, json: { inputs: {} } });
    expect(started.status).toBe(202);
    const id = (started.json as { executionId: string }).executionId;
    const response = await fetch(`${server.url}/v1/executions/${id}/events`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.status).toBe(200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    // Twice the request timeout with the stream open, then an event that only a live stream can carry.
    await new Promise((r) => setTimeout(r, 4_000));
    expect((await call(server.url, 'POST', `/v1/executions/${id}/cancel`, { key })).status).toBe(200);
    while (!text.includes('event: end')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    expect(text).toContain('event: execution.cancelled');
    expect(text).toContain('event: end');
  });
});
