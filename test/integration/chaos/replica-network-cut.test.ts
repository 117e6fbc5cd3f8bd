import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startWorker } from '../../../bench/soak/processes.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { VerityClient } from '../../../src/sdk/client.js';
import type { ExecutionView } from '../../../src/sdk/client.js';
import { createNetnsLink, netnsUnavailable } from '../../support/netns.js';
import type { NetnsLink } from '../../support/netns.js';
import { postgresAvailable, POSTGRES_URL } from '../../support/postgres.js';
import { killAllChildren, ReplicaSet } from '../../support/replicas.js';
import { startTcpProxy } from '../../support/tcp-proxy.js';
import type { TcpProxy } from '../../support/tcp-proxy.js';
import { expectedAcc as accOf, sleep, TERMINAL, until } from '../../support/chaos.js';

/**
 * A real network cut of a replica: `verity serve` runs in a network namespace, with in-process worker
 * slots, and reaches PostgreSQL (which listens on loopback only) through a TCP relay on the host end of
 * the namespace's veth pair; a remote worker and the test's client reach it over the same link. Another
 * replica runs on the host. The link is taken down mid-run: the cut replica's jobs lose their leases, the
 * host replica's sweeper queues them again, the remote worker moves over to the host replica and runs
 * them, and every execution completes right. When the link comes back, the cut replica's workers report
 * what they finished in the dark, and every such report is refused: one result per step, every receipt
 * verifies. The only addresses used are loopback and the veth pair's (10.213.0.0/16). Needs root for
 * `ip netns` and PostgreSQL; skipped, with the reason, where either is missing.
 */
const netns = netnsUnavailable();
const postgres = await postgresAvailable();
const unavailable = netns ?? (postgres ? undefined : `no PostgreSQL at ${POSTGRES_URL}`);

const STEPS = 4;
const workflow = {
  id: 'cut-replica-chain',
  steps: Array.from({ length: STEPS }, (_, i) => ({
    id: `s${i}`,
    step_type: 'inference',
    model_requirements: { name: 'builtin/sleep' },
    input_mappings: { ms: '600', acc: i === 0 ? 'inputs.seed' : `steps.s${i - 1}.output.acc * 3 + ${i}` },
    retry_policy: { max_attempts: 5, initial_backoff_ms: 50 },
  })),
  outputs: { acc: `steps.s${STEPS - 1}.output.acc` },
};
const expectedAcc = (seed: number) => accOf(seed, STEPS);

interface JobRow {
  id: string;
  execution_id: string;
  step_id: string;
  attempt: number;
  status: string;
  worker_id: string;
}

