import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executionGraph, executionListItem, metricsSummary, stepDetail } from '../../../src/api/schemas.js';
import { UNRESPONSIVE_AFTER_MS } from '../../../src/api/routes/admin.js';
import type { WorkerView } from '../../../src/sdk/client.js';
import type { BlobRef } from '../../../src/blobs/blob-ref.js';
import type { ExecutionRecord } from '../../../src/store/records.js';
import type { VerityClient } from '../../../src/sdk/client.js';
import { call } from '../../support/api-http.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, sleepStep } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';
import { execution, insertExecutionsBulk, workflow } from '../store/fixtures.js';

/**
 * The API the dashboard reads (issue 15): execution rows with step counts, spend and times, keyset pages
 * over 10,000 executions, the live list stream (created, completed, resumed), a step's input and output,
 * workers with their leased jobs, and the metrics summary; each with its access rules.
 */

const echoFlow = {
  id: 'dash-echo',
  name: 'Dashboard echo',
  version: 1,
  steps: [echo('a', { input_mappings: { text: 'inputs.text' } })],
  outputs: { text: 'steps.a.output.text' },
};
const graphFlow = {
  id: 'dash-graph',
  name: 'Dashboard graph',
  version: 1,
  steps: [
    echo('a', { input_mappings: { text: 'inputs.text' } }),
    // Depends on a only through its mapping: the graph names the dependency all the same.
    { id: 'b', step_type: 'data_processing', input_mappings: { t: 'steps.a.output.text' }, expression: 't' },
  ],
};
const slowFlow = {
  id: 'dash-slow',
  name: 'Dashboard slow',
  version: 1,
  steps: [sleepStep('nap', 1500)],
};
// No worker serves this model: its step waits queued with its input resolved.
const stuckFlow = {
  id: 'dash-stuck',
  name: 'Dashboard stuck',
  version: 1,
  steps: [
    {
      id: 'wait',
      step_type: 'inference',
      model_requirements: { name: 'nobody/serves-this' },
      input_mappings: { text: 'inputs.text' },
    },
  ],
};

interface Message {
  id?: string;
  event?: string;
  data: string;
}

/**
 * Reads the list stream until `done` holds for the messages so far (or fails after `timeoutMs`), then hangs
 * up. Not the SDK's reader: that one resumes on its own, which would hide what these tests look at.
 */
async function readList(
  url: string,
  apiKey: string,
  done: (messages: Message[]) => boolean,
  options: { lastEventId?: string; since?: string; timeoutMs?: number; collectMs?: number } = {},
): Promise<Message[]> {
  const hangUp = new AbortController();
  // collectMs: read for that long and return what came (a stream that should stay quiet); otherwise time
  // out as a failure.
  const timer = setTimeout(() => hangUp.abort(), options.collectMs ?? options.timeoutMs ?? 20_000);
  const query = options.since !== undefined ? `?since=${encodeURIComponent(options.since)}` : '';
  const response = await fetch(`${url}/v1/executions/stream${query}`, {
    headers: {
      authorization: `Bearer ${apiKey}`,
      ...(options.lastEventId !== undefined && { 'last-event-id': options.lastEventId }),
    },
    signal: hangUp.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const messages: Message[] = [];
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    while (!done(messages)) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message: Message = { data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) message.id = line.slice(4);
          else if (line.startsWith('event: ')) message.event = line.slice(7);
          else if (line.startsWith('data: ')) message.data += line.slice(6);
        }
        if (message.event !== undefined) messages.push(message);
      }
    }
  } catch (error) {
    if (!hangUp.signal.aborted) throw error;
    if (options.collectMs !== undefined) return messages;
    throw new Error(`the list stream did not deliver in time; got ${JSON.stringify(messages)}`, { cause: error });
  } finally {
    clearTimeout(timer);
    hangUp.abort();
  }
  return messages;
}

