import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import type { Store } from '../../../src/store/store.js';
import { call } from '../../support/api-http.js';
import type { RawRequest, RawResponse } from '../../support/api-http.js';
import { storeCounts } from '../../support/api-state.js';
import { BACKENDS, backendAvailable, createBackend } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';
import { streamUpload } from '../../support/upload.js';

/**
 * Per-principal quotas on a real `verity serve`, set low through their environment variables: running
 * executions, open event streams, uploaded bytes. Each refusal is a 429 whose body names the quota and its
 * limit, changes nothing in the store or the blob directory, and touches no other principal.
 */

// No worker serves this model, so its executions stay running for as long as a test needs.
const stuckFlow = {
  id: 'quota-stuck',
  name: 'Quota stuck',
  version: 1,
  steps: [{ id: 'wait', step_type: 'inference', model_requirements: { name: 'nobody/serves-this' } }],
};

const quotaBody = (quota: string, limit: number) => ({
  error: { code: 'quota_exceeded', quota, limit, message: expect.stringContaining(`quota ${quota}`) as string },
});
const digestOf = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Files under the blob store's content directory and its temporary one. */
function blobFiles(dataDir: string): string[] {
  return ['sha256', 'tmp']
    .map((d) => join(dataDir, 'blobs', d))
    .filter((d) => existsSync(d))
    .flatMap((d) =>
      readdirSync(d, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name)),
    );
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`per-principal quotas through a real server (${kind})`, () => {
    let backend: BackendFixture;
    let server: ServerProcess;
    let store: Store;
    const keys: Record<string, string> = {};
    const as = (who: string, method: string, path: string, options: RawRequest = {}): Promise<RawResponse> =>
      call(server.url, method, path, { key: keys[who]!, ...options });
    // Each principal runs its own copy: the plan's execute route runs only the caller's own workflows.
    const execute = (who: string, headers: Record<string, string> = {}) =>
      as(who, 'POST', `/v1/agents/quota-stuck-${who.replace(/\d+$/, '')}/execute`, { json: { inputs: {} }, headers });
    const idOf = (response: RawResponse) => (response.json as { executionId: string }).executionId;

    beforeAll(async () => {
      backend = await createBackend(kind, 'quotas');
      server = await startServerProcess({
        dataDir: backend.dataDir,
        ...(backend.databaseUrl && { databaseUrl: backend.databaseUrl }),
        env: { VERITY_QUOTA_RUNNING_EXECUTIONS: '2', VERITY_QUOTA_STREAMS: '2', VERITY_QUOTA_BLOB_BYTES: '1000' },
      });
      keys.admin = server.adminKey;
      for (const [name, principal, role] of [
        ['alice-publisher', 'alice', 'publisher'],
        ['bob-publisher', 'bob', 'publisher'],
        ['alice', 'alice', 'client'],
        ['bob', 'bob', 'client'],
      ] as const) {
        keys[name] = (
          (await as('admin', 'POST', '/v1/keys', { json: { principal, role } })).json as { token: string }
        ).token;
      }
      // A second key of Alice's: quotas are per principal, not per key.
      keys.alice2 = (
        (await as('admin', 'POST', '/v1/keys', { json: { principal: 'alice', role: 'client' } })).json as {
          token: string;
        }
      ).token;
      for (const principal of ['alice', 'bob']) {
        const published = await as(`${principal}-publisher`, 'POST', '/v1/workflows', {
          json: { ...stuckFlow, id: `quota-stuck-${principal}` },
        });
        expect(published.status, published.text).toBe(201);
      }
      store = await openStore({ dataDir: backend.dataDir, databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await store?.close();
      await server?.stop();
      await backend?.cleanup();
    });

    it('running executions: the third start of a principal is a 429 naming the quota; it starts nothing', async () => {
      const first = await execute('alice', { 'idempotency-key': 'first' });
      const second = await execute('alice2');
      expect([first.status, second.status]).toEqual([202, 202]);
      const before = await storeCounts(store);

      const refused = await execute('alice');
      expect(refused.status, refused.text).toBe(429);
      expect(refused.json).toEqual(quotaBody('running_executions', 2));
      expect(await storeCounts(store)).toEqual(before);
      // Another principal has its own quota; a repeated Idempotency-Key answers the execution it started.
      const bobs = await execute('bob');
      expect(bobs.status).toBe(202);
      const replay = await execute('alice', { 'idempotency-key': 'first' });
      expect(replay.status, replay.text).toBe(202);
      expect(idOf(replay)).toBe(idOf(first));

      // One ends: there is room for one more, and a retry is a start like any other.
      expect((await as('alice', 'POST', `/v1/executions/${idOf(first)}/cancel`)).status).toBe(200);
      const third = await execute('alice');
      expect(third.status, third.text).toBe(202);
      const snapshot = await store.read.getExecution(idOf(first));
      const retry = await as('alice', 'POST', `/v1/executions/${idOf(first)}/retry`, { json: {} });
      expect(retry.status, retry.text).toBe(429);
      expect(retry.json).toEqual(quotaBody('running_executions', 2));
      expect(await store.read.getExecution(idOf(first))).toEqual(snapshot);
      for (const id of [idOf(second), idOf(third), idOf(bobs)])
        await as('admin', 'POST', `/v1/executions/${id}/cancel`);
    });

    it('event streams: a third open stream of a principal is a 429 naming the quota; closing one makes room', async () => {
      const running = await execute('bob');
      const id = idOf(running);
      const open = () => {
        const controller = new AbortController();
        const response = fetch(`${server.url}/v1/executions/${id}/events`, {
          headers: { authorization: `Bearer ${keys.bob}` },
          signal: controller.signal,
        });
        return { controller, response };
      };
      const streams = [open(), open()];
      for (const s of streams) expect((await s.response).status).toBe(200);

      const refused = await as('bob', 'GET', `/v1/executions/${id}/events`);
      expect(refused.status, refused.text).toBe(429);
      expect(refused.json).toEqual(quotaBody('streams', 2));
      // Another principal (the admin) still may follow Bob's execution.
      expect((await as('admin', 'GET', `/v1/executions/${id}/events`)).status).toBe(200);

      streams[0]!.controller.abort();
      // The server notices the hang-up on its own time.
      let again: RawResponse | undefined;
      for (let i = 0; i < 50; i++) {
        again = await as('bob', 'GET', `/v1/executions/${id}/events`);
        if (again.status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(again?.status).toBe(200);
      streams[1]!.controller.abort();
      await as('admin', 'POST', `/v1/executions/${id}/cancel`);
    });

    it('uploaded bytes: an upload past the quota is a 429 naming it, declared or not, and stores nothing', async () => {
      const six = Buffer.alloc(600, 1);
      const first = await streamUpload(server.url, keys.alice!, [six], { declare: 600 });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      // The same bytes again: counted once.
      expect((await streamUpload(server.url, keys.alice2!, [six], { declare: 600 })).status).toBe(201);
      const files = blobFiles(backend.dataDir);
      const counts = await storeCounts(store);

      const five = Buffer.alloc(500, 2);
      const declared = await streamUpload(server.url, keys.alice!, [five], { declare: 500 });
      const chunked = await streamUpload(server.url, keys.alice!, [five.subarray(0, 250), five.subarray(250)]);
      for (const refused of [declared, chunked]) {
        expect(refused.status, JSON.stringify(refused.body)).toBe(429);
        expect(refused.body).toEqual(quotaBody('blob_bytes', 1000));
      }
      expect(blobFiles(backend.dataDir)).toEqual(files);
      expect(await storeCounts(store)).toEqual(counts);
      expect(await store.read.blobBytesUploaded('alice')).toBe(600);
      expect(await store.read.getBlob(digestOf(five))).toBeUndefined();
      expect(await store.read.hasBlobGrant(digestOf(five), 'alice')).toBe(false);

      // Up to the quota exactly still fits; Bob's quota is his own.
      expect((await streamUpload(server.url, keys.alice!, [Buffer.alloc(400, 3)])).status).toBe(201);
      expect((await streamUpload(server.url, keys.bob!, [five])).status).toBe(201);
      expect(await store.read.blobBytesUploaded('alice')).toBe(1000);
    });
  });
}
