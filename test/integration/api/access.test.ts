import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../../src/api/server.js';
import { echo, startTestNode } from '../../support/node.js';
import { appRoutes, call, errorCode, fillPath } from '../../support/api-http.js';
import type { AppRoute, RawResponse } from '../../support/api-http.js';
import { executionSnapshot, storeCounts } from '../../support/api-state.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * Who may do what over the API: clients see only their own executions (and cannot tell another's from
 * one that does not exist), every route checks the role of the key, revoked and bad keys are refused,
 * and no secret reaches the logs.
 */

const echoFlow = {
  id: 'access-echo',
  name: 'Access echo',
  version: 1,
  steps: [echo('a', { input_mappings: { text: 'inputs.text' } })],
  outputs: { text: 'steps.a.output.text' },
};
const alicesEcho = { ...echoFlow, id: 'access-echo-alice' };
// No worker serves this model, so an execution of it stays running for as long as the test needs.
const stuckFlow = {
  id: 'access-stuck',
  name: 'Access stuck',
  version: 1,
  steps: [{ id: 'wait', step_type: 'inference', model_requirements: { name: 'nobody/serves-this' } }],
};
const failFlow = {
  id: 'access-fail',
  name: 'Access fail',
  version: 1,
  steps: [
    {
      id: 'boom',
      step_type: 'inference',
      model_requirements: { name: 'builtin/fail' },
      retry_policy: { max_attempts: 1 },
    },
  ],
};

/** The parts of a token `vrt_<16 hex id>_<43 base64url secret>` (the secret may itself hold `_`). */
const idOf = (token: string) => token.slice(4, 20);
const secretOf = (token: string) => token.slice(21);

/** Routes that name an execution: every one must hide other clients' executions. */
const isExecutionRoute = (route: AppRoute) =>
  /^\/v1\/executions\/:id(\/|$)|^\/v1\/agents\/:\w+\/(?!execute$)/.test(route.path);

/** The only routes a worker key may call (apart from the public ones). */
const isWorkerRoute = (route: AppRoute) =>
  route.path.startsWith('/v1/worker/') ||
  route.path === '/metrics' ||
  route.path === '/v1/keys/coordinator' ||
  route.path.startsWith('/v1/log/') ||
  // A worker reads its own balance and transactions (what it was paid); it moves no money.
  (route.method === 'GET' && route.path.startsWith('/v1/ledger/')) ||
  // The deployments this coordinator speaks for, and its signed attestor binding: public facts to any key.
  (route.method === 'GET' && route.path === '/v1/chain/deployments');
/** Routes that name a published workflow: every one must hide another principal's. */
const isWorkflowRoute = (route: AppRoute) =>
  /^\/v1\/workflows\/:id(\/|$)|\/:workflow_id(\/|$)/.test(route.path) && !isExecutionRoute(route);
// `/` and `/*` are the web dashboard's page and assets (the API's own paths under it stay closed).
const PUBLIC_PATHS = ['/healthz', '/readyz', '/openapi.json', '/', '/*'];
const isPublic = (route: AppRoute) =>
  PUBLIC_PATHS.includes(route.path) || route.path === '/docs' || route.path.startsWith('/docs/');

const isAdminRoute = (route: AppRoute) =>
  (route.path.startsWith('/v1/keys') && route.path !== '/v1/keys/coordinator') ||
  route.path.startsWith('/v1/workers') ||
  route.path === '/v1/metrics/summary' ||
  route.path.startsWith('/v1/admin/');

