import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startWorker } from '../../../bench/soak/processes.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { VerityClient } from '../../../src/sdk/client.js';
import type { ExecutionView } from '../../../src/sdk/client.js';
import { HttpWorker } from '../../support/http-worker.js';
import { postgresAvailable } from '../../support/postgres.js';
import { killAllChildren, ReplicaSet } from '../../support/replicas.js';
import { expectedAcc as accOf, TERMINAL, until } from '../../support/chaos.js';

/**
 * A remote worker given two replicas (`verity worker --server URL1,URL2`), two `verity serve` processes on
 * one PostgreSQL schema: kill -9 the replica the worker uses in the middle of the run, and the worker moves
 * on to the other at once; every execution completes, promptly, with each step's result stored once. Real
 * processes from dist/ (`npm run build` first).
 */
const STEPS = 5;
const workflow = {
  id: 'failover-chain',
  steps: Array.from({ length: STEPS }, (_, i) => ({
    id: `s${i}`,
    step_type: 'inference',
    model_requirements: { name: 'builtin/sleep' },
    input_mappings: { ms: '300', acc: i === 0 ? 'inputs.seed' : `steps.s${i - 1}.output.acc * 3 + ${i}` },
  })),
  outputs: { acc: `steps.s${STEPS - 1}.output.acc` },
};
const expectedAcc = (seed: number) => accOf(seed, STEPS);

