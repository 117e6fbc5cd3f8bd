import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCUMENT_INTELLIGENCE, REVIEW_SENTIMENT, TRAIN_AND_CLASSIFY } from '../../support/example-results.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { VerityClient } from '../../../src/sdk/client.js';
import type { ExecutionView, HistoryPage } from '../../../src/sdk/client.js';
import { REPO } from '../../support/cli.js';
import { echo, sleepStep } from '../../support/node.js';
import { startServerProcess, startWorkerProcess } from '../../support/server.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';
import type { ProcessHandle, ServerProcess } from '../../support/server.js';
import { sandbox } from '../../support/evaluator.js';

/**
 * The product as it is deployed: a real `verity serve --workers 0` process (SQLite in its data directory)
 * and two real `verity worker` processes that reach it over HTTP. The child processes run the built code
 * (dist/): `npm run build` first.
 */

// Short leases so that a worker killed mid-job loses its job in a second or two, not the default 15 s. The
// server reads this when it starts (the children inherit this process's environment).
process.env.VERITY_LEASE_MS = '2000';

type Worker = ProcessHandle & { workerId: string };

const root = mkdtempSync(join(tmpdir(), 'verity-e2e-'));
const serverDir = join(root, 'server');
let server: ServerProcess;
let admin: VerityClient;
let client: VerityClient;
const workerKeys = new Map<string, string>();
/** The live worker processes by worker id, with the name (and so the key and data directory) each runs as. */
const workers = new Map<string, Worker & { name: string }>();

async function startWorker(name: string): Promise<Worker> {
  let key = workerKeys.get(name);
  if (key === undefined) {
    key = (await admin.createKey(name, 'worker')).token;
    workerKeys.set(name, key);
  }
  const worker = await startWorkerProcess({
    url: server.url,
    apiKey: key,
    dataDir: join(root, name),
    concurrency: 4,
    name,
  });
  workers.set(worker.workerId, Object.assign(worker, { name }));
  return worker;
}

/** The whole history, every page. */
async function history(executionId: string): Promise<HistoryPage['events']> {
  const out: HistoryPage['events'] = [];
  for (let after: string | undefined; ;) {
    const page = await client.history(executionId, after === undefined ? {} : { after });
    out.push(...page.events);
    if (page.next === undefined) return out;
    after = page.next;
  }
}

/** Waits until the step's job has started on a worker, and says which (from the job.started event's actor). */
async function runningOn(executionId: string, stepId: string, attempt = 1): Promise<string> {
  for (const end = Date.now() + 15_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    const started = (await history(executionId)).find(
      (e) => e.type === 'job.started' && e.stepId === stepId && e.attempt === attempt,
    );
    if (started) return started.actor.replace(/^worker:/, '');
  }
  throw new Error(`step ${stepId} of ${executionId} did not start`);
}

/** The receipt verifies on the server, and offline with the coordinator's key alone; with another key it does not. */
async function expectReceiptVerifies(executionId: string): Promise<void> {
  const bundle = await client.receipt(executionId, { includeData: true });
  expect((await client.verify(bundle, { level: 'full' })).ok).toBe(true);
  const { publicKeyPem } = await client.coordinatorKey();
  const offline = await verifyBundle(JSON.parse(JSON.stringify(bundle)), {
    trustedKeys: [publicKeyPem],
    level: 'full',
    evaluator: sandbox(),
  });
  expect(offline.checks.filter((c) => !c.ok)).toEqual([]);
  expect(offline).toMatchObject({ ok: true, executionId, status: 'completed' });
  const stranger = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  expect((await verifyBundle(bundle, { trustedKeys: [stranger], level: 'basic' })).ok).toBe(false);
}

/** Retries quickly: a lost lease should cost a second attempt, not seconds of backoff. */
const quickRetry = { max_attempts: 3, initial_backoff_ms: 50, backoff_multiplier: 2, max_backoff_ms: 200 };

beforeAll(async () => {
  // The server proves zk executions with the test circuit (one step per proof): made once, cached in .zk/.
  const zk = await ensureTestZkArtifacts();
  process.env.VERITY_ZK_DIR = zk.zkDir;
  process.env.VERITY_ZK_BATCH_SIZE = String(zk.config.batchSize);
  process.env.VERITY_ZK_REGISTRY_DEPTH = String(zk.config.registryDepth);
  server = await startServerProcess({ dataDir: serverDir, workers: 0 });
  admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
  client = new VerityClient({ server: server.url, apiKey: (await admin.createKey('acme', 'publisher')).token });
  await Promise.all([startWorker('w1'), startWorker('w2')]);
}, 30 * 60_000);