// Ownership, listing and idempotency are store queries: both stores are checked.
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`API access control (${kind})`, () => {
    let server: TestServer;
    let routes: AppRoute[];
    let alice: string;
    let bob: string;
    let publisher: string;
    let worker: string;
    const bobs = { done: '', stuck: '', failed: '' };

    const as = (
      key: string | undefined,
      method: string,
      path: string,
      options: { json?: unknown; headers?: Record<string, string> } = {},
    ): Promise<RawResponse> => call(server.url, method, path, { ...(key !== undefined && { key }), ...options });

    const waitForStatus = async (key: string, id: string, wanted: string): Promise<void> => {
      const until = Date.now() + 20_000;
      for (;;) {
        const status = ((await as(key, 'GET', `/v1/executions/${id}`)).json as { status?: string }).status;
        if (status === wanted) return;
        if (Date.now() > until) throw new Error(`execution ${id} is ${status}, not ${wanted}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const execute = async (
      key: string,
      workflowId: string,
      inputs: unknown = {},
      headers: Record<string, string> = {},
    ): Promise<string> => {
      const response = await as(key, 'POST', `/v1/agents/${workflowId}/execute`, { json: { inputs }, headers });
      expect(response.status, response.text).toBe(202);
      return (response.json as { executionId: string }).executionId;
    };

    beforeAll(async () => {
      server = await startTestServer(kind, 'access', { node: { workers: 2 } });
      routes = appRoutes(server.app);
      [alice, bob, publisher, worker] = await Promise.all([
        server.key('alice', 'client'),
        server.key('bob', 'client'),
        server.key('acme', 'publisher'),
        server.key('w1', 'worker'),
      ]);
      // Bob and Alice run workflows of their own principal: the plan's execute route runs nothing else.
      const [bobPublisher, alicePublisher] = await Promise.all([
        server.key('bob', 'publisher'),
        server.key('alice', 'publisher'),
      ]);
      for (const flow of [echoFlow, stuckFlow, failFlow])
        expect((await as(bobPublisher, 'POST', '/v1/workflows', { json: flow })).status).toBe(201);
      expect((await as(alicePublisher, 'POST', '/v1/workflows', { json: alicesEcho })).status).toBe(201);
      bobs.done = await execute(bob, 'access-echo', { text: 'bob' });
      bobs.stuck = await execute(bob, 'access-stuck');
      bobs.failed = await execute(bob, 'access-fail');
      await waitForStatus(bob, bobs.done, 'completed');
      await waitForStatus(bob, bobs.failed, 'failed');
      await waitForStatus(bob, bobs.stuck, 'running');
    });
    afterAll(() => server?.close());

    it('knows the routes it checks (the route table is read from the app)', () => {
      // The tests below cover whatever routes the app has; make sure that is not nothing.
      expect(routes.filter(isExecutionRoute).map((r) => `${r.method} ${r.path}`)).toEqual(
        expect.arrayContaining([
          'GET /v1/executions/:id',
          'POST /v1/executions/:id/cancel',
          'POST /v1/executions/:id/retry',
          'GET /v1/executions/:id/events',
          'GET /v1/agents/:workflow_id/status',
        ]),
      );
      expect(routes.length).toBeGreaterThan(30);
    });

    it("gives a client 404 for another client's execution on every route, exactly as for one that does not exist, and changes nothing", async () => {
      const executionRoutes = routes.filter(isExecutionRoute);
      expect(executionRoutes.length).toBeGreaterThanOrEqual(8);
      const missing = '01JNOSUCHEXECUTION0000000000';
      for (const id of Object.values(bobs)) {
        const before = await executionSnapshot(server.test.node.store, id);
        for (const route of executionRoutes) {
          const json = route.method === 'POST' ? {} : undefined;
          const theirs = await as(alice, route.method, fillPath(route.path, id), { ...(json && { json }) });
          const nobodys = await as(alice, route.method, fillPath(route.path, missing), { ...(json && { json }) });
          expect(theirs.status, `${route.method} ${route.path} on bob's ${id}: ${theirs.text}`).toBe(404);
          expect(nobodys.status, `${route.method} ${route.path} on a missing id`).toBe(404);
          // The same answer, word for word, but for the id: nothing tells "not yours" from "not there".
          expect(theirs.text.replaceAll(id, '<id>')).toBe(nobodys.text.replaceAll(missing, '<id>'));
        }
        expect(await executionSnapshot(server.test.node.store, id)).toEqual(before);
      }
    });

    it('gives every other principal 404 for a workflow on every route that names one, exactly as for one that does not exist, and starts nothing', async () => {
      // Read from the route table, so a route added later that names a workflow is held to the same rule.
      const workflowRoutes = routes.filter(isWorkflowRoute);
      expect(workflowRoutes.map((r) => `${r.method} ${r.path}`)).toEqual(
        expect.arrayContaining([
          'GET /v1/workflows/:id',
          'GET /v1/workflows/:id/versions',
          'GET /v1/workflows/:id/versions/:version',
          'POST /v1/agents/:workflow_id/execute',
        ]),
      );
      const before = await storeCounts(server.test.node.store);
      const fill = (route: AppRoute, id: string) => fillPath(route.path, (name) => (name === 'version' ? '1' : id));
      for (const key of [alice, publisher]) {
        for (const route of workflowRoutes) {
          const json = route.method === 'POST' ? { inputs: { text: 'x' } } : undefined;
          const theirs = await as(key, route.method, fill(route, 'access-echo'), { ...(json && { json }) });
          const nobodys = await as(key, route.method, fill(route, 'access-none'), { ...(json && { json }) });
          expect(theirs.status, `${route.method} ${route.path} on bob's workflow: ${theirs.text}`).toBe(404);
          expect(theirs.text.replaceAll('access-echo', '<id>')).toBe(nobodys.text.replaceAll('access-none', '<id>'));
        }
        const listed = (await as(key, 'GET', '/v1/workflows')).json as { workflows: { workflowId: string }[] };
        expect(listed.workflows.map((w) => w.workflowId)).not.toContain('access-echo');
      }
      expect(await storeCounts(server.test.node.store)).toEqual(before);
      // Bob's client key runs and reads it: ownership is by principal, not by the key that published.
      expect((await as(bob, 'GET', '/v1/workflows/access-echo')).status).toBe(200);
    });

    it('lets the owner use the same routes (so the 404s above are about ownership)', async () => {
      expect((await as(bob, 'GET', `/v1/agents/${bobs.done}/status`)).status).toBe(200);
      expect((await as(bob, 'GET', `/v1/agents/${bobs.done}/receipt`)).status).toBe(200);
      expect((await as(bob, 'GET', `/v1/executions/${bobs.done}/receipt`)).status).toBe(200);
      expect((await as(bob, 'GET', `/v1/agents/${bobs.stuck}/receipt`)).status).toBe(409);
      expect((await as(bob, 'GET', `/v1/executions/${bobs.done}/history`)).status).toBe(200);
      const events = await as(bob, 'GET', `/v1/executions/${bobs.done}/events`);
      expect(events.status).toBe(200);
      expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
      // An admin sees every execution.
      expect((await as(server.adminKey, 'GET', `/v1/executions/${bobs.done}`)).status).toBe(200);
    });

    it("does not list another client's executions, however the list is filtered", async () => {
      const own = await execute(alice, alicesEcho.id, { text: 'alice' });
      await waitForStatus(alice, own, 'completed');
      const ids = async (key: string, query: string) =>
        (
          (await as(key, 'GET', `/v1/executions${query}`)).json as { executions: { executionId: string }[] }
        ).executions.map((e) => e.executionId);
      for (const query of [
        '',
        '?workflow_id=access-echo',
        '?status=completed',
        '?status=running,failed',
        '?limit=500',
        `?before=${own}`,
      ]) {
        const seen = await ids(alice, query);
        for (const id of Object.values(bobs)) expect(seen, query).not.toContain(id);
      }
      expect(await ids(alice, '')).toContain(own);
      expect(await ids(bob, '')).toEqual(expect.arrayContaining(Object.values(bobs)));
      expect(await ids(bob, '')).not.toContain(own);
      expect(await ids(server.adminKey, '')).toEqual(expect.arrayContaining([own, ...Object.values(bobs)]));
      // A page continues after an execution of the caller's: another's is refused as one that does not exist.
      const foreign = await as(alice, 'GET', `/v1/executions?before=${bobs.done}`);
      const missing = await as(alice, 'GET', `/v1/executions?before=${'Z'.repeat(26)}`);
      expect([foreign.status, missing.status]).toEqual([400, 400]);
      expect(foreign.text.replaceAll(bobs.done, '<id>')).toBe(missing.text.replaceAll('Z'.repeat(26), '<id>'));
    });

    it('lets the owner cancel and retry after the refused attempts of another client', async () => {
      // Alice's cancel and retry were 404s above; the same calls by Bob work, so they were refused, not moot.
      const cancelled = await as(bob, 'POST', `/v1/executions/${bobs.stuck}/cancel`, { json: {} });
      expect(cancelled.status, cancelled.text).toBe(200);
      expect((cancelled.json as { status: string }).status).toBe('cancelled');
      const retried = await as(bob, 'POST', `/v1/executions/${bobs.failed}/retry`, { json: {} });
      expect(retried.status, retried.text).toBe(200);
      await waitForStatus(bob, bobs.failed, 'failed');
    });

    it('refuses a worker key on every route but the worker protocol, metrics, the public keys and log, and its own ledger account (403)', async () => {
      const before = await storeCounts(server.test.node.store);
      const refused = routes.filter((r) => !isWorkerRoute(r) && !isPublic(r));
      expect(refused.length).toBeGreaterThan(15);
      for (const route of refused) {
        const response = await as(
          worker,
          route.method,
          fillPath(route.path, bobs.done),
          route.method === 'GET' || route.method === 'DELETE' ? {} : { json: {} },
        );
        expect(response.status, `${route.method} ${route.path}: ${response.text}`).toBe(403);
        expect(errorCode(response)).toBe('forbidden');
      }
      expect(await storeCounts(server.test.node.store)).toEqual(before);
      // The routes a worker does have answer it.
      expect((await as(worker, 'POST', '/v1/worker/challenge', { json: {} })).status).toBe(200);
      expect((await as(worker, 'GET', '/v1/keys/coordinator')).status).toBe(200);
    });

    it('keeps publishing to publishers (403 for a client or worker key)', async () => {
      const before = await storeCounts(server.test.node.store);
      const flow = { ...echoFlow, id: 'access-new' };
      for (const key of [alice, worker]) {
        const response = await as(key, 'POST', '/v1/workflows', { json: flow });
        expect(response.status, response.text).toBe(403);
      }
      expect(await storeCounts(server.test.node.store)).toEqual(before);
      expect((await as(publisher, 'POST', '/v1/workflows', { json: flow })).status).toBe(201);
    });

    it('keeps keys and workers to admins (403 for every other role)', async () => {
      const admin = routes.filter(isAdminRoute);
      expect(admin.map((r) => `${r.method} ${r.path}`)).toEqual(
        expect.arrayContaining([
          'POST /v1/keys',
          'GET /v1/keys',
          'DELETE /v1/keys/:id',
          'GET /v1/workers',
          'GET /v1/metrics/summary',
        ]),
      );
      const victim = (await server.context.keys.create('victim', 'client')).record.id;
      const before = await storeCounts(server.test.node.store);
      for (const key of [alice, publisher, worker]) {
        for (const route of admin) {
          const response = await as(
            key,
            route.method,
            fillPath(route.path, victim),
            route.method === 'POST' ? { json: { principal: 'mallory', role: 'admin' } } : {},
          );
          expect(response.status, `${route.method} ${route.path}: ${response.text}`).toBe(403);
        }
      }
      expect(await storeCounts(server.test.node.store)).toEqual(before);
      expect((await as(server.adminKey, 'GET', '/v1/keys')).status).toBe(200);
      expect((await as(server.adminKey, 'GET', '/v1/workers')).status).toBe(200);
      expect((await as(server.adminKey, 'GET', '/v1/metrics/summary')).status).toBe(200);
      const created = await as(server.adminKey, 'POST', '/v1/keys', { json: { principal: 'carol', role: 'client' } });
      expect(created.status).toBe(201);
      // The list shows keys, never their secrets or hashes.
      const listed = await as(server.adminKey, 'GET', '/v1/keys');
      const token = (created.json as { token: string }).token;
      expect(listed.text).not.toContain(secretOf(token));
      expect(listed.text).not.toMatch(/secret|hash/i);
    });

    it('refuses a revoked key with 401, and only that key', async () => {
      const token = await server.key('dave', 'client');
      const id = idOf(token);
      expect((await as(token, 'GET', '/v1/executions')).status).toBe(200);
      const revoked = await as(server.adminKey, 'DELETE', `/v1/keys/${id}`);
      expect(revoked.status, revoked.text).toBe(200);
      expect((revoked.json as { revokedAt?: string }).revokedAt).toBeDefined();
      for (const [method, path] of [
        ['GET', '/v1/executions'],
        ['GET', `/v1/executions/${bobs.done}`],
        ['POST', '/v1/agents/access-echo/execute'],
      ] as const) {
        const response = await as(token, method, path, method === 'POST' ? { json: { inputs: { text: 'x' } } } : {});
        expect(response.status, `${method} ${path}`).toBe(401);
        expect(errorCode(response)).toBe('unauthorized');
      }
      // Revoking again is harmless; revoking a key that does not exist is a 404.
      expect((await as(server.adminKey, 'DELETE', `/v1/keys/${id}`)).status).toBe(200);
      expect((await as(server.adminKey, 'DELETE', '/v1/keys/0000000000000000')).status).toBe(404);
      expect((await as(alice, 'GET', '/v1/executions')).status).toBe(200);
    });

    it('refuses requests without a key, with a malformed key or with a wrong secret (401)', async () => {
      const [id, secret] = [idOf(alice), secretOf(alice)];
      const flipped = secret.startsWith('A') ? `B${secret.slice(1)}` : `A${secret.slice(1)}`;
      const headers: Record<string, string>[] = [
        {},
        { authorization: '' },
        { authorization: 'Bearer' },
        { authorization: 'Bearer ' },
        { authorization: alice },
        { authorization: `Basic ${Buffer.from(`x:${alice}`).toString('base64')}` },
        { authorization: 'Bearer vrt_' },
        { authorization: `Bearer vrt_${id}_` },
        { authorization: `Bearer vrt_${id}_${flipped}` },
        { authorization: `Bearer vrt_${id}_${secret}x` },
        { authorization: `Bearer vrt_${'0'.repeat(16)}_${secret}` },
        { authorization: `Bearer ${alice.toUpperCase()}` },
        { authorization: `Bearer ${alice}\u0000` },
      ];
      for (const path of ['/v1/executions', '/v1/keys', '/v1/keys/coordinator', '/metrics']) {
        for (const header of headers) {
          const response = await call(server.url, 'GET', path, { headers: header }).catch((e: unknown) => e);
          // fetch itself refuses some header values (a NUL byte); a request that never left is refused too.
          if (response instanceof Error) continue;
          expect((response as RawResponse).status, `${path} with ${JSON.stringify(header)}`).toBe(401);
        }
      }
      expect(
        (
          await call(server.url, 'POST', '/v1/worker/challenge', {
            json: {},
            headers: { authorization: `Bearer vrt_${id}_${flipped}` },
          })
        ).status,
      ).toBe(401);
      // The scheme is case-insensitive (RFC 9110); the token is not.
      expect(
        (await call(server.url, 'GET', '/v1/executions', { headers: { authorization: `bearer ${alice}` } })).status,
      ).toBe(200);
    });

    it("does not let a publisher publish a version of another publisher's workflow", async () => {
      const rival = await server.key('rival', 'publisher');
      const before = await storeCounts(server.test.node.store);
      const changed = { ...echoFlow, name: 'Taken over' };
      const response = await as(rival, 'POST', '/v1/workflows', { json: changed });
      expect(response.status, response.text).toBe(403);
      expect(errorCode(response)).toBe('forbidden');
      // As YAML text too: the owner check does not depend on how the definition arrives.
      const yaml = `id: access-echo\nname: Taken over\nversion: 1\nsteps:\n  - id: a\n    step_type: inference\n    model_requirements: { name: builtin/echo }\n`;
      expect(
        (
          await call(server.url, 'POST', '/v1/workflows', {
            key: rival,
            body: yaml,
            headers: { 'content-type': 'application/yaml' },
          })
        ).status,
      ).toBe(403);
      expect(await storeCounts(server.test.node.store)).toEqual(before);
      const latest = await as(bob, 'GET', '/v1/workflows/access-echo');
      expect(latest.json).toMatchObject({ version: 1, owner: 'bob', name: 'Access echo' });
      // The refusal says the id is taken, not by whom: workflows are visible to their owners only.
      expect(response.text).not.toContain('bob');
      // The owner can.
      const owned = await as(await server.key('bob', 'publisher'), 'POST', '/v1/workflows', { json: changed });
      expect(owned.status).toBe(201);
      expect(owned.json).toMatchObject({ version: 2, owner: 'bob' });
    });

    it('answers the same Idempotency-Key from the same client with the same execution, and per client', async () => {
      const before = (await storeCounts(server.test.node.store)).executions;
      const headers = { 'idempotency-key': 'order-42' };
      const first = await execute(alice, alicesEcho.id, { text: 'once' }, headers);
      const again = await execute(alice, alicesEcho.id, { text: 'once' }, headers);
      expect(again).toBe(first);
      // Bob using the same key string is another client: his own execution, not Alice's.
      const bobsOwn = await execute(bob, 'access-echo', { text: 'once' }, headers);
      expect(bobsOwn).not.toBe(first);
      expect((await as(bob, 'GET', `/v1/executions/${first}`)).status).toBe(404);
      expect((await as(bob, 'GET', `/v1/executions/${bobsOwn}`)).status).toBe(200);
      expect(await execute(bob, 'access-echo', { text: 'once' }, headers)).toBe(bobsOwn);
      expect((await storeCounts(server.test.node.store)).executions).toBe(before + 2);
    });

    it('needs no key for /healthz and /readyz, and an admin or worker key for /metrics', async () => {
      expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);
      expect((await call(server.url, 'GET', '/readyz')).status).toBe(200);
      expect((await call(server.url, 'GET', '/metrics')).status).toBe(401);
      expect((await as(alice, 'GET', '/metrics')).status).toBe(403);
      expect((await as(publisher, 'GET', '/metrics')).status).toBe(403);
      for (const key of [server.adminKey, worker]) {
        const metrics = await as(key, 'GET', '/metrics');
        expect(metrics.status).toBe(200);
        expect(metrics.text).toContain('# TYPE');
      }
    });
  });
}

