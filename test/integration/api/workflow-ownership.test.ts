import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../support/api-http.js';
import type { RawRequest, RawResponse } from '../../support/api-http.js';
import { BACKENDS, backendAvailable, createBackend } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * Who may see and run a published workflow, over HTTP on a real `verity serve`: its owner's keys (whatever
 * their role: ownership is by principal) and admins. For everyone else the workflow does not exist: the
 * same 404, word for word, as an id nobody published, so ids cannot be probed, and the plan's execute route
 * cannot bypass a marketplace listing.
 */

const echoFlow = (id: string, name: string) => ({
  id,
  name,
  version: 1,
  steps: [
    {
      id: 'a',
      step_type: 'inference',
      model_requirements: { name: 'builtin/echo' },
      input_mappings: { text: 'inputs.text' },
    },
  ],
});

/** The callers of the matrix: who they are, and whether acme's workflow is theirs to see and run. */
const CALLERS = [
  { name: 'owner publisher', principal: 'acme', role: 'publisher', sees: true },
  { name: "a client key of the owner's principal", principal: 'acme', role: 'client', sees: true },
  { name: 'another publisher', principal: 'globex', role: 'publisher', sees: false },
  { name: 'a client of another principal', principal: 'initech', role: 'client', sees: false },
  { name: 'admin', principal: 'admin', role: 'admin', sees: true },
] as const;

const OWNED = 'coyote-echo';
const MISSING = 'nobody-echo';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`workflow ownership through a real server (${kind})`, () => {
    let backend: BackendFixture;
    let server: ServerProcess;
    const keys: Record<string, string> = {};
    const as = (who: string, method: string, path: string, options: RawRequest = {}): Promise<RawResponse> =>
      call(server.url, method, path, { key: keys[who]!, ...options });
    const executionCount = async (): Promise<number> =>
      ((await as('admin', 'GET', '/v1/executions?limit=500')).json as { executions: unknown[] }).executions.length;

    /** The read routes and the execute route (with and without a version), for a workflow id. */
    const requests = (id: string): { label: string; method: string; path: string; options: RawRequest }[] => [
      { label: 'get', method: 'GET', path: `/v1/workflows/${id}`, options: {} },
      { label: 'versions', method: 'GET', path: `/v1/workflows/${id}/versions`, options: {} },
      { label: 'version', method: 'GET', path: `/v1/workflows/${id}/versions/1`, options: {} },
      {
        label: 'execute',
        method: 'POST',
        path: `/v1/agents/${id}/execute`,
        options: { json: { inputs: { text: 'hi' } } },
      },
      {
        label: 'execute a version',
        method: 'POST',
        path: `/v1/agents/${id}/execute`,
        options: { json: { inputs: { text: 'hi' }, version: 1 } },
      },
    ];

    beforeAll(async () => {
      backend = await createBackend(kind, 'ownership');
      server = await startServerProcess({
        dataDir: backend.dataDir,
        ...(backend.databaseUrl && { databaseUrl: backend.databaseUrl }),
      });
      keys.admin = server.adminKey;
      for (const caller of CALLERS) {
        if (caller.role === 'admin') continue;
        const created = await as('admin', 'POST', '/v1/keys', {
          json: { principal: caller.principal, role: caller.role },
        });
        expect(created.status, created.text).toBe(201);
        keys[caller.name] = (created.json as { token: string }).token;
      }
      for (const [who, flow] of [
        ['owner publisher', echoFlow(OWNED, 'Acme echo')],
        ['owner publisher', echoFlow(OWNED, 'Acme echo, second version')],
        ['another publisher', echoFlow('globex-echo', 'Globex echo')],
      ] as const) {
        const published = await as(who, 'POST', '/v1/workflows', { json: flow });
        expect(published.status, published.text).toBe(201);
      }
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
      await backend?.cleanup();
    });

    it.each(CALLERS)("$name: sees and runs acme's workflow only if it is its own or an admin", async (caller) => {
      for (const request of requests(OWNED)) {
        const response = await as(caller.name, request.method, request.path, request.options);
        const wanted = caller.sees ? (request.method === 'POST' ? 202 : 200) : 404;
        expect(response.status, `${request.label}: ${response.text}`).toBe(wanted);
        if (caller.sees && request.method === 'GET' && request.label !== 'versions')
          expect(response.json).toMatchObject({ workflowId: OWNED, owner: 'acme' });
      }
    });

    it("answers another principal's workflow exactly like one nobody published, and starts nothing", async () => {
      const before = await executionCount();
      for (const caller of CALLERS.filter((c) => !c.sees)) {
        const theirs = requests(OWNED);
        const nobodys = requests(MISSING);
        for (const [i, request] of theirs.entries()) {
          const refused = await as(caller.name, request.method, request.path, request.options);
          const missing = await as(caller.name, nobodys[i]!.method, nobodys[i]!.path, nobodys[i]!.options);
          expect(refused.status, `${caller.name} ${request.label}: ${refused.text}`).toBe(404);
          expect(missing.status).toBe(404);
          expect(refused.json).toMatchObject({ error: { code: 'not_found' } });
          // Word for word the same but for the id: nothing tells "not yours" from "not there".
          expect(refused.text.replaceAll(OWNED, '<id>')).toBe(missing.text.replaceAll(MISSING, '<id>'));
          expect(refused.text).not.toContain('acme');
          if (request.method === 'POST') {
            // The refusal says where another publisher's workflow runs: through its marketplace listing.
            expect(refused.text).toContain('POST /v1/market/listings/{id}/execute');
          }
        }
      }
      expect(await executionCount()).toBe(before);
    });

    it("lists only the caller's own workflows; an admin sees every one", async () => {
      const listed = async (who: string) =>
        ((await as(who, 'GET', '/v1/workflows')).json as { workflows: { workflowId: string; version: number }[] })
          .workflows;
      expect(await listed('owner publisher')).toEqual([expect.objectContaining({ workflowId: OWNED, version: 2 })]);
      expect((await listed("a client key of the owner's principal")).map((w) => w.workflowId)).toEqual([OWNED]);
      expect((await listed('another publisher')).map((w) => w.workflowId)).toEqual(['globex-echo']);
      expect(await listed('a client of another principal')).toEqual([]);
      expect((await listed('admin')).map((w) => w.workflowId)).toEqual([OWNED, 'globex-echo']);
    });

    it("runs the owner's workflow for a client key of its principal, as that principal's execution", async () => {
      const started = await as("a client key of the owner's principal", 'POST', `/v1/agents/${OWNED}/execute`, {
        json: { inputs: { text: 'acme' }, version: 1 },
      });
      expect(started.status, started.text).toBe(202);
      const id = (started.json as { executionId: string }).executionId;
      // The execution belongs to acme, so its publisher key sees it too; another principal does not.
      expect((await as('owner publisher', 'GET', `/v1/executions/${id}`)).json).toMatchObject({
        workflowId: OWNED,
        workflowVersion: 1,
      });
      expect((await as('another publisher', 'GET', `/v1/executions/${id}`)).status).toBe(404);
    });

    it('keeps an id to its first publisher, and the refusal does not name the owner', async () => {
      const taken = await as('another publisher', 'POST', '/v1/workflows', {
        json: echoFlow(OWNED, 'Taken over'),
      });
      expect(taken.status, taken.text).toBe(403);
      expect(taken.text).not.toContain('acme');
      const latest = await as('owner publisher', 'GET', `/v1/workflows/${OWNED}`);
      expect(latest.json).toMatchObject({ version: 2, name: 'Acme echo, second version' });
    });
  });
}