describe.skipIf(!(await postgresAvailable()))('a remote worker fails over between replicas', () => {
  let replicas: ReplicaSet | undefined;
  let workerDir: string | undefined;
  afterEach(async () => {
    killAllChildren();
    await replicas?.close();
    replicas = undefined;
    if (workerDir) rmSync(workerDir, { recursive: true, force: true });
  });

  it('moves on when the replica it uses is killed -9 mid-run, and every execution completes promptly', async () => {
    replicas = new ReplicaSet('failover');
    const [r0, r1] = await replicas.start(2);
    const admin = new VerityClient({ server: r0!.url, apiKey: r0!.adminKey });
    const publisher = (await admin.createKey('failover-client', 'publisher')).token;
    const via = [r0!, r1!].map((r) => new VerityClient({ server: r.url, apiKey: publisher }));
    await via[0]!.publishWorkflow(workflow);

    workerDir = mkdtempSync(join(tmpdir(), 'verity-failover-worker-'));
    // Registered on r0 (its first URL): that is the replica it uses until it dies.
    const worker = await startWorker({
      name: 'failover-worker',
      url: replicas.urls,
      apiKey: (await admin.createKey('failover-worker', 'worker')).token,
      dataDir: workerDir,
      concurrency: 4,
      capabilities: ['builtin/sleep'],
    });

    // Six executions, started on either replica.
    const seeds = [1, 2, 3, 4, 5, 6];
    const started = await Promise.all(seeds.map((seed, i) => via[i % 2]!.execute(workflow.id, { inputs: { seed } })));
    // Kill r0 once the worker is in the middle of the run: some results in, jobs in flight on r0.
    await until(
      async () => {
        const [row] = await replicas!.query<{ n: string }>('SELECT count(*) AS n FROM step_results');
        return Number(row!.n) >= 6 ? true : undefined;
      },
      30_000,
      'six step results',
    );
    await r0!.child!.kill9();
    const killedAt = Date.now();

    const finals: ExecutionView[] = [];
    for (const execution of started) {
      finals.push(
        await until(
          async () => {
            const view = await via[1]!.status(execution.executionId);
            return TERMINAL.has(view.status) ? view : undefined;
          },
          30_000,
          `execution ${execution.executionId}`,
        ),
      );
    }
    const afterKillMs = Date.now() - killedAt;
    expect(finals.map((f) => [f.status, f.result])).toEqual(
      seeds.map((seed) => ['completed', { acc: expectedAcc(seed) }]),
    );
    // Promptly: the rest of the run (at most a few 300 ms steps per chain, four at a time) plus a lease
    // for a job whose start was lost with r0 — not a wait for r0 to come back (it never does).
    expect(afterKillMs).toBeLessThan(15_000);
    expect(worker.child.stderr()).toContain(`worker: ${r0!.url} did not answer`);

    // In the database: one result per step, one step.completed event per step, one receipt per execution.
    const ids = started.map((s) => s.executionId);
    const results = await replicas.query<{ n: string }>(
      'SELECT count(*) AS n FROM step_results WHERE execution_id = ANY($1)',
      [ids],
    );
    expect(Number(results[0]!.n)).toBe(ids.length * STEPS);
    const repeated = await replicas.query(
      `SELECT execution_id, step_id, count(*) AS n FROM events
        WHERE type = 'step.completed' AND execution_id = ANY($1) GROUP BY execution_id, step_id HAVING count(*) <> 1`,
      [ids],
    );
    expect(repeated).toEqual([]);
    const receipts = await replicas.query<{ n: string }>(
      'SELECT count(DISTINCT execution_id) AS n FROM receipts WHERE execution_id = ANY($1)',
      [ids],
    );
    expect(Number(receipts[0]!.n)).toBe(ids.length);
    // And every receipt verifies offline, with the coordinator key the replicas share.
    const { publicKeyPem } = await via[1]!.coordinatorKey();
    for (const execution of started) {
      const bundle = await via[1]!.receipt(execution.executionId);
      expect((await verifyBundle(bundle, { trustedKeys: [publicKeyPem], level: 'basic' })).ok).toBe(true);
    }
  }, 120_000);

  it('stores a result delivered to two replicas once: the second is answered already_finished', async () => {
    replicas = new ReplicaSet('failover-dup');
    const [r0, r1] = await replicas.start(2);
    const admin = new VerityClient({ server: r0!.url, apiKey: r0!.adminKey });
    const workerKey = (await admin.createKey('dup-worker', 'worker')).token;
    const client = new VerityClient({ server: r0!.url, apiKey: (await admin.createKey('dup', 'publisher')).token });
    await client.publishWorkflow({
      id: 'dup-echo',
      steps: [
        {
          id: 'only',
          step_type: 'inference',
          model_requirements: { name: 'builtin/echo' },
          input_mappings: { v: 'inputs.v' },
        },
      ],
      outputs: { v: 'steps.only.output.v' },
    });
    const { executionId } = await client.execute('dup-echo', { inputs: { v: 7 } });

    // Registered on r1, claimed on r0: any replica serves a worker.
    const onR1 = await new HttpWorker(r1!.url, workerKey).register();
    const onR0 = new HttpWorker(r0!.url, workerKey);
    onR0.id = onR1.id;
    const job = await onR0.claimJob(executionId, 10_000, { start: true });
    const attestation = onR1.attest(job, job.input);
    const first = await onR0.complete(job, { attestation });
    expect(first.status, first.text).toBe(200);
    // The same report again, to the other replica, as a worker does when r0's answer was lost.
    const again = await onR1.complete(job, { attestation });
    expect(again.status, again.text).toBe(409);
    expect(again.json).toMatchObject({ accepted: false, reason: 'already_finished' });

    const view = await until(
      async () => {
        const v = await client.status(executionId);
        return TERMINAL.has(v.status) ? v : undefined;
      },
      10_000,
      'the execution',
    );
    expect(view).toMatchObject({ status: 'completed', result: { v: 7 } });
    const rows = await replicas.query('SELECT job_id FROM step_results WHERE execution_id = $1', [executionId]);
    expect(rows).toEqual([{ job_id: job.jobId }]);
    const completed = await replicas.query(
      "SELECT seq FROM events WHERE execution_id = $1 AND type = 'step.completed'",
      [executionId],
    );
    expect(completed).toHaveLength(1);
  }, 60_000);
});
