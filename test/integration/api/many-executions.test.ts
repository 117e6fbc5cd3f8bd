import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerityClient } from '../../../src/sdk/client.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * The short form of the `many-executions` benchmark: 100 executions of a 5-step chain, started at once by
 * four principals over HTTP, all end with the right result while the status route keeps answering. An
 * echo chain's result is its inputs, so a result that went to the wrong execution, or a step that read
 * another's output, shows as a wrong result.
 */

const EXECUTIONS = 100;
const PRINCIPALS = 4;
const steps = Array.from({ length: 5 }, (_, i) => echo(`s${i}`, i > 0 ? { depends_on: [`s${i - 1}`] } : {}));

describe('many executions at once, through the API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', 'many-executions', { node: { workers: 8 } });
  });
  afterAll(() => server?.close());

  it('all end completed with their own result, and status answers throughout', async () => {
    const clients: VerityClient[] = [];
    for (let p = 0; p < PRINCIPALS; p++) {
      // Workflow ids are global: each principal runs its own copy.
      await server.client(await server.key(`many-${p}`, 'publisher')).publishWorkflow({ id: `many-${p}`, steps });
      clients.push(server.client(await server.key(`many-${p}`, 'client')));
    }
    const started: { client: VerityClient; executionId: string; inputs: { n: number } }[] = [];
    // Status probes of a random started execution every 50 ms, timed, until every execution has ended.
    const probes: number[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const target = started[Math.floor(Math.random() * started.length)];
        if (!target) continue;
        const t = performance.now();
        await target.client.status(target.executionId);
        probes.push(performance.now() - t);
      }
    })();

    await Promise.all(
      Array.from({ length: EXECUTIONS }, async (_, n) => {
        const client = clients[n % PRINCIPALS]!;
        const { executionId } = await client.execute(`many-${n % PRINCIPALS}`, { inputs: { n } });
        started.push({ client, executionId, inputs: { n } });
      }),
    );
    const admin = server.client(server.adminKey);
    const deadline = Date.now() + 60_000;
    while ((await admin.listExecutions({ status: ['running'], limit: 1 })).executions.length > 0) {
      if (Date.now() > deadline) throw new Error('the executions did not all end within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    probing = false;
    await prober;

    const finals = await Promise.all(started.map(({ client, executionId }) => client.status(executionId)));
    expect(finals.filter((f) => f.status !== 'completed')).toEqual([]);
    expect(finals.map((f) => f.result)).toEqual(started.map((s) => s.inputs));
    expect(new Set(started.map((s) => s.executionId)).size).toBe(EXECUTIONS);
    // Status answered all along: a stalled server shows as a probe that took seconds.
    expect(probes.length).toBeGreaterThan(5);
    expect(Math.max(...probes)).toBeLessThan(5_000);
  });
});
