import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventView } from '../../../src/api/schemas.js';
import type { VerityClient } from '../../../src/sdk/client.js';
import type { z } from 'zod';
import { eventView as storeEventView } from '../../../src/api/sse.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, sleepStep, transform } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';
import { readSse } from '../../support/sse.js';
import type { SseMessage } from '../../support/sse.js';

type Event = z.output<typeof eventView>;

/**
 * The event stream (GET /v1/executions/:id/events) against the history route and the store's own list: every
 * transition, once, in order, then `end`; resuming with Last-Event-ID from any point misses none and repeats
 * none; and many writers at once (parallel steps on several worker slots, several executions) change nothing.
 */

/** A fan-out: `prepare`, then `width` slow steps at once, then `join`: many transitions from concurrent writers. */
function fanOut(id: string, width: number, ms: number) {
  const branches = Array.from({ length: width }, (_, i) =>
    sleepStep(`b${i}`, ms + 10 * i, { depends_on: ['prepare'] }),
  );
  return {
    id,
    name: `fan-out of ${width}`,
    version: 1,
    steps: [
      echo('prepare', { input_mappings: { text: 'inputs.text' } }),
      ...branches,
      transform('join', '$count(parts)', {
        depends_on: branches.map((b) => b.id),
        input_mappings: { parts: `[${branches.map((b) => `steps.${b.id}.output`).join(', ')}]` },
      }),
    ],
    outputs: { joined: 'steps.join.output' },
    concurrency: width,
  };
}

