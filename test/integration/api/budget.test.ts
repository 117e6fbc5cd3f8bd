import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo } from '../../support/node.js';
import { call, errorCode } from '../../support/api-http.js';
import type { RawResponse } from '../../support/api-http.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * Budgets and inputs through the real server (issue 11, item 8): a caller may lower a publisher's
 * max_cost_budget, never raise or remove it, on execute and on retry; a worker's reported cost is charged
 * only up to what is left; inputs that are not a JSON object are refused. Each refusal changes nothing.
 */

const capped = {
  id: 'budget-capped',
  name: 'Budget capped',
  version: 1,
  max_cost_budget: 1000,
  steps: [echo('a', { estimated_cost: 400 }), echo('b', { estimated_cost: 400, depends_on: ['a'] })],
};
// builtin/echo reports the cost its input names: this one claims far more than the whole budget.
const overReporting = {
  id: 'budget-over-report',
  name: 'Budget over-report',
  version: 1,
  max_cost_budget: 1000,
  steps: [
    echo('greedy', { estimated_cost: 100, input_mappings: { cost: '1000000000' } }),
    echo('after', { depends_on: ['greedy'] }),
  ],
};

describe('budgets and inputs through the server', () => {
  let server: TestServer;
  let client: string;
  const as = (method: string, path: string, json?: unknown): Promise<RawResponse> =>
    call(server.url, method, path, { key: client, ...(json !== undefined && { json }) });
  const executionCount = async () =>
    ((await as('GET', '/v1/executions?limit=500')).json as { executions: unknown[] }).executions.length;
  const waitForEnd = async (id: string) => {
    const until = Date.now() + 20_000;
    for (;;) {
      const view = (await as('GET', `/v1/executions/${id}`)).json as {
        status: string;
        spent: number;
        error?: { code: string; stepId?: string };
        steps: { id: string; status: string; cost: number }[];
      };
      if (view.status !== 'running') return view;
      if (Date.now() > until) throw new Error(`execution ${id} still running`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    server = await startTestServer('sqlite', 'api-budget');
    const publisher = await server.key('alice', 'publisher'); // the client's own principal: the plan's execute route runs only its own workflows
    client = await server.key('alice', 'client');
    for (const flow of [capped, overReporting]) {
      const published = await call(server.url, 'POST', '/v1/workflows', { key: publisher, json: flow });
      expect(published.status, published.text).toBe(201);
    }
  });
  afterAll(() => server?.close());

  it("refuses a budget that removes or raises the publisher's, naming both, and starts nothing", async () => {
    const before = await executionCount();
    const removed = await as('POST', `/v1/agents/${capped.id}/execute`, { inputs: {}, budget: 0 });
    expect(removed.status, removed.text).toBe(400);
    expect(removed.text).toMatch(/budget 0 would remove .*max_cost_budget of 1000/);
    const raised = await as('POST', `/v1/agents/${capped.id}/execute`, { inputs: {}, budget: 1001 });
    expect(raised.status).toBe(400);
    expect(raised.text).toMatch(/would raise/);
    expect(await executionCount()).toBe(before);
  });

  it("lets the caller lower it, and a retry may raise it back up to the publisher's cap but not remove it", async () => {
    const started = await as('POST', `/v1/agents/${capped.id}/execute`, { inputs: {}, budget: 500 });
    expect(started.status, started.text).toBe(202);
    const id = (started.json as { executionId: string }).executionId;
    const ended = await waitForEnd(id);
    expect(ended.status).toBe('budget_exceeded');
    expect(ended.spent).toBeLessThanOrEqual(500);

    for (const budget of [0, 5000]) {
      const refused = await as('POST', `/v1/executions/${id}/retry`, { budget });
      expect(refused.status, refused.text).toBe(400);
      expect(errorCode(refused)).toBeDefined();
      expect((await waitForEnd(id)).status).toBe('budget_exceeded');
    }
    const retried = await as('POST', `/v1/executions/${id}/retry`, { budget: 1000 });
    expect(retried.status, retried.text).toBe(200);
    const done = await waitForEnd(id);
    expect(done.status).toBe('completed');
    expect(done.spent).toBe(800);
  });

  it('retries with the same budget when the retry has no body at all', async () => {
    const started = await as('POST', `/v1/agents/${capped.id}/execute`, { inputs: {}, budget: 500 });
    const id = (started.json as { executionId: string }).executionId;
    expect((await waitForEnd(id)).status).toBe('budget_exceeded');
    const retried = await call(server.url, 'POST', `/v1/executions/${id}/retry`, { key: client });
    expect(retried.status, retried.text).toBe(200);
    const ended = await waitForEnd(id);
    expect(ended.status).toBe('budget_exceeded');
    expect(ended.spent).toBeLessThanOrEqual(500);
  });

  it('charges a report above what is left only up to the budget, and fails its step budget_exceeded', async () => {
    const started = await as('POST', `/v1/agents/${overReporting.id}/execute`, { inputs: {} });
    expect(started.status, started.text).toBe(202);
    const ended = await waitForEnd((started.json as { executionId: string }).executionId);
    expect(ended.status).toBe('budget_exceeded');
    expect(ended.spent).toBe(1000);
    expect(ended.error).toMatchObject({ code: 'budget_exceeded', stepId: 'greedy' });
    expect(ended.steps.map((s) => [s.id, s.status, s.cost])).toEqual([
      ['greedy', 'failed', 1000],
      ['after', 'pending', 0],
    ]);
  });

  it('refuses inputs that are not a JSON object, naming the field', async () => {
    const before = await executionCount();
    for (const inputs of [5, 'text', [1, 2], null, true]) {
      const refused = await as('POST', `/v1/agents/${capped.id}/execute`, { inputs });
      expect(refused.status, `${JSON.stringify(inputs)}: ${refused.text}`).toBe(400);
      expect(refused.text).toMatch(/inputs/);
    }
    expect(await executionCount()).toBe(before);
  });
});