afterAll(async () => {
  await Promise.all([...workers.values()].map((w) => w.kill()));
  await server?.kill();
  rmSync(root, { recursive: true, force: true });
});

describe('a server process and two remote worker processes', () => {
  it('run every example to completion; each receipt verifies on the server and offline', async () => {
    const expected: Record<string, { result: unknown; check?: (view: ExecutionView) => void }> = {
      linear: {
        result: { report: 'Verity: 27 words (25 distinct, variety 0.93), longest word "workflow"', words: 27 },
      },
      'fan-out': {
        result: { products: ['kettle', 'toaster'], average_stars: 3.25, average_chars: 30.8, positive: 2, negative: 1 },
      },
      conditional: {
        result: {
          route: 'large',
          summary: { review: 'completed', fast_approve: 'skipped', note: 'reviewer notified about 1250' },
        },
        check: (view) => expect(view.steps.find((s) => s.id === 'fast_approve')!.status).toBe('skipped'),
      },
      flaky: {
        result: { fetched: 'https://example.com/data', ok: true },
        check: (view) => expect(view.steps[0]).toMatchObject({ id: 'fetch', attempts: 3 }),
      },
      'fifty-steps': { result: { total: 1275 }, check: (view) => expect(view.steps).toHaveLength(50) },
      // Real models on remote workers: the trained classifier travels as a blob, uploaded by one worker
      // and read by whichever runs the next step.
      'review-sentiment': { result: REVIEW_SENTIMENT },
      'train-and-classify': { result: TRAIN_AND_CLASSIFY },
      'document-intelligence': { result: DOCUMENT_INTELLIGENCE },
      // At verification level zk: the remote workers sign step leaves with their Baby Jubjub keys.
      'private-report': {
        result: { report: 'Verity: 27 words (25 distinct, variety 0.93), longest word "workflow"', words: 27 },
      },
    };
    // llm-summary needs an OpenAI-compatible server to be configured: it runs in test/integration/executors/openai.test.ts.
    // own-executor needs a worker that loaded its executors: it runs in test/integration/e2e/own-executor-example.test.ts.
    const needsConfiguration = new Set(['llm-summary', 'own-executor']);
    const names = readdirSync(join(REPO, 'examples')).filter(
      (name) => readdirSync(join(REPO, 'examples', name)).includes('workflow.yaml') && !needsConfiguration.has(name),
    );
    // Every example is covered: a new one without an expectation here fails this test until it has one.
    expect(names.sort()).toEqual(Object.keys(expected).sort());

    const runs = await Promise.all(
      names.map(async (name) => {
        const published = await client.publishWorkflow(
          readFileSync(join(REPO, 'examples', name, 'workflow.yaml'), 'utf8'),
        );
        const inputs: unknown = JSON.parse(readFileSync(join(REPO, 'examples', name, 'input.json'), 'utf8'));
        const started = await client.execute(published.workflowId, { inputs });
        return { name, executionId: started.executionId, final: await client.waitFor(started.executionId) };
      }),
    );
    const ranOn = new Set<string>();
    for (const { name, executionId, final } of runs) {
      expect(final.status, name).toBe('completed');
      expect(final.result, name).toEqual(expected[name]!.result);
      expected[name]!.check?.(final);
      await expectReceiptVerifies(executionId);
      for (const e of await history(executionId)) if (e.type === 'job.started') ranOn.add(e.actor);
    }
    // Only the remote workers ran jobs (the server has no worker slots), and both of them did.
    expect([...ranOn].sort()).toEqual([...workers.keys()].map((id) => `worker:${id}`).sort());

    // The zk example's proofs are made on the server in the background; its zk-only bundle verifies offline.
    const zkRun = runs.find((r) => r.name === 'private-report')!;
    let view = await client.status(zkRun.executionId);
    for (
      const end = Date.now() + 120_000;
      view.zk?.status !== 'completed' && view.zk?.status !== 'failed' && Date.now() < end;
    ) {
      await new Promise((r) => setTimeout(r, 250));
      view = await client.status(zkRun.executionId);
    }
    expect(view.zk).toMatchObject({
      status: 'completed',
      circuit: 'verity-batch-v1-b1-d2',
      batchesDone: 5,
      batchesTotal: 5,
    });
    const zkOnly = await client.receipt(zkRun.executionId, { zkOnly: true });
    const { publicKeyPem } = await client.coordinatorKey();
    const report = await verifyBundle(JSON.parse(JSON.stringify(zkOnly)), { trustedKeys: [publicKeyPem], level: 'zk' });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report).toMatchObject({ ok: true, executionId: zkRun.executionId, level: 'zk' });
    expect((await client.verify(zkOnly, { level: 'zk' })).ok).toBe(true);
  }, 180_000);

  it('when a worker is killed (SIGKILL) mid-job, the step runs again on the other worker and the execution completes', async () => {
    await client.publishWorkflow({
      id: 'e2e-kill-worker',
      version: 1,
      steps: [
        sleepStep('slow', 2500, { retry_policy: quickRetry }),
        echo('after', { depends_on: ['slow'], input_mappings: { slept: 'steps.slow.output.ms' } }),
      ],
    });
    const { executionId } = await client.execute('e2e-kill-worker');
    const victimId = await runningOn(executionId, 'slow');
    const victim = workers.get(victimId)!;
    expect(victim, `the job runs on one of our workers (${victimId})`).toBeDefined();
    expect((await victim.kill()).signal).toBe('SIGKILL');
    workers.delete(victimId);

    const final = await client.waitFor(executionId);

    expect(final.status).toBe('completed');
    expect(final.steps.find((s) => s.id === 'slow')).toMatchObject({ status: 'completed', attempts: 2 });

    const events = await history(executionId);
    const expired = events.find((e) => e.type === 'job.expired' && e.stepId === 'slow');
    expect(expired).toMatchObject({ attempt: 1, data: { error: { code: 'lease_expired' } } });
    const survivor = [...workers.keys()][0]!;
    expect(events.find((e) => e.type === 'job.started' && e.stepId === 'slow' && e.attempt === 2)?.actor).toBe(
      `worker:${survivor}`,
    );
    expect(events.find((e) => e.type === 'step.completed' && e.stepId === 'slow')).toMatchObject({
      attempt: 2,
      actor: `worker:${survivor}`,
    });
    await expectReceiptVerifies(executionId);

    // Back to two workers for what follows (the same key and identity, as an operator would restart it).
    await startWorker(victim.name);
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`when the server is stopped (${signal}) mid-execution and started again, the workers reconnect and the execution completes`, async () => {
      await client.publishWorkflow({
        id: 'e2e-restart',
        version: 1,
        steps: [
          sleepStep('first', 1500, { retry_policy: quickRetry }),
          echo('second', { depends_on: ['first'], input_mappings: { slept: 'steps.first.output.ms' } }),
        ],
      });
      const { executionId } = await client.execute('e2e-restart', { inputs: {} });
      await runningOn(executionId, 'first');
      expect((await client.status(executionId)).status).toBe('running');
      // A client following the execution rides out the restart (the SDK resumes its stream from the last event).
      const followed = client.waitFor(executionId);
      const stopped = signal === 'SIGKILL' ? await server.kill() : await server.stop();
      expect(stopped.signal ?? stopped.code).toBe(signal === 'SIGKILL' ? 'SIGKILL' : 0);

      const port = Number(new URL(server.url).port);
      server = await startServerProcess({ dataDir: serverDir, workers: 0, port });
      expect(server.url).toBe(`http://127.0.0.1:${port}`);
      const final = await followed;
      expect(final.status).toBe('completed');
      expect(final.steps.map((s) => [s.id, s.status])).toEqual([
        ['first', 'completed'],
        ['second', 'completed'],
      ]);
      // The step after the restart ran on one of the same worker processes, which never re-registered.
      const events = await history(executionId);
      const second = events.find((e) => e.type === 'job.started' && e.stepId === 'second');
      expect([...workers.keys()].map((id) => `worker:${id}`)).toContain(second?.actor);
      const listed = await admin.listWorkers();
      for (const id of workers.keys()) expect(listed.find((w) => w.id === id)?.status).toBe('active');
      await expectReceiptVerifies(executionId);
    });
  }
});