/** The events of a stream, checked against the API's schema on the way. */
function events(messages: readonly SseMessage[]): Event[] {
  return messages.filter((m) => m.event !== 'end').map((m) => eventView.parse(JSON.parse(m.data)));
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`the event stream (${kind})`, () => {
    let server: TestServer;
    let apiKey: string;
    let client: VerityClient;
    beforeAll(async () => {
      server = await startTestServer(kind, 'events', { node: { workers: 4 } });
      apiKey = await server.key('alice', 'publisher');
      client = server.client(apiKey);
      await client.publishWorkflow(fanOut('fan-4', 4, 150));
      await client.publishWorkflow(fanOut('fan-12', 12, 60));
    });
    afterAll(() => server?.close());

    /** Every page of the history route, small pages on purpose. */
    async function history(executionId: string): Promise<(Event & { cursor: string })[]> {
      const out: (Event & { cursor: string })[] = [];
      for (let after: string | undefined; ;) {
        const page = await client.history(executionId, { limit: 7, ...(after !== undefined && { after }) });
        out.push(...page.events);
        if (page.next === undefined) return out;
        after = page.next;
      }
    }

    /**
     * A whole stream (the messages of one or more connections, in order) is the execution's history: the same
     * events as the history route and the store, in the same order, each once, each job's transitions in
     * their causal order, and `end` last with the final status.
     */
    async function expectWholeHistory(executionId: string, messages: readonly SseMessage[]): Promise<void> {
      const end = messages.at(-1)!;
      expect(end.event).toBe('end');
      expect(end.id).toBeUndefined();
      expect(messages.filter((m) => m.event === 'end')).toHaveLength(1);
      const streamed = events(messages);
      const ids = messages.filter((m) => m.event !== 'end').map((m) => m.id!);
      expect(new Set(ids).size).toBe(ids.length);
      // The SSE event name is the event's type.
      expect(messages.filter((m) => m.event !== 'end').map((m) => m.event)).toEqual(streamed.map((e) => e.type));

      const status = await client.status(executionId);
      expect(JSON.parse(end.data)).toEqual({ status: status.status });

      const pages = await history(executionId);
      expect(streamed).toEqual(pages.map(({ cursor: _cursor, ...e }) => e));
      expect(ids).toEqual(pages.map((e) => e.cursor));

      const stored = (await server.test.node.store.read.listEvents(executionId, 0, 100_000)).map(storeEventView);
      expect(streamed).toEqual(stored);
      for (let i = 1; i < streamed.length; i++)
        expect(streamed[i]!.seq, `seq after ${streamed[i - 1]!.type}`).toBeGreaterThan(streamed[i - 1]!.seq);

      // The transitions read as they happened.
      const types = streamed.map((e) => e.type);
      expect(types[0]).toBe('execution.started');
      expect(types.slice(-2)).toEqual([`execution.${status.status}`, 'receipt.issued']);
      const jobs = new Map<string, string[]>();
      for (const e of streamed) if (e.jobId !== undefined) jobs.set(e.jobId, [...(jobs.get(e.jobId) ?? []), e.type]);
      expect(jobs.size).toBeGreaterThanOrEqual(status.steps.length);
      for (const [jobId, sequence] of jobs)
        expect(sequence.slice(0, 3), `job ${jobId}`).toEqual(['job.queued', 'job.assigned', 'job.started']);
      for (const step of status.steps) {
        const own = streamed.findIndex((e) => e.type === 'step.completed' && e.stepId === step.id);
        const started = streamed.findIndex((e) => e.type === 'job.started' && e.stepId === step.id);
        expect(started, `step ${step.id} started`).toBeGreaterThan(0);
        expect(own, `step ${step.id} completed after it started`).toBeGreaterThan(started);
      }
    }

    it('streams every transition of a live execution in order, ending with `end` after the last', async () => {
      const started = await client.execute('fan-4', { inputs: { text: 'live' } });
      const live = await readSse(server.url, started.executionId, { apiKey });
      expect(live.status).toBe(200);
      expect(live.ended).toBe(true);
      await expectWholeHistory(started.executionId, live.messages);
      expect(events(live.messages).filter((e) => e.type === 'step.completed')).toHaveLength(6);

      // Afterwards the same stream replays, identical, and ends.
      const replay = await readSse(server.url, started.executionId, { apiKey });
      expect(replay.messages).toEqual(live.messages);
    });

    it('a client that hangs up after k events and reconnects with Last-Event-ID misses none and repeats none', async () => {
      const ks = [1, 2, 5, 11, 17];
      const runs = await Promise.all(ks.map((k) => client.execute('fan-4', { inputs: { text: `k=${k}` } })));
      await Promise.all(
        runs.map(async ({ executionId }, i) => {
          const k = ks[i]!;
          const first = await readSse(server.url, executionId, { apiKey, take: k });
          expect(first.ended).toBe(false);
          expect(first.messages).toHaveLength(k);
          const rest = await readSse(server.url, executionId, { apiKey, lastEventId: first.messages.at(-1)!.id! });
          expect(rest.ended).toBe(true);
          await expectWholeHistory(executionId, [...first.messages, ...rest.messages]);
        }),
      );
    });

    it('a client that keeps dropping the connection every 3 events still gets the whole history, by header or by ?after=', async () => {
      const { executionId } = await client.execute('fan-4', { inputs: { text: 'flaky network' } });
      const messages: SseMessage[] = [];
      for (let connection = 0; ; connection++) {
        const last = messages.at(-1)?.id;
        // Alternate the two ways of resuming the route offers.
        const resume = last === undefined ? {} : connection % 2 === 0 ? { lastEventId: last } : { after: last };
        const read = await readSse(server.url, executionId, { apiKey, take: 3, ...resume });
        messages.push(...read.messages);
        if (read.ended) break;
        expect(connection).toBeLessThan(100);
      }
      await expectWholeHistory(executionId, messages);

      // Resuming after the very last event gives the end at once, and nothing else.
      const lastId = messages.filter((m) => m.id !== undefined).at(-1)!.id!;
      const tail = await readSse(server.url, executionId, { apiKey, lastEventId: lastId, timeoutMs: 5000 });
      expect(tail.messages.map((m) => m.event)).toEqual(['end']);
    });

    it('refuses a Last-Event-ID it did not give out with a 400, and another client with a 404', async () => {
      const { executionId } = await client.execute('fan-4', { inputs: { text: 'bad cursor' } });
      for (const bad of ['not-a-cursor', '-1', '1.2.3', '12abc']) {
        const read = await readSse(server.url, executionId, { apiKey, lastEventId: bad, timeoutMs: 5000 });
        expect(read.status, `Last-Event-ID ${bad}`).toBe(400);
        expect(read.body).toMatchObject({ error: { code: 'validation' } });
        expect((await readSse(server.url, executionId, { apiKey, after: bad, timeoutMs: 5000 })).status).toBe(400);
      }
      const stranger = await server.key('mallory', 'client');
      expect((await readSse(server.url, executionId, { apiKey: stranger, timeoutMs: 5000 })).status).toBe(404);
      await client.waitFor(executionId);
    });

    it('stops following an execution as soon as the client hangs up', async () => {
      await client.publishWorkflow({ id: 'slow-one', version: 1, steps: [sleepStep('slow', 4000)] });
      const { executionId } = await client.execute('slow-one');
      const listeners = () => server.test.node.engine.events.listenerCount('change');
      const before = listeners();
      const first = await readSse(server.url, executionId, { apiKey, take: 1 });
      expect(first.messages).toHaveLength(1);
      // A stream that did not notice would poll the store for this execution until it ended, for nobody.
      const deadline = Date.now() + 2000;
      while (listeners() > before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(listeners()).toBe(before);
      expect((await client.status(executionId)).status).toBe('running');
      await client.cancel(executionId);
    });

    it('several wide executions at once, on several worker slots, each stream in order without gaps', async () => {
      const runs = await Promise.all([1, 2, 3].map((n) => client.execute('fan-12', { inputs: { text: `wide ${n}` } })));
      const streams = await Promise.all(runs.map(({ executionId }) => readSse(server.url, executionId, { apiKey })));
      for (const [i, { executionId }] of runs.entries()) {
        expect(streams[i]!.ended).toBe(true);
        await expectWholeHistory(executionId, streams[i]!.messages);
        expect(events(streams[i]!.messages).filter((e) => e.type === 'step.completed')).toHaveLength(14);
      }
      // The branches really ran side by side (the writers were concurrent), as the stream itself tells.
      const running = new Set<string>();
      let most = 0;
      for (const e of runs.flatMap((_, i) => events(streams[i]!.messages))) {
        if (e.type === 'job.started') running.add(e.jobId!);
        if (e.type === 'step.completed') running.delete(e.jobId!);
        most = Math.max(most, running.size);
      }
      expect(most).toBeGreaterThan(1);
    });
  });
}

