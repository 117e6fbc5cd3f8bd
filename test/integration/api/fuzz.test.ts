import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestsFor } from '../../support/api-fuzz.js';
import type { FuzzPools, FuzzRequest, JsonSchema } from '../../support/api-fuzz.js';
import { appRoutes, call } from '../../support/api-http.js';
import type { AppRoute } from '../../support/api-http.js';
import { storeCounts } from '../../support/api-state.js';
import { schemasOf } from '../../support/attack/requests.js';
import type { StoreCounts } from '../../support/api-state.js';
import { HttpWorker } from '../../support/http-worker.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * Property-based requests against every route the app serves (read from the app itself, so a new route
 * is fuzzed without anyone listing it): whatever arrives, the server answers with a 4xx (or a 2xx for a
 * request that only reads), never a 5xx, and the state in the store is exactly as before.
 *
 * Requests that could legitimately change the state are kept out of reach: the only execution is
 * completed (cancel and retry refuse it), the published workflow's inputs need a value no generator
 * draws, and no key id or worker id that a DELETE or a deregistration could act on is offered. The one
 * that remains, an admin creating a key with a valid body, is accounted for: each 201 adds its key.
 */

// About 100 requests a route keeps the file under 15 s; FUZZ_RUNS=2000 for a long hunt.
const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 100);
const BODY_LIMIT = 64 * 1024;
const INPUT_GUARD = 'the-fuzzer-cannot-draw-this-3f9c1e';

const workflow = {
  id: 'fuzz-flow',
  name: 'Fuzz flow',
  version: 1,
  inputs: { type: 'object', required: ['guard'], properties: { guard: { const: INPUT_GUARD } } },
  steps: [echo('a', { input_mappings: { guard: 'inputs.guard' } })],
  outputs: { guard: 'steps.a.output.guard' },
};

/** The parts of /openapi.json the generators read. */
interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
        parameters?: { in: string; name: string; schema: JsonSchema }[];
      }
    >
  >;
  components?: { schemas?: Record<string, JsonSchema> };
}

// The route table is needed to name the tests, before any hook runs: a server built just to read it.
const routes: AppRoute[] = await (async () => {
  const probe = await startTestServer('sqlite', 'fuzz-routes', { node: { workers: 0 }, server: { closeGraceMs: 0 } });
  try {
    return appRoutes(probe.app);
  } finally {
    await probe.close();
  }
})();