describe.skipIf(unavailable !== undefined)(
  `network cut between a replica and everything else${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let link: NetnsLink | undefined;
    let proxy: TcpProxy | undefined;
    let replicas: ReplicaSet | undefined;
    let workerDir: string | undefined;
    afterAll(async () => {
      link?.up();
      killAllChildren();
      await replicas?.close();
      await proxy?.close();
      link?.remove();
      if (workerDir) rmSync(workerDir, { recursive: true, force: true });
    });

    const t0 = Date.now();
    const phase = (what: string) => console.error(`replica network cut: ${what} at ${Date.now() - t0} ms`);

    it('hands the cut replica’s jobs to the others, completes every execution, and refuses its late reports', async () => {
      link = createNetnsLink('rcut');
      replicas = new ReplicaSet('replica-cut');
      const [host] = await replicas.start(1);
      phase('host replica up');
      // PostgreSQL listens on 127.0.0.1: the replica in the namespace reaches it through this relay.
      const db = new URL(POSTGRES_URL);
      proxy = await startTcpProxy({ host: link.hostAddress }, { host: db.hostname, port: Number(db.port || 5432) });
      const viaProxy = new URL(replicas.schema.url);
      viaProxy.hostname = proxy.host;
      viaProxy.port = String(proxy.port);
      // What docs/deployment.md asks of a deployment (there with ALTER ROLE … SET): a session idle inside a
      // transaction for 3 s is ended by PostgreSQL, so a transaction the cut replica had open does not hold
      // its row locks, and the executions they belong to, until the link comes back. In a URL, `options`
      // replaces the `-c search_path=` that `?schema=` makes, so the search path is given here too.
      const schema = viaProxy.searchParams.get('schema')!;
      viaProxy.searchParams.set('options', `-c search_path=${schema} -c idle_in_transaction_session_timeout=3000`);
      const cut = await replicas.startCustom({
        wrap: link.wrap,
        host: link.nsAddress,
        databaseUrl: viaProxy.toString(),
        workers: 3,
      });
      expect(proxy.accepted).toBeGreaterThan(0);
      phase('replica in the namespace up');

      const admin = new VerityClient({ server: host!.url, apiKey: host!.adminKey });
      const publisher = (await admin.createKey('cut-replica-client', 'publisher')).token;
      const onCut = new VerityClient({ server: cut.url, apiKey: publisher });
      const onHost = new VerityClient({ server: host!.url, apiKey: publisher });
      // Published over the link, through the replica behind it.
      await onCut.publishWorkflow(workflow);

      // Two remote workers on the host: one reaches the cut replica first, over the link; the other knows
      // only the host replica and keeps working through the cut. (The first moves over too, but only once it
      // notices: a long poll that gets no answer is given up after its wait plus 5 s, 25 s here; a heartbeat
      // after 4 s.)
      workerDir = mkdtempSync(join(tmpdir(), 'verity-cut-replica-worker-'));
      await Promise.all(
        [
          { name: 'remote', url: [cut.url, host!.url] },
          { name: 'host-only', url: [host!.url] },
        ].map(async ({ name, url }) =>
          startWorker({
            name,
            url,
            apiKey: (await admin.createKey(`cut-replica-${name}`, 'worker')).token,
            dataDir: join(workerDir!, name),
            concurrency: 2,
            capabilities: ['builtin/sleep'],
          }),
        ),
      );
      phase('workers up');

      const seeds = [1, 2, 3, 4, 5, 6];
      const started = await Promise.all(
        seeds.map((seed, i) => (i % 2 === 0 ? onCut : onHost).execute(workflow.id, { inputs: { seed } })),
      );
      const ids = started.map((s) => s.executionId);

      // Cut once the replica's own worker slots are in the middle of jobs, with results already in.
      const localRunning = () =>
        replicas!.query<JobRow>(
          `SELECT j.id, j.execution_id, j.step_id, j.attempt, j.status, j.worker_id FROM jobs j
            JOIN workers w ON w.id = j.worker_id WHERE w.kind = 'local' AND j.status = 'running'`,
        );
      const heldAtCut = await until(
        async () => {
          const [row] = await replicas!.query<{ n: string }>('SELECT count(*) AS n FROM step_results');
          const running = await localRunning();
          return Number(row!.n) >= 3 && running.length > 0 ? running : undefined;
        },
        60_000,
        'the cut replica’s workers to run jobs',
      );
      link.down();
      const cutAt = Date.now();
      phase('link down');
      // What its slots hold once the link is down: those seen above may have finished in between (a COMMIT
      // already past the relay still lands), but a slot is handed its next job in the very report that ends
      // one. A second on, nothing of the cut replica's can land any more: what is running then is stranded.
      await sleep(1000);
      heldAtCut.push(...(await localRunning()).filter((j) => !heldAtCut.some((h) => h.id === j.id)));
      // Everything finishes without the cut replica: its leases run out, the host replica queues the jobs
      // again (and makes the decisions the cut replica had left to make), and the workers on the host run them.
      const finals: ExecutionView[] = [];
      for (const id of ids) {
        finals.push(
          await until(
            async () => {
              const view = await onHost.status(id);
              return TERMINAL.has(view.status) ? view : undefined;
            },
            60_000,
            `execution ${id} without the cut replica`,
          ),
        );
      }
      const finishedAfterMs = Date.now() - cutAt;
      phase('every execution ended');
      expect(finals.map((f) => [f.status, f.result])).toEqual(
        seeds.map((seed) => ['completed', { acc: expectedAcc(seed) }]),
      );
      // The jobs its workers held ran out of lease (one whose report got through in the instant before the
      // cut may have completed instead).
      const held = await replicas.query<JobRow>('SELECT id, status FROM jobs WHERE id = ANY($1)', [
        heldAtCut.map((j) => j.id),
      ]);
      expect(held.every((j) => j.status === 'expired' || j.status === 'completed')).toBe(true);
      const expired = heldAtCut.filter((j) => held.find((h) => h.id === j.id)?.status === 'expired');
      expect(expired.length).toBeGreaterThan(0);

      // The link comes back: the cut replica reconnects, and its workers report what they finished in the
      // dark (or find the report they had started cut off). Once it answers again, give them a moment.
      link.up();
      phase('link up');
      await until(
        () =>
          onCut.status(ids[0]!).catch(() => {
            const exit = cut.child!.process.exitCode ?? cut.child!.process.signalCode;
            if (exit !== null) throw new Error(`the cut replica exited (${exit}):\n${cut.child!.stderr()}`);
            return undefined;
          }),
        90_000,
        'the cut replica to answer again',
      );
      await sleep(5000);
      phase('the cut replica answers again');
      // Whatever it reported for a job it no longer held was refused (none of it is in the results below).
      const refusals = cut.child!.stderr().match(/the server refused the report: \w+/g) ?? [];
      for (const refusal of refusals) expect(refusal).toMatch(/: (expired|stale_attempt|not_assigned)$/);
      phase(`${refusals.length} late reports refused`);

      // One result per step, from the attempt that ran after the cut for every job the cut replica held.
      const results = await replicas.query<{
        execution_id: string;
        step_id: string;
        attempt: number;
        worker_id: string;
      }>('SELECT execution_id, step_id, attempt, worker_id FROM step_results WHERE execution_id = ANY($1)', [ids]);
      expect(results).toHaveLength(ids.length * STEPS);
      for (const job of expired) {
        const result = results.find((r) => r.execution_id === job.execution_id && r.step_id === job.step_id)!;
        expect(Number(result.attempt)).toBeGreaterThan(Number(job.attempt));
        expect(result.worker_id).not.toBe(job.worker_id);
      }
      const repeated = await replicas.query(
        `SELECT execution_id, step_id, count(*) AS n FROM events
          WHERE type = 'step.completed' AND execution_id = ANY($1) GROUP BY execution_id, step_id HAVING count(*) <> 1`,
        [ids],
      );
      expect(repeated).toEqual([]);
      // Nothing the cut replica said after it came back changed an execution: the same results, and every
      // receipt (one per execution) verifies offline with the coordinator key the replicas share.
      const { publicKeyPem } = await onHost.coordinatorKey();
      for (const [i, id] of ids.entries()) {
        // Through the cut replica too.
        expect((await onCut.status(id)).result).toEqual({ acc: expectedAcc(seeds[i]!) });
        const bundle = await onHost.receipt(id);
        expect((await verifyBundle(bundle, { trustedKeys: [publicKeyPem], level: 'basic' })).ok).toBe(true);
      }
      const receipts = await replicas.query<{ execution_id: string; n: string }>(
        'SELECT execution_id, count(*) AS n FROM receipts WHERE execution_id = ANY($1) GROUP BY execution_id',
        [ids],
      );
      expect(receipts.map((r) => Number(r.n))).toEqual(ids.map(() => 1));
      // For the record in the test output: how long the cut held the executions up.
      console.error(`replica network cut: every execution completed ${finishedAfterMs} ms after the cut`);
    }, 300_000);
  },
);