describe('API rate limits', () => {
  it('limit each key on its own, and requests without a valid key per address, with 429 in the error shape', async () => {
    const server = await startTestServer('sqlite', 'access-rate', {
      node: { workers: 0 },
      server: { rateLimitPerMinute: 5, workerRateLimitPerMinute: 8, closeGraceMs: 200 },
    });
    try {
      const [first, second] = [await server.key('first', 'client'), await server.key('second', 'client')];
      // A worker key has its own, larger allowance (one machine, many jobs).
      const worker = await server.key('machine', 'worker');
      const seen: number[] = [];
      for (let i = 0; i < 10; i++)
        seen.push((await call(server.url, 'POST', '/v1/worker/challenge', { key: worker, json: {} })).status);
      expect(seen).toEqual([...Array<number>(8).fill(200), 429, 429]);
      const statuses = async (key: string | undefined, n: number) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++)
          out.push((await call(server.url, 'GET', '/v1/executions', key === undefined ? {} : { key })).status);
        return out;
      };
      expect(await statuses(first, 7)).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const limited = await call(server.url, 'GET', '/v1/executions', { key: first });
      expect(limited.status).toBe(429);
      expect(errorCode(limited)).toBe('rate_limited');
      // Another key has its own allowance.
      expect(await statuses(second, 1)).toEqual([200]);
      // Guessing keys is limited too (it never reaches the per-key limiter), by address...
      const wrong = `vrt_${'0'.repeat(16)}_${'A'.repeat(43)}`;
      expect([...(await statuses(undefined, 3)), ...(await statuses(wrong, 4))]).toEqual([
        401, 401, 401, 401, 401, 429, 429,
      ]);
      const guessed = await call(server.url, 'GET', '/v1/executions', { key: wrong });
      expect(errorCode(guessed)).toBe('rate_limited');
      // ...and locks no valid key out of that address.
      expect(await statuses(second, 1)).toEqual([200]);
    } finally {
      await server.close();
    }
  });
});