describe('every route, fuzzed', () => {
  let server: TestServer;
  let pools: FuzzPools;
  let workerPools: FuzzPools;
  let baseline: StoreCounts;
  let openapi: OpenApiDocument;

  beforeAll(async () => {
    server = await startTestServer('sqlite', 'fuzz', {
      // No in-process worker: nothing changes the store but the requests.
      node: { workers: 0 },
      // No rate limit in the way of a thousand requests a minute; short long polls; a small body limit.
      server: { rateLimitPerMinute: 1_000_000, maxClaimWaitMs: 20, bodyLimit: BODY_LIMIT, closeGraceMs: 200 },
    });
    const [client, publisher, workerKey] = await Promise.all([
      server.key('fuzz-client', 'client'),
      // The client's own principal: the plan's execute route runs only the caller's own workflows.
      server.key('fuzz-client', 'publisher'),
      server.key('fuzz-worker', 'worker'),
    ]);
    expect((await call(server.url, 'POST', '/v1/workflows', { key: publisher, json: workflow })).status).toBe(201);
    const started = await call(server.url, 'POST', '/v1/agents/fuzz-flow/execute', {
      key: client,
      json: { inputs: { guard: INPUT_GUARD } },
    });
    expect(started.status, started.text).toBe(202);
    const executionId = (started.json as { executionId: string }).executionId;
    // A completed execution with a receipt, run by a worker over HTTP, so every route has something real to find.
    const worker = await new HttpWorker(server.url, workerKey).register();
    const job = await worker.claimJob(executionId);
    expect((await worker.complete(job)).status).toBe(200);
    await server.test.node.waitFor(executionId);
    const bundle = await call(server.url, 'GET', `/v1/executions/${executionId}/receipt`, { key: client });
    expect(bundle.status).toBe(200);

    const ids: Record<string, string[]> = {
      '*': [executionId, 'fuzz-flow', job.jobId],
      id: [executionId, 'fuzz-flow', '0000000000000000'],
      execution_id: [executionId],
      workflow_id: ['fuzz-flow'],
      jobId: [job.jobId],
      workerId: [worker.id],
      nonce: [job.nonce],
      principal: ['fuzz-client', 'admin'],
    };
    pools = { ids, keys: [client, publisher, workerKey, server.adminKey, undefined], bodyLimit: BODY_LIMIT };
    // Deregistering the one worker would be a request that succeeds: that route never gets its id.
    workerPools = { ...pools, ids: { ...ids, workerId: [] } };
    openapi = (await call(server.url, 'GET', '/openapi.json')).json as typeof openapi;
    baseline = await storeCounts(server.test.node.store);
  });
  afterAll(() => server?.close());

  it('covers the routes of the app', () => {
    expect(routes.length).toBeGreaterThan(30);
    expect(routes).toContainEqual({ method: 'POST', path: '/v1/agents/:workflow_id/execute' });
    expect(routes).toContainEqual({ method: 'POST', path: '/v1/worker/jobs/:jobId/complete' });
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))(
    '%s: never a 5xx, never a changed state',
    async (_name, route) => {
      const seen: { request: FuzzRequest; status: number }[] = [];
      /** Keys an admin created with a valid request: the one success the generators can reach. */
      const created: string[] = [];
      await fc.assert(
        fc.asyncProperty(
          requestsFor(route, route.path === '/v1/worker/deregister' ? workerPools : pools, schemasOf(openapi, route)),
          async (request) => {
            let response: Response;
            try {
              response = await fetch(`${server.url}${request.url}`, {
                method: request.method,
                headers: request.headers,
                ...(request.body !== undefined && { body: request.body }),
                // The server's answer is what is tested, a redirect included: not where it leads.
                redirect: 'manual',
                signal: AbortSignal.timeout(10_000),
              });
            } catch (error) {
              // fetch refuses some requests before they leave (a header it will not send): not the server's doing.
              if (error instanceof TypeError && !/fetch failed/.test(error.message)) return;
              throw error;
            }
            const type = response.headers.get('content-type') ?? '';
            const text = type.startsWith('text/event-stream') ? '' : await response.text();
            if (type.startsWith('text/event-stream')) await response.body?.cancel();
            seen.push({ request, status: response.status });
            const what = `${request.method} ${request.url.slice(0, 200)} → ${response.status} ${text.slice(0, 300)}`;
            expect(response.status, what).toBeLessThan(500);
            if (request.method === 'POST' && request.url.split('?')[0] === '/v1/keys' && response.status === 201)
              created.push((JSON.parse(text) as { id: string }).id);
            // A refusal says what is wrong in the API's error shape (or, for a worker's report, as an outcome);
            // 431 comes from Node's HTTP parser, before the app sees the request.
            if (response.status >= 400 && response.status !== 431 && request.method !== 'HEAD') {
              const body = parseJson(text) as
                { error?: { code?: unknown; message?: unknown }; accepted?: unknown } | undefined;
              const ok =
                (typeof body?.error?.code === 'string' && typeof body.error.message === 'string') ||
                body?.accepted === false;
              expect(ok, what).toBe(true);
            }
          },
        ),
        { numRuns: RUNS_PER_ROUTE },
      );
      // Refused worker reports leave a record of the refusal in the history, by design; nothing else may change.
      const after = await storeCounts(server.test.node.store);
      const expected = {
        ...baseline,
        activeKeys: [...baseline.activeKeys, ...created].sort(),
        refusedResults: after.refusedResults,
      };
      // The next route starts from here, so one route's change is reported once, by that route.
      baseline = after;
      expect(after).toEqual(expected);
      // The fuzzer reached the route itself, not only the not-found handler or the authentication hook. A
      // wildcard of static files (the API docs' assets) answers 404 itself for every name it does not hold,
      // which random names almost never are: there a 404 is the route's own answer.
      if (!route.path.endsWith('*')) {
        expect(
          seen.some((s) => s.status !== 404 && s.status !== 401),
          `${route.method} ${route.path}: ${JSON.stringify(seen.map((s) => s.status))}`,
        ).toBe(true);
      }
    },
  );
});

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
