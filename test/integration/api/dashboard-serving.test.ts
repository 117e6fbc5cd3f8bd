import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP } from '../../../src/api/web.js';
import { call } from '../../support/api-http.js';
import { REPO } from '../../support/cli.js';
import { startServerProcess, startTestServer } from '../../support/server.js';
import type { ServerProcess, TestServer } from '../../support/server.js';

/**
 * The web dashboard as `verity serve` serves it (a real process, the built dist/web): the page at `/` and
 * for any path the SPA routes, hashed assets cached for a year, the security headers on all of them, and
 * the API's own paths answering exactly as before. Blobs download as attachments unless they are raster
 * images. Without a built dashboard, `/` says how to build it.
 */
const built = existsSync(join(REPO, 'dist', 'web', 'index.html'));

describe('the dashboard, served by verity serve', () => {
  let dir: string;
  let server: ServerProcess;

  beforeAll(async () => {
    if (!built) throw new Error('dist/web is missing: run `npm run build` before this test');
    dir = mkdtempSync(join(tmpdir(), 'verity-dashboard-serving-'));
    server = await startServerProcess({ dataDir: join(dir, 'data') });
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const expectSecure = (headers: Headers) => {
    expect(headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(headers.get('x-content-type-options')).toBe('nosniff');
    expect(headers.get('referrer-policy')).toBe('no-referrer');
  };

  it('answers the page at / and at any path the page routes itself, with a strict CSP', async () => {
    for (const path of ['/', '/executions/abc', '/some/deep/path?x=1']) {
      const response = await call(server.url, 'GET', path);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.text).toContain('<div id="root">');
      expectSecure(response.headers);
    }
    const csp = DASHBOARD_CSP;
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ])
      expect(csp).toContain(directive);
    expect(csp).not.toContain('unsafe-');
  });

  it('serves hashed assets with a long cache, and nothing outside the assets folder', async () => {
    const names = readdirSync(join(REPO, 'dist', 'web', 'assets'));
    const script = names.find((n) => n.endsWith('.js'))!;
    const response = await call(server.url, 'GET', `/assets/${script}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expectSecure(response.headers);
    expect((await call(server.url, 'GET', '/assets/missing-0000.js')).status).toBe(404);
    expect((await call(server.url, 'GET', '/assets/..%2F..%2Fpackage.json')).status).toBe(404);
    expect((await call(server.url, 'GET', '/assets/.hidden')).status).toBe(404);
    expect((await call(server.url, 'GET', `/assets/sub/${script}`)).status).toBe(404);
  });

  it('never shadows the API, /docs, /openapi.json, /metrics, /healthz or /readyz', async () => {
    const health = await call(server.url, 'GET', '/healthz');
    expect(health.json).toEqual({ status: 'ok' });
    expect((await call(server.url, 'GET', '/readyz')).json).toEqual({ status: 'ready' });
    expect((await call(server.url, 'GET', '/metrics')).status).toBe(401);
    const metrics = await call(server.url, 'GET', '/metrics', { key: server.adminKey });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('verity_');
    const openapi = await call(server.url, 'GET', '/openapi.json');
    expect((openapi.json as { openapi: string }).openapi).toBe('3.1.0');
    const docs = await call(server.url, 'GET', '/docs');
    expect(docs.status).toBe(200);
    expect(docs.text).not.toContain('<div id="root">');
    // The dashboard's CSP would break the documentation page's own scripts: it is not applied there.
    expect(docs.headers.get('content-security-policy')).not.toBe(DASHBOARD_CSP);
    expect((await call(server.url, 'GET', '/v1/executions')).status).toBe(401);
    expect((await call(server.url, 'GET', '/v1/executions', { key: server.adminKey })).status).toBe(200);
    // An unknown path under the API's own prefixes is the API's 404, not the page.
    for (const path of ['/v1/nope', '/v1', '/docs/nope-at-all', '/healthz/x', '/openapi.json/x']) {
      const response = await call(server.url, 'GET', path);
      expect(response.status, path).toBe(404);
      expect(response.text, path).not.toContain('<div id="root">');
    }
    expect((await call(server.url, 'GET', '/v1/nope')).json).toMatchObject({ error: { code: 'not_found' } });
    // Other methods on page paths are not the page's.
    expect((await call(server.url, 'POST', '/executions', { json: {} })).status).toBe(404);
  });

  it('sends blobs with nosniff, raster images inline and everything else as an attachment', async () => {
    const upload = async (bytes: string, mediaType: string) => {
      const response = await call(server.url, 'POST', '/v1/blobs', {
        key: server.adminKey,
        body: new TextEncoder().encode(bytes),
        headers: { 'content-type': mediaType },
      });
      expect(response.status, response.text).toBe(201);
      return (response.json as { $blob: string }).$blob;
    };
    const cases: [string, string, string][] = [
      ['<script>alert(1)</script>', 'text/html', 'attachment'],
      ['<svg xmlns="http://www.w3.org/2000/svg"/>', 'image/svg+xml', 'attachment'],
      ['not really a png', 'image/png', 'inline'],
      ['not really a jpeg', 'IMAGE/JPEG', 'inline'],
      ['plain', 'application/octet-stream', 'attachment'],
    ];
    for (const [bytes, mediaType, disposition] of cases) {
      const digest = await upload(bytes, mediaType);
      const response = await call(server.url, 'GET', `/v1/blobs/${digest}`, { key: server.adminKey });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-content-type-options'), mediaType).toBe('nosniff');
      expect(response.headers.get('content-disposition'), mediaType).toBe(disposition);
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    }
  });
});

describe('a server without a built dashboard', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('sqlite', 'no-dashboard', {
      server: { webRoot: join(tmpdir(), 'verity-no-such-dashboard') },
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('says at / how to build it, and the API is unchanged', async () => {
    const response = await call(server.url, 'GET', '/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.text).toContain('npm run build');
    expect((await call(server.url, 'GET', '/healthz')).json).toEqual({ status: 'ok' });
    expect((await call(server.url, 'GET', '/v1/me', { key: server.adminKey })).json).toMatchObject({
      principal: 'admin',
      role: 'admin',
    });
  });
});