describe.skipIf(!(await backendAvailable('postgres')))('the event stream beside a long transaction (postgres)', () => {
  let server: TestServer;
  let apiKey: string;
  beforeAll(async () => {
    server = await startTestServer('postgres', 'events_xmin', { node: { workers: 2 } });
    apiKey = await server.key('alice', 'publisher');
    await server.client(apiKey).publishWorkflow(fanOut('fan-2', 2, 20));
  });
  afterAll(() => server?.close());

  it('streams every event and ends while a transaction elsewhere in the database stays open', async () => {
    const url = new URL(server.test.backend.databaseUrl!);
    url.searchParams.delete('schema');
    const other = new pg.Client({ connectionString: url.toString() });
    await other.connect();
    try {
      // An outside transaction with an id, older than the whole execution: a stream that waited for every
      // older transaction to end would stall (or give up and end early) until it does.
      await other.query('BEGIN');
      await other.query('SELECT pg_current_xact_id()');
      const { executionId } = await server
        .client(apiKey)
        .execute('fan-2', { inputs: { text: 'unrelated transaction' } });
      const read = await readSse(server.url, executionId, { apiKey, timeoutMs: 10_000 });
      expect(read.ended).toBe(true);
      const stored = (await server.test.node.store.read.listEvents(executionId, 0, 10_000)).map(storeEventView);
      expect(events(read.messages)).toEqual(stored);
      expect(stored.at(-1)!.type).toBe('receipt.issued');
    } finally {
      await other.query('ROLLBACK');
      await other.end();
    }
  });
});
