import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { call } from '../../support/api-http.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * The ledger's system accounts (sys:platform, sys:compute, sys:external) are names no API key can take: a
 * principal name has no ':'. Refused with a 400 naming the field over HTTP, and a usage error naming --name
 * in the CLI, before anything is written.
 */
describe('principal names in the system namespace', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', 'reserved-principals', { node: { workers: 0 } });
  });
  afterAll(() => server?.close());

  it('are refused by POST /v1/keys with a 400 that names the field', async () => {
    const before = (await server.context.keys.list()).length;
    for (const principal of ['sys:platform', 'sys:compute', 'sys:external', 'sys:new', 'a:b']) {
      const response = await call(server.url, 'POST', '/v1/keys', {
        key: server.adminKey,
        json: { principal, role: 'publisher' },
      });
      expect(response.status).toBe(400);
      expect(response.json).toMatchObject({ error: { code: 'validation' } });
      const message = (response.json as { error: { message: string } }).error.message;
      expect(message).toContain(`principal "${principal}"`);
      expect(message).toContain('reserved');
    }
    expect(await server.context.keys.list()).toHaveLength(before);
    const ok = await call(server.url, 'POST', '/v1/keys', {
      key: server.adminKey,
      json: { principal: 'sys-platform', role: 'publisher' },
    });
    expect(ok.status).toBe(201);
  });

  it('are refused by verity keys create --name, as a usage error naming the flag', async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const code = await main(['node', 'verity', 'keys', 'create', '--role', 'client', '--name', 'sys:platform']);
      expect(code).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toContain('--name: principal "sys:platform"');
  });
});
