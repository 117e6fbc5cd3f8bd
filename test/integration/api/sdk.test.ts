import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerityApiError } from '../../../src/sdk/client.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';
import { echo } from '../../support/node.js';

const workflow = {
  id: 'sdk-echo',
  name: 'SDK echo',
  version: 1,
  steps: [
    echo('a', { input_mappings: { text: 'inputs.text' } }),
    echo('b', { depends_on: ['a'], input_mappings: { text: 'steps.a.output.text' } }),
  ],
  outputs: { text: 'steps.b.output.text' },
};

describe('the SDK against a server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', 'sdk', { node: { workers: 2 } });
  });
  afterAll(() => server?.close());

  it('publishes, runs, follows events to the end, and gets a bundle that verifies', async () => {
    const publisher = server.client(await server.key('acme', 'publisher'));
    const published = await publisher.publishWorkflow(workflow);
    expect(published).toMatchObject({ workflowId: 'sdk-echo', version: 1, steps: 2 });
    // The same content again is the same version.
    expect((await publisher.publishWorkflow(workflow)).version).toBe(1);

    const started = await publisher.execute('sdk-echo', { inputs: { text: 'hi' } });
    const types: string[] = [];
    const final = await publisher.waitFor(started.executionId, { onEvent: (e) => types.push(e.type) });
    expect(final.status).toBe('completed');
    expect(final.result).toEqual({ text: 'hi' });
    expect(types[0]).toBe('execution.started');
    expect(types).toContain('execution.completed');
    expect(types.at(-1)).toBe('receipt.issued');

    const history = await publisher.history(started.executionId);
    expect(history.events.map((e) => e.type)).toEqual(types);

    const bundle = await publisher.receipt(started.executionId, { includeData: true });
    const report = await publisher.verify(bundle, { level: 'full' });
    expect(report.ok).toBe(true);
  });

  it('turns refusals into VerityApiError with the server code and status', async () => {
    const client = server.client(await server.key('someone', 'client'));
    const error = await client.status('01NOSUCHEXECUTION').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerityApiError);
    expect(error).toMatchObject({ code: 'http', status: 404, serverCode: 'not_found' });
    const bad = server.client('vrt_0000000000000000_' + 'A'.repeat(43));
    await expect(bad.listExecutions()).rejects.toMatchObject({ status: 401 });
  });
});