describe('API logs', () => {
  it('never contain a secret: not the tokens used, not a created one, not a wrong one', async () => {
    const lines: string[] = [];
    const secrets: string[] = [];
    const test = await startTestNode('sqlite', 'access-logs', { workers: 1 });
    // trace: the most a server can be made to log.
    const { app, context, shutdown } = await buildServer(test.node, {
      logger: { level: 'trace', stream: { write: (line) => void lines.push(line) } },
    });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const admin = (await context.keys.create('admin', 'admin')).token;
      // Eve's own publisher key: the plan's execute route runs only the caller's own workflows.
      const publisherKey = (await context.keys.create('eve', 'publisher')).token;
      const workerKey = (await context.keys.create('w', 'worker')).token;
      secrets.push(admin, publisherKey, workerKey);
      const created = await call(url, 'POST', '/v1/keys', { key: admin, json: { principal: 'eve', role: 'client' } });
      expect(created.status).toBe(201);
      const client = (created.json as { token: string }).token;
      secrets.push(client);
      const wrong = `${client.slice(0, -4)}AAAA`;
      secrets.push(wrong);
      expect((await call(url, 'POST', '/v1/workflows', { key: publisherKey, json: echoFlow })).status).toBe(201);
      const started = await call(url, 'POST', '/v1/agents/access-echo/execute', {
        key: client,
        json: { inputs: { text: 'hi' } },
      });
      expect(started.status).toBe(202);
      await test.node.waitFor((started.json as { executionId: string }).executionId);
      await call(url, 'GET', '/v1/executions', { key: client });
      await call(url, 'GET', '/v1/executions', { key: wrong });
      await call(url, 'GET', '/v1/keys', { key: admin });
      await call(url, 'GET', '/metrics', { key: workerKey });
      await call(url, 'POST', '/v1/worker/challenge', { key: workerKey, json: {} });
      await call(url, 'POST', '/v1/worker/register', { key: workerKey, json: { bad: true } });
      await call(url, 'POST', '/v1/keys', {
        key: admin,
        body: '{"principal": "broken',
        headers: { 'content-type': 'application/json' },
      });
      await call(url, 'GET', '/v1/nowhere', { key: client });
      await call(url, 'GET', '/v1/executions', { headers: { authorization: client } });
      await call(url, 'DELETE', `/v1/keys/${idOf(client)}`, { key: admin });
      await call(url, 'GET', '/v1/executions', { key: client });
    } finally {
      shutdown.abort();
      await app.close();
      await test.close();
    }
    const log = lines.join('');
    // The logs are there (so their silence about secrets means something), and requests are in them.
    expect(lines.length).toBeGreaterThan(20);
    expect(log).toContain('/v1/executions');
    for (const secret of secrets) {
      // Neither the token nor its secret part alone.
      expect(log).not.toContain(secretOf(secret));
    }
    expect(secrets).toHaveLength(5);
    for (const secret of secrets) {
      expect(log).not.toContain(secret);
    }
    expect(log).not.toMatch(/vrt_[0-9a-f]{16}_/);
  });
});
