import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../support/api-http.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/** Inputs nested deeper than any recursive walk can go are refused as bad input (400), never a 500. */
let server: TestServer;
let client: string;

beforeAll(async () => {
  server = await startTestServer('sqlite', 'deep-inputs');
  const publisher = await server.key('deep', 'publisher');
  client = publisher;
  const published = await call(server.url, 'POST', '/v1/workflows', {
    key: publisher,
    json: {
      id: 'deep',
      version: 1,
      inputs: { type: 'object', required: ['guard'], properties: { guard: { const: 1 } } },
      steps: [echo('a')],
    },
  });
  expect(published.status, published.text).toBe(201);
  // And one that takes any inputs, so that deep ones get past the schema to everything after it.
  const open = await call(server.url, 'POST', '/v1/workflows', {
    key: publisher,
    json: { id: 'deep-open', version: 1, steps: [echo('a')] },
  });
  expect(open.status, open.text).toBe(201);
});
afterAll(() => server?.close());

describe('deeply nested inputs', () => {
  it.each([
    ['deep', 5_000],
    ['deep', 20_000],
    ['deep-open', 5_000],
    ['deep-open', 20_000],
  ])('%s, nested %i deep: 400 saying what is wrong', async (workflow, depth) => {
    for (const nested of [
      `${'{"inputs":'.repeat(depth)}1${'}'.repeat(depth)}`,
      `{"list":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    ]) {
      const response = await call(server.url, 'POST', `/v1/agents/${workflow}/execute`, {
        key: client,
        body: `{"inputs":${nested}}`,
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status, response.text.slice(0, 300)).toBe(400);
      expect(response.text).toMatch(/inputs/);
    }
  });

  it('inputs nested a little deeper than usual still run', async () => {
    const inputs = JSON.parse(`${'{"x":'.repeat(50)}1${'}'.repeat(50)}`) as unknown;
    const response = await call(server.url, 'POST', '/v1/agents/deep-open/execute', { key: client, json: { inputs } });
    expect(response.status, response.text).toBe(202);
  });
});
