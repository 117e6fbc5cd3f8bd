import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRoutes, call, pathShape } from '../../support/api-http.js';
import type { AppRoute } from '../../support/api-http.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * The OpenAPI document: a valid OpenAPI 3.1 document, describing every route the app serves (and only
 * those), served without a key at /openapi.json and as a readable page at /docs.
 */

/** Operational routes that are left out of the document on purpose; every other route must be in it. */
const UNDOCUMENTED = ['/healthz', '/readyz', '/metrics', '/openapi.json', '/', '/*'];
const isUndocumented = (route: AppRoute) =>
  UNDOCUMENTED.includes(route.path) || route.path === '/docs' || route.path.startsWith('/docs/');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Operation {
  operationId?: string;
  parameters?: { in: string; name: string; required?: boolean }[];
  responses?: Record<string, unknown>;
  security?: unknown[];
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
  security?: unknown[];
}

describe('the OpenAPI document', () => {
  let server: TestServer;
  let document: Document;

  beforeAll(async () => {
    server = await startTestServer('sqlite', 'openapi', { node: { workers: 0 }, server: { closeGraceMs: 200 } });
    const response = await call(server.url, 'GET', '/openapi.json');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    document = response.json as Document;
  });
  afterAll(() => server?.close());

  it('is a valid OpenAPI 3.1 document whose references all resolve', async () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>);
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toMatch(/^3\.1/);
    // Every $ref points at something.
    const resolved = JSON.stringify(validator.resolveRefs());
    expect(resolved).not.toContain('"$ref"');
  });

  it('fails the validator when it is broken (so the check above can fail)', async () => {
    const broken = structuredClone(document) as unknown as Record<string, unknown>;
    delete broken.info;
    expect((await new Validator().validate(broken)).valid).toBe(false);
    const badParameter = structuredClone(document);
    const first = Object.values(badParameter.paths)[0]!;
    Object.values(first)[0]!.parameters = [{ in: 'nowhere', name: 'x' }];
    expect((await new Validator().validate(badParameter as unknown as Record<string, unknown>)).valid).toBe(false);
  });

  it('describes every route of the app, and no route the app does not serve', () => {
    const routes = appRoutes(server.app);
    expect(routes.length).toBeGreaterThan(30);
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m.toUpperCase()} ${pathShape(path)}`),
      ),
    );
    const served = new Set(routes.map((r) => `${r.method} ${pathShape(r.path)}`));
    const missing = routes
      .filter((r) => !isUndocumented(r) && !documented.has(`${r.method} ${pathShape(r.path)}`))
      .map((r) => `${r.method} ${r.path}`);
    expect(missing, 'routes the document does not describe').toEqual([]);
    expect(
      [...documented].filter((d) => !served.has(d)),
      'documented routes the app does not serve',
    ).toEqual([]);
    // The plan's routes, by the names it gives them.
    for (const path of [
      '/v1/agents/{workflow_id}/execute',
      '/v1/agents/{execution_id}/status',
      '/v1/agents/{execution_id}/receipt',
    ])
      expect(Object.keys(document.paths)).toContain(path);
  });

  it('declares every path parameter, and answers and security for every operation', () => {
    expect(document.components?.securitySchemes).toHaveProperty('apiKey');
    expect(document.security).toEqual([{ apiKey: [] }]);
    for (const [path, item] of Object.entries(document.paths)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const [method, operation] of Object.entries(item)) {
        if (!METHODS.includes(method)) continue;
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(declared.sort(), `${method} ${path}`).toEqual([...templated].sort());
        expect(Object.keys(operation.responses ?? {}).length, `${method} ${path} has no responses`).toBeGreaterThan(0);
      }
    }
  });

  it('names every operation with a unique camelCase operationId, so generated clients get usable method names', () => {
    const ids = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, operation]) => ({ operation: `${method.toUpperCase()} ${path}`, id: operation.operationId })),
    );
    expect(ids.length).toBeGreaterThanOrEqual(38);
    expect(
      ids.filter((o) => o.id === undefined).map((o) => o.operation),
      'operations without an operationId',
    ).toEqual([]);
    for (const { operation, id } of ids) expect(id, operation).toMatch(/^[a-z][A-Za-z0-9]+$/);
    const seen = new Map<string, string[]>();
    for (const { operation, id } of ids) seen.set(id!, [...(seen.get(id!) ?? []), operation]);
    expect(
      [...seen].filter(([, operations]) => operations.length > 1),
      'operationIds used twice',
    ).toEqual([]);
    // Clients call these by name: they are part of the API and do not change.
    const idOf = (method: string, path: string) => document.paths[path]?.[method]?.operationId;
    expect(idOf('post', '/v1/agents/{workflow_id}/execute')).toBe('executeAgent');
    expect(idOf('get', '/v1/agents/{execution_id}/status')).toBe('getExecutionStatus');
    expect(idOf('get', '/v1/agents/{execution_id}/receipt')).toBe('getReceipt');
    expect(idOf('get', '/v1/executions')).toBe('listExecutions');
    expect(idOf('post', '/v1/worker/claim')).toBe('claimJob');
  });

  it('is served without a key, and /docs shows it as a page', async () => {
    const page = await call(server.url, 'GET', '/docs');
    expect(page.status, page.text.slice(0, 300)).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toMatch(/<html/i);
    expect(page.text).toMatch(/swagger/i);
    // The page's script and the document it loads are public too: a browser sends no API key.
    const initializer = await call(server.url, 'GET', '/docs/static/swagger-initializer.js');
    expect(initializer.status).toBe(200);
    const json = await call(server.url, 'GET', '/docs/json');
    expect(json.status).toBe(200);
    expect(json.json).toEqual(document);
  });
});
