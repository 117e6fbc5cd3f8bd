import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../support/api-http.js';
import { executionSnapshot } from '../../support/api-state.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { HttpWorker } from '../../support/http-worker.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';
import { readSse } from '../../support/sse.js';

/**
 * A worker may write into the history of no execution but through the jobs it holds. Reports for a job
 * another worker holds (or held) are refused without a trace in that execution's history or event stream:
 * they are counted in a metric and logged instead. Before, each refusal appended `result.refused`, so any
 * worker could fill any client's history.
 */

const REPORTS = 1_000;

/** The value of one series of a Prometheus text exposition, or 0 when it is absent. */
function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`reports for a job the worker does not hold (${kind})`, () => {
    let server: TestServer;
    let honest: HttpWorker;
    let intruder: HttpWorker;
    let clientKey: string;

    beforeAll(async () => {
      server = await startTestServer(kind, 'foreign-reports', { node: { workers: 0 }, server: { closeGraceMs: 200 } });
      honest = await new HttpWorker(server.url, await server.key('honest', 'worker')).register();
      intruder = await new HttpWorker(server.url, await server.key('intruder', 'worker')).register();
      const publisher = await server.key('victim', 'publisher'); // the client's principal: it runs its own workflow
      const flow = {
        id: 'fr-echo',
        name: 'fr-echo',
        version: 1,
        steps: [echo('a', { input_mappings: { text: 'inputs.text' } })],
        outputs: { text: 'steps.a.output.text' },
      };
      expect((await call(server.url, 'POST', '/v1/workflows', { key: publisher, json: flow })).status).toBe(201);
      clientKey = await server.key('victim', 'client');
    });
    afterAll(() => server?.close());

    it(`leaves another client's completed execution untouched through ${REPORTS} forged fails, counts them, and stays responsive`, async () => {
      const started = await call(server.url, 'POST', '/v1/agents/fr-echo/execute', {
        key: clientKey,
        json: { inputs: { text: 'mine' } },
      });
      expect(started.status, started.text).toBe(202);
      const executionId = (started.json as { executionId: string }).executionId;
      const job = await honest.claimJob(executionId);
      expect((await honest.start(job)).status).toBe(204);
      expect((await honest.complete(job)).status).toBe(200);
      await server.test.node.waitFor(executionId);

      const before = await executionSnapshot(server.test.node.store, executionId);
      expect(before.execution?.status).toBe('completed');
      const streamBefore = await readSse(server.url, executionId, { apiKey: clientKey });
      const metricsBefore = (await call(server.url, 'GET', '/metrics', { key: server.adminKey })).text;

      // The intruder knows the job id, attempt and even the nonce: none of it makes the job its own.
      const t0 = performance.now();
      let slowestHealth = 0;
      const statuses = new Map<number, number>();
      for (let sent = 0; sent < REPORTS; sent += 50) {
        const batch = Array.from({ length: 50 }, () => intruder.fail(job));
        const h0 = performance.now();
        expect((await call(server.url, 'GET', '/healthz')).status).toBe(200);
        slowestHealth = Math.max(slowestHealth, performance.now() - h0);
        for (const response of await Promise.all(batch)) {
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          expect(response.json).toMatchObject({ accepted: false, reason: 'not_assigned' });
        }
      }
      const elapsedMs = performance.now() - t0;
      console.log(
        `${kind}: ${REPORTS} forged fails in ${Math.round(elapsedMs)} ms; slowest /healthz meanwhile ${Math.round(slowestHealth)} ms`,
      );
      expect(Object.fromEntries(statuses)).toEqual({ 403: REPORTS });

      const after = await executionSnapshot(server.test.node.store, executionId);
      expect(after).toEqual(before);
      const streamAfter = await readSse(server.url, executionId, { apiKey: clientKey });
      expect(streamAfter.messages).toEqual(streamBefore.messages);
      expect(streamAfter.messages.some((m) => m.event === 'result.refused')).toBe(false);

      const metricsAfter = (await call(server.url, 'GET', '/metrics', { key: server.adminKey })).text;
      const series = 'verity_foreign_reports_total{reason="not_assigned"}';
      expect(metricValue(metricsAfter, series) - metricValue(metricsBefore, series)).toBe(REPORTS);
      expect(slowestHealth).toBeLessThan(2_000);
    });

    it('counts a report for a job that does not exist, and a late report by the worker that held a finished job, without history', async () => {
      const started = await call(server.url, 'POST', '/v1/agents/fr-echo/execute', {
        key: clientKey,
        json: { inputs: { text: 'again' } },
      });
      const executionId = (started.json as { executionId: string }).executionId;
      const job = await honest.claimJob(executionId);
      expect((await honest.start(job)).status).toBe(204);
      expect((await honest.complete(job)).status).toBe(200);
      await server.test.node.waitFor(executionId);
      const before = await executionSnapshot(server.test.node.store, executionId);
      const metricsBefore = (await call(server.url, 'GET', '/metrics', { key: server.adminKey })).text;

      expect((await honest.fail(job)).json).toMatchObject({ reason: 'already_finished' });
      expect((await honest.complete(job)).json).toMatchObject({ reason: 'already_finished' });
      expect((await intruder.fail(job, {}, '01900000-0000-7000-8000-000000000000')).json).toMatchObject({
        reason: 'unknown_job',
      });

      expect(await executionSnapshot(server.test.node.store, executionId)).toEqual(before);
      const metricsAfter = (await call(server.url, 'GET', '/metrics', { key: server.adminKey })).text;
      const delta = (reason: string) =>
        metricValue(metricsAfter, `verity_foreign_reports_total{reason="${reason}"}`) -
        metricValue(metricsBefore, `verity_foreign_reports_total{reason="${reason}"}`);
      expect(delta('already_finished')).toBe(2);
      expect(delta('unknown_job')).toBe(1);
    });

    it('still records the refusal of a report by the worker that holds the job, while it holds it', async () => {
      const started = await call(server.url, 'POST', '/v1/agents/fr-echo/execute', {
        key: clientKey,
        json: { inputs: { text: 'held' } },
      });
      const executionId = (started.json as { executionId: string }).executionId;
      const job = await honest.claimJob(executionId);
      expect((await honest.start(job)).status).toBe(204);
      expect((await honest.fail(job, { nonce: 'f'.repeat(32) })).json).toMatchObject({ reason: 'bad_nonce' });
      const events = (await executionSnapshot(server.test.node.store, executionId)).events.filter(
        (e) => e.type === 'result.refused',
      );
      expect(events.map((e) => e.data?.reason)).toEqual(['bad_nonce']);
      expect((await honest.complete(job)).status).toBe(200);
    });
  });
}