const rowsOf = (messages: Message[]) =>
  messages.map((m) => ({ id: m.id!, event: m.event, row: executionListItem.parse(JSON.parse(m.data)) }));

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`the dashboard's API (${kind})`, () => {
    let server: TestServer;
    let alice: VerityClient;
    let aliceKey: string;
    let bobKey: string;
    let bob: VerityClient;
    let admin: VerityClient;
    beforeAll(async () => {
      server = await startTestServer(kind, 'dashboard', { node: { workers: 2 } });
      aliceKey = await server.key('alice', 'client');
      bobKey = await server.key('bob', 'client');
      alice = server.client(aliceKey);
      bob = server.client(bobKey);
      admin = server.client(server.adminKey);
      const publisher = server.client(await server.key('alice', 'publisher'));
      for (const flow of [echoFlow, slowFlow, stuckFlow, graphFlow]) await publisher.publishWorkflow(flow);
    });
    afterAll(() => server?.close());

    it('lists executions with their step counts, spend and times; filters; only your own', async () => {
      const done = await alice.waitFor((await alice.execute('dash-echo', { inputs: { text: 'hi' } })).executionId);
      expect(done.status).toBe('completed');
      const stuck = (await alice.execute('dash-stuck', { inputs: { text: 'wait' } })).executionId;

      const page = await alice.listExecutions({ limit: 10 });
      const byId = new Map(page.executions.map((e) => [e.executionId, e]));
      const row = byId.get(done.executionId)!;
      expect(row).toMatchObject({
        workflowId: 'dash-echo',
        status: 'completed',
        spent: done.spent,
        steps: { total: 1, completed: 1, failed: 0, running: 0 },
      });
      expect(row.finishedAt).toBe(done.finishedAt);
      expect(row.durationMs).toBe(Date.parse(row.finishedAt!) - Date.parse(row.startedAt));
      expect(byId.get(stuck)).toMatchObject({ status: 'running', steps: { total: 1, completed: 0, failed: 0 } });
      // Newest first.
      expect(page.executions[0]!.executionId).toBe(stuck);

      const completed = await alice.listExecutions({ status: ['completed', 'failed'] });
      expect(completed.executions.every((e) => e.status !== 'running')).toBe(true);
      const ofEcho = await alice.listExecutions({ workflowId: 'dash-stuck' });
      expect(ofEcho.executions.map((e) => e.executionId)).toEqual([stuck]);

      expect((await bob.listExecutions()).executions).toEqual([]);
      const all = await admin.listExecutions({ limit: 500 });
      expect(all.executions.map((e) => e.executionId)).toEqual(expect.arrayContaining([done.executionId, stuck]));
      // Another client's execution is no cursor for a page: as if it did not exist.
      const foreign = await call(server.url, 'GET', `/v1/executions?before=${done.executionId}`, { key: bobKey });
      expect(foreign.status).toBe(400);
    });

    it("shows a step's attempts, model, input and output; another client gets a 404", async () => {
      const done = await alice.waitFor((await alice.execute('dash-echo', { inputs: { text: 'step me' } })).executionId);
      const step = await alice.getStep(done.executionId, 'a');
      expect(step).toMatchObject({
        executionId: done.executionId,
        stepId: 'a',
        status: 'completed',
        stepType: 'inference',
        model: { name: 'builtin/echo' },
        input: { text: 'step me' },
        outputStorage: 'inline',
      });
      expect(step.output).toMatchObject({ text: 'step me' });
      expect(step.outputDigest).toMatch(/^[0-9a-f]{64}$/);
      expect(step.attempts).toHaveLength(1);
      expect(step.attempts[0]).toMatchObject({ attempt: 1, status: 'completed' });
      expect(step.attempts[0]!.workerId).toBeDefined();
      expect(step.attempts[0]!.finishedAt).toBeDefined();

      // An output too large for a row is a blob: the step gives its reference, which downloads the output.
      const big = 'x'.repeat(300_000);
      const large = await alice.waitFor((await alice.execute('dash-echo', { inputs: { text: big } })).executionId);
      const blobbed = await alice.getStep(large.executionId, 'a');
      expect(blobbed.outputStorage).toBe('blob');
      const ref = blobbed.output as BlobRef;
      expect(ref.size).toBeGreaterThan(300_000);
      const download = await alice.downloadBlob(ref);
      expect((JSON.parse(new TextDecoder().decode(download.bytes)) as { text: string }).text).toBe(big);

      // A step that waits: its resolved input is there before any output.
      const stuck = (await alice.execute('dash-stuck', { inputs: { text: 'still here' } })).executionId;
      const waiting = await alice.getStep(stuck, 'wait');
      expect(waiting.status).toBe('queued');
      expect(waiting.input).toEqual({ text: 'still here' });
      expect(waiting.output).toBeUndefined();
      expect(waiting.attempts.map((a) => a.status)).toEqual(['queued']);

      for (const path of [`/v1/executions/${done.executionId}/steps/a`, `/v1/executions/${stuck}/steps/wait`]) {
        const theirs = await call(server.url, 'GET', path, { key: bobKey });
        expect(theirs.status).toBe(404);
        expect(stepDetail.safeParse(theirs.json).success).toBe(false);
      }
      const noStep = await call(server.url, 'GET', `/v1/executions/${done.executionId}/steps/nope`, { key: aliceKey });
      expect(noStep.status).toBe(404);
      const asAdmin = await call(server.url, 'GET', `/v1/executions/${done.executionId}/steps/a`, {
        key: server.adminKey,
      });
      expect(asAdmin.status).toBe(200);
    });

    it("draws an execution's graph for its owner: steps, dependencies, types and models, no expressions", async () => {
      const done = await alice.waitFor((await alice.execute('dash-graph', { inputs: { text: 'g' } })).executionId);
      const graph = executionGraph.parse(await alice.getExecutionGraph(done.executionId));
      expect(graph).toMatchObject({ workflowId: 'dash-graph', workflowVersion: 1, verificationLevel: 'basic' });
      expect(graph.steps).toEqual([
        { id: 'a', dependsOn: [], stepType: 'inference', model: 'builtin/echo' },
        { id: 'b', dependsOn: ['a'], stepType: 'data_processing' },
      ]);
      expect(JSON.stringify(graph)).not.toContain('steps.a.output');
      // Another client's execution is not found, as if it did not exist.
      expect((await call(server.url, 'GET', `/v1/executions/${done.executionId}/graph`, { key: bobKey })).status).toBe(
        404,
      );
    });

    it('lists workers with the jobs they hold (admins only)', async () => {
      const slow = (await alice.execute('dash-slow', { inputs: {} })).executionId;
      const until = Date.now() + 10_000;
      let holder: WorkerView | undefined;
      while (!holder && Date.now() < until) {
        holder = (await admin.listWorkers()).find((w) => w.jobs.some((j) => j.executionId === slow));
        if (!holder) await new Promise((r) => setTimeout(r, 50));
      }
      expect(holder, 'a worker holding the slow step').toBeDefined();
      const job = holder!.jobs.find((j) => j.executionId === slow)!;
      expect(job).toMatchObject({ stepId: 'nap', attempt: 1 });
      expect(['assigned', 'running']).toContain(job.status);
      expect(Date.parse(job.leaseExpiresAt!)).toBeGreaterThan(Date.now() - 60_000);
      expect(holder!.capabilities.models).toContain('builtin/sleep');
      expect(holder!.responsive).toBe(true);
      await alice.waitFor(slow);

      // A worker that stopped pinging (a remote worker killed -9 cannot say it stopped) is still `active`
      // but unresponsive once its last sign of life is older than three pings.
      const store = server.context.node.store;
      await store.transaction((tx) =>
        tx.updateWorker(holder!.id, { lastSeenAt: Date.now() - UNRESPONSIVE_AFTER_MS - 1_000 }),
      );
      const silent = (await admin.listWorkers()).find((w) => w.id === holder!.id)!;
      expect(silent).toMatchObject({ status: 'active', responsive: false });

      for (const key of [aliceKey, bobKey]) {
        expect((await call(server.url, 'GET', '/v1/workers', { key })).status).toBe(403);
      }
    });

    it('summarizes the last hour in minute buckets (admins only)', async () => {
      const summary = metricsSummary.parse(await admin.metricsSummary());
      expect(summary.source).toBe('store');
      expect(summary.buckets).toHaveLength(60);
      expect(summary.bucketMs).toBe(60_000);
      expect(summary.totals.executionsStarted).toBeGreaterThanOrEqual(3);
      expect(summary.totals.executionsCompleted).toBeGreaterThanOrEqual(2);
      expect(summary.totals.stepsCompleted).toBeGreaterThanOrEqual(2);
      expect(summary.totals.stepLatencyP95Ms).toBeGreaterThanOrEqual(summary.totals.stepLatencyP50Ms!);
      // The stuck executions' jobs wait in the queue.
      expect(summary.queueDepth).toBeGreaterThanOrEqual(1);
      const sum = summary.buckets.reduce((n, b) => n + b.executionsStarted, 0);
      expect(sum).toBe(summary.totals.executionsStarted);
      for (const key of [aliceKey, bobKey]) {
        expect((await call(server.url, 'GET', '/v1/metrics/summary', { key })).status).toBe(403);
      }
    });

    it('streams the list: a created and a completed event, only your own, and resumes', async () => {
      let started = '';
      const reading = readList(server.url, aliceKey, (messages) =>
        rowsOf(messages).some((m) => m.row.executionId === started && m.row.status === 'completed'),
      );
      const bobReading = readList(server.url, bobKey, () => false, { collectMs: 4_000 });
      // Give the streams a moment to open before the execution starts, so the test sees it live.
      await new Promise((r) => setTimeout(r, 300));
      started = (await alice.execute('dash-slow', { inputs: {} })).executionId;
      const events = rowsOf(await reading).filter((m) => m.row.executionId === started);
      expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['execution']));
      expect(events[0]!.row.status).toBe('running');
      expect(events.at(-1)!.row).toMatchObject({ status: 'completed', steps: { total: 1, completed: 1 } });
      expect(rowsOf(await bobReading).filter((m) => m.row.executionId === started)).toEqual([]);

      // Resumed from the first event (the header, then the query parameter): the completion comes again.
      for (const resume of [{ lastEventId: events[0]!.id }, { since: events[0]!.id }]) {
        const again = rowsOf(
          await readList(
            server.url,
            aliceKey,
            (messages) => rowsOf(messages).some((m) => m.row.executionId === started && m.row.status === 'completed'),
            resume,
          ),
        );
        expect(again.find((m) => m.row.executionId === started && m.row.status === 'completed')).toBeDefined();
      }
      // Resumed from the last event: at most that row again (the stream repeats its last two seconds), never
      // an older state.
      const quiet = await readList(server.url, aliceKey, () => false, {
        lastEventId: events.at(-1)!.id,
        collectMs: 2_500,
      });
      for (const m of rowsOf(quiet).filter((q) => q.row.executionId === started))
        expect(m.row).toEqual(events.at(-1)!.row);

      // The SDK's reader follows the same stream (and would resume it on its own).
      const follow = new AbortController();
      const viaSdk: string[] = [];
      for await (const change of alice.executionChanges({ since: events[0]!.id, signal: follow.signal })) {
        viaSdk.push(change.execution.status);
        if (change.execution.executionId === started && change.execution.status === 'completed') follow.abort();
      }
      expect(viaSdk).toContain('completed');

      const bad = await call(server.url, 'GET', '/v1/executions/stream?since=garbage', { key: aliceKey });
      expect(bad.status).toBe(400);
      const worker = await call(server.url, 'GET', '/v1/executions/stream', { key: await server.key('w', 'worker') });
      expect(worker.status).toBe(403);
    });

    it('pages over 10,000 executions in order, with no gaps and no repeats', async () => {
      const wf = workflow();
      await server.test.node.store.transaction((tx) => tx.putWorkflow(wf));
      const base = Date.now() - 3_600_000 * 24;
      // Ten to a millisecond, so page boundaries fall between executions created at the same time.
      const records: ExecutionRecord[] = Array.from({ length: 10_000 }, (_, i) =>
        execution(wf, { clientId: 'pager', createdAt: base + Math.floor(i / 10), updatedAt: base }),
      );
      await insertExecutionsBulk(server.test.backend, records);
      const pager = server.client(await server.key('pager', 'client'));
      const expected = records
        .sort((x, y) => y.createdAt - x.createdAt || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0))
        .map((r) => r.id);
      const seen: string[] = [];
      for (let before: string | undefined; ;) {
        const page = await pager.listExecutions({ limit: 500, ...(before !== undefined && { before }) });
        seen.push(...page.executions.map((e) => e.executionId));
        if (page.next === undefined) break;
        before = page.next;
      }
      expect(seen.length).toBe(10_000);
      expect(new Set(seen).size).toBe(10_000);
      expect(seen).toEqual(expected);
    });
  });
}
