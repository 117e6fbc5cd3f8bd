import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';
import { fromBase64, fromHex } from '../../src/attest/bytes.js';
import { parseCheckpoint, verifyNote } from '../../src/attest/checkpoint.js';
import { publicKeyFromPem } from '../../src/attest/keys.js';
import { verifyConsistency } from '../../src/attest/merkle.js';
import { verifyBundle } from '../../src/attest/verify/verify-bundle.js';
import { ProcessEvaluator } from '../../src/expressions/node/process-evaluator.js';
import { VerityApiError, VerityClient } from '../../src/sdk/client.js';
import type { ExecutionView, HistoryPage } from '../../src/sdk/client.js';
import { liveChildren, rssOf, startServer, startWorker } from './processes.js';
import type { Child, ServerSpec } from './processes.js';
import { CAPABILITIES, WORKFLOWS, plan, prng } from './workflows.js';
import type { Planned } from './workflows.js';

/**
 * The soak under failure: N executions of mixed workflows on a real `verity serve` with remote `verity
 * worker` processes (each under its own worker API key, so redundant steps find a quorum of principals),
 * while a chaos loop kill -9s the server and random workers and starts them again on the same data. At the
 * end it checks every execution, its history, its receipt and the transparency log, and reports counts.
 *
 * With `replicas` > 1 (PostgreSQL only) it is the chaos run of a scaled-out deployment: that many `verity
 * serve` replicas on one schema with one coordinator key, every worker given every replica's URL (it fails
 * over between them), executions started, watched and checked through all of them, the log's checkpoints
 * taken from each in turn and proven consistent by another, and the database itself asked whether any
 * step result was written twice.
 */
export interface SoakOptions {
  executions: number;
  seed: number;
  backend: 'sqlite' | 'postgres';
  /** `verity serve` replicas on the one database (more than 1 needs PostgreSQL); the chaos loop kills one at a time. */
  replicas: number;
  /** PostgreSQL to use (a fresh schema in it): default VERITY_TEST_DATABASE_URL, else postgres://root@127.0.0.1:5432/test. */
  postgresUrl: string;
  /** Remote worker processes, each with its own worker API key (principal). */
  workers: number;
  workerConcurrency: number;
  /** Executions in flight at once. */
  window: number;
  /** The chaos loop waits a random time in this range between two kills. */
  killGapMs: [number, number];
  /** Kills made at fixed points of the run (worker, server, worker, …), on top of the loop's, so a short run has some. */
  forcedKills: number;
  /** Job lease: how soon a killed worker's job is given to another. */
  leaseMs: number;
  /** How often to take a checkpoint of the transparency log. */
  checkpointEveryMs: number;
  /** A server RSS above this is a violation. */
  rssLimitMb: number;
  /** How long one execution may take before it counts as stuck. */
  executionTimeoutMs: number;
  keep: boolean;
  log: (line: string) => void;
}

export const DEFAULT_SOAK: SoakOptions = {
  executions: 1000,
  seed: 1,
  backend: 'sqlite',
  replicas: 1,
  postgresUrl: process.env.VERITY_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test',
  workers: 4,
  workerConcurrency: 4,
  window: 32,
  killGapMs: [2000, 5000],
  forcedKills: 2,
  leaseMs: 2000,
  checkpointEveryMs: 1500,
  rssLimitMb: 1024,
  executionTimeoutMs: 300_000,
  keep: false,
  log: (line) => process.stderr.write(`${line}\n`),
};

export interface ServerLife {
  /** Which replica (0 with a single server). */
  replica: number;
  pid: number;
  startedAt: number;
  samples: number;
  firstRss: number;
  maxRss: number;
  lastRss: number;
}

export interface SoakReport {
  options: Omit<SoakOptions, 'log' | 'postgresUrl'>;
  durationMs: number;
  counts: Record<string, number>;
  lives: ServerLife[];
  violations: string[];
}

const firstLines = (error: unknown) => ((error as Error).message ?? String(error)).split('\n').slice(0, 3).join(' / ');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'timed_out', 'budget_exceeded']);

export async function runSoak(partial: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const o: SoakOptions = { ...DEFAULT_SOAK, ...partial };
  const log = o.log;
  const started = Date.now();
  const random = prng(o.seed ^ 0x5eed);
  const counts: Record<string, number> = {};
  const count = (name: string, n = 1) => (counts[name] = (counts[name] ?? 0) + n);
  const violations: string[] = [];
  const violation = (text: string) => {
    if (violations.length < 200) violations.push(text);
    count('violations');
  };

  if (o.replicas > 1 && o.backend !== 'postgres')
    throw new Error(`${o.replicas} replicas share one PostgreSQL database: use backend postgres`);
  const root = mkdtempSync(join(tmpdir(), 'verity-soak-'));
  let databaseUrl: string | undefined;
  let schemaName: string | undefined;
  let dropSchema = async () => {};
  if (o.backend === 'postgres') {
    const schema = `soak_${o.seed}_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
    schemaName = schema;
    const url = new URL(o.postgresUrl);
    url.searchParams.set('schema', schema);
    databaseUrl = url.toString();
    dropSchema = async () => {
      const client = new pg.Client({ connectionString: o.postgresUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    };
  }

  // ----- the servers and the workers --------------------------------------------------------------------
  // Should this process end without its cleanup (a test runner's time-out), its children go with it.
  const killChildren = () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  };
  process.on('exit', killChildren);
  // Replicas share one coordinator key, as a deployment must (docs/operations.md).
  const coordinatorKeyFile = o.replicas > 1 ? join(root, 'coordinator.key') : undefined;
  const replicas: { index: number; spec: ServerSpec; server?: { child: Child; url: string; adminKey: string } }[] =
    Array.from({ length: o.replicas }, (_, index) => {
      const dataDir = join(root, o.replicas === 1 ? 'server' : `replica-${index}`);
      mkdirSync(dataDir);
      return { index, spec: { dataDir, databaseUrl, port: 0, leaseMs: o.leaseMs, coordinatorKeyFile } };
    });
  const lives: ServerLife[] = [];
  const startServerLife = async (replica: (typeof replicas)[number]) => {
    // Only the first start on a database makes the admin key; the other replicas are handed its file.
    const adminKeyFile = join(replica.spec.dataDir, 'admin.key');
    if (replica.index > 0 && !existsSync(adminKeyFile))
      copyFileSync(join(replicas[0]!.spec.dataDir, 'admin.key'), adminKeyFile);
    let server: { child: Child; url: string; adminKey: string };
    for (let attempt = 1; ; attempt++) {
      try {
        server = await startServer(replica.spec);
        break;
      } catch (error) {
        // The port of the process just killed can take a moment to be free again.
        if (attempt >= 20) throw error;
        count('server start retries');
        log(`replica ${replica.index} did not start (attempt ${attempt}): ${firstLines(error)}`);
        await sleep(250 * attempt);
      }
    }
    replica.server = server;
    replica.spec.port = Number(new URL(server.url).port);
    const rss = rssOf(server.child.pid) ?? 0;
    lives.push({
      replica: replica.index,
      pid: server.child.pid,
      startedAt: Date.now() - started,
      samples: 1,
      firstRss: rss,
      maxRss: rss,
      lastRss: rss,
    });
  };
  // One after the other: the first migrates the schema and makes the keys.
  for (const replica of replicas) await startServerLife(replica);
  // A replica restarts on its port, so these stay right for the whole run.
  const urls = replicas.map((r) => r.server!.url);
  const admin = new VerityClient({ server: urls[0]!, apiKey: replicas[0]!.server!.adminKey });
  const clientKey = (await admin.createKey('soak-client', 'publisher')).token;
  const clients = urls.map((url) => new VerityClient({ server: url, apiKey: clientKey, timeoutMs: 15_000 }));
  const client = clients[0]!;

  const workers = new Map<string, { key: string; dataDir: string; child?: Child | undefined }>();
  const startWorkerLife = async (name: string) => {
    const w = workers.get(name)!;
    // Each worker starts on another replica (the list turned by its number), so a kill hits some of them.
    const turn = [...workers.keys()].indexOf(name) % urls.length;
    for (let attempt = 1; ; attempt++) {
      try {
        w.child = (
          await startWorker({
            name,
            url: [...urls.slice(turn), ...urls.slice(0, turn)],
            apiKey: w.key,
            dataDir: w.dataDir,
            concurrency: o.workerConcurrency,
            capabilities: CAPABILITIES,
          })
        ).child;
        return;
      } catch (error) {
        if (attempt >= 20) throw error;
        count('worker start retries');
        log(`worker ${name} did not start (attempt ${attempt}): ${firstLines(error)}`);
        await sleep(250 * attempt);
      }
    }
  };
  for (let i = 1; i <= o.workers; i++) {
    const name = `soak-w${i}`;
    // One worker API key per worker, each its own principal: a quorum of 2 needs two of them.
    workers.set(name, { key: (await admin.createKey(name, 'worker')).token, dataDir: join(root, name) });
  }
  await Promise.all([...workers.keys()].map(startWorkerLife));
  log(
    `soak: ${o.replicas === 1 ? 'the server' : `${o.replicas} replicas`} and ${o.workers} workers are up (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );

  const evaluator = new ProcessEvaluator({ name: 'soak verifier evaluator' });
  const cleanup = async () => {
    await Promise.all([
      ...replicas.map((r) => r.server?.child.kill9()),
      ...[...workers.values()].map((w) => w.child?.kill9()),
    ]);
    process.off('exit', killChildren);
    await evaluator.close();
    if (!o.keep) {
      rmSync(root, { recursive: true, force: true });
      await dropSchema().catch((error: unknown) => log(`could not drop the soak schema: ${(error as Error).message}`));
    } else {
      log(`kept the soak's data in ${root}${databaseUrl ? ` and ${databaseUrl}` : ''}`);
    }
  };

  try {
    const { publicKeyPem } = await client.coordinatorKey();
    const coordinatorKey = publicKeyFromPem(publicKeyPem);
    for (const definition of Object.values(WORKFLOWS)) await client.publishWorkflow(definition);

    /**
     * Calls the server, riding out its restarts: unreachable, 5xx and 429 are retried (and counted), each
     * time on the next replica (the first one picked at random: the load is spread over all of them).
     */
    const retrying = async <T>(what: string, call: (client: VerityClient) => Promise<T>): Promise<T> => {
      const deadline = Date.now() + 120_000;
      let turn = Math.floor(Math.random() * clients.length);
      for (;;) {
        try {
          return await call(clients[turn++ % clients.length]!);
        } catch (error) {
          if (!(error instanceof VerityApiError) || Date.now() > deadline) throw error;
          if (error.code === 'unreachable') count('client calls retried: server unreachable');
          else if (error.status !== undefined && error.status >= 500) {
            count('client calls retried: 5xx');
            log(`5xx on ${what}: ${error.status} ${error.message}`);
          } else if (error.status === 429) count('client calls retried: 429');
          else throw error;
          await sleep(200);
        }
      }
    };

    // ----- chaos ----------------------------------------------------------------------------------------
    let chaosQueue: Promise<unknown> = Promise.resolve();
    /** One kill and restart at a time, whoever asks (the loop or a forced kill). */
    const chaos = (kind: 'server' | 'worker' | 'both'): Promise<void> => {
      const action = chaosQueue.then(async () => {
        const names = [...workers.keys()];
        const victim = names[Math.floor(random() * names.length)]!;
        // With one server, no draw: a run with one server kills the same things for a seed as it always did.
        const replica = replicas[replicas.length === 1 ? 0 : Math.floor(random() * replicas.length)]!;
        const killServer = kind !== 'worker';
        const killWorker = kind !== 'server';
        const at = Date.now();
        await Promise.all([
          killServer ? replica.server!.child.kill9() : undefined,
          killWorker ? workers.get(victim)!.child!.kill9() : undefined,
        ]);
        if (killServer) count('kills: server');
        if (killWorker) count('kills: worker');
        await sleep(Math.floor(random() * 800));
        if (killServer) await startServerLife(replica);
        if (killWorker) await startWorkerLife(victim);
        const server = replicas.length === 1 ? 'the server' : `replica ${replica.index}`;
        const what = [killServer && server, killWorker && victim].filter(Boolean).join(' and ');
        log(
          `chaos: kill -9 ${what} at ${((at - started) / 1000).toFixed(1)} s, back in ${((Date.now() - at) / 1000).toFixed(1)} s`,
        );
      });
      chaosQueue = action.catch(() => undefined);
      return action;
    };
    let running = true;
    const chaosLoop = (async () => {
      while (running) {
        const gap = o.killGapMs[0] + random() * (o.killGapMs[1] - o.killGapMs[0]);
        for (const end = Date.now() + gap; running && Date.now() < end;) await sleep(100);
        if (!running) break;
        const pick = random();
        await chaos(pick < 0.3 ? 'server' : pick < 0.4 ? 'both' : 'worker');
      }
    })();

    // ----- samplers: the server's RSS, and checkpoints of the log -----------------------------------------
    const rssTimer = setInterval(() => {
      for (const replica of replicas) {
        const life = lives.findLast((l) => l.replica === replica.index);
        if (!life || replica.server?.child.pid !== life.pid) continue;
        const rss = rssOf(life.pid);
        if (rss === undefined) continue;
        life.samples++;
        life.lastRss = rss;
        life.maxRss = Math.max(life.maxRss, rss);
      }
    }, 500);
    /** Checkpoints, each from the next replica in turn: one log whichever replica signs it. */
    const checkpoints: { size: number; root: Uint8Array; at: number; replica: number }[] = [];
    let checkpointTurn = 0;
    const takeCheckpoint = async () => {
      const replica = checkpointTurn++ % clients.length;
      const taken = await clients[replica]!.checkpoint();
      // The note is signed by the coordinator's key, and says what the response says.
      const { body } = await verifyNote(taken.checkpoint, [{ name: taken.origin, publicKey: coordinatorKey }]);
      const parsed = parseCheckpoint(body);
      if (
        parsed.size !== taken.size ||
        Buffer.compare(Buffer.from(parsed.rootHash), Buffer.from(fromBase64(taken.rootHash))) !== 0
      ) {
        violation(`checkpoint of size ${taken.size}: the signed note says size ${parsed.size} with another root`);
      }
      checkpoints.push({ size: parsed.size, root: parsed.rootHash, at: Date.now() - started, replica });
    };
    let checkpointing = false;
    const checkpointTimer = setInterval(() => {
      if (checkpointing) return;
      checkpointing = true;
      takeCheckpoint()
        .catch((error: unknown) => {
          // The server is down (chaos): no checkpoint this time. Anything else is a finding.
          if (error instanceof VerityApiError && error.code === 'unreachable') count('checkpoints missed: server down');
          else violation(`taking a checkpoint: ${(error as Error).message}`);
        })
        .finally(() => (checkpointing = false));
    }, o.checkpointEveryMs);

    // ----- the executions ---------------------------------------------------------------------------------
    const planned = plan(o.executions, o.seed);
    const forcedAt = new Map<number, 'server' | 'worker'>();
    for (let k = 1; k <= o.forcedKills; k++)
      forcedAt.set(Math.floor((o.executions * k) / (o.forcedKills + 1)), k % 2 === 1 ? 'worker' : 'server');
    const finals = new Map<number, { executionId: string; view: ExecutionView }>();
    let next = 0;
    let done = 0;
    const runOne = async (p: Planned) => {
      const startedView = await retrying('execute', (client) =>
        client.execute(p.workflowId, { inputs: p.inputs, idempotencyKey: `soak-${o.seed}-${p.index}` }),
      );
      const executionId = startedView.executionId;
      const forced = forcedAt.get(p.index);
      if (forced) await chaos(forced);
      const deadline = Date.now() + o.executionTimeoutMs;
      for (;;) {
        const view = await retrying('status', (client) => client.status(executionId));
        if (TERMINAL.has(view.status)) {
          finals.set(p.index, { executionId, view });
          break;
        }
        if (Date.now() > deadline) {
          violation(
            `execution ${p.index} (${p.family}, ${executionId}) still ${view.status} after ${o.executionTimeoutMs} ms`,
          );
          break;
        }
        await sleep(200 + Math.floor(Math.random() * 300));
      }
      if (++done % 100 === 0)
        log(`${done}/${o.executions} executions ended (${Math.round((Date.now() - started) / 1000)} s)`);
    };
    await Promise.all(
      Array.from({ length: Math.min(o.window, o.executions) }, async () => {
        while (next < planned.length) await runOne(planned[next++]!);
      }),
    );
    running = false;
    await chaosLoop;
    await chaosQueue;
    clearInterval(rssTimer);
    clearInterval(checkpointTimer);
    while (checkpointing) await sleep(50);
    const runMs = Date.now() - started;
    log(`all executions ended in ${Math.round(runMs / 1000)} s; checking…`);

    // ----- checks -----------------------------------------------------------------------------------------
    await retrying('checkpoint', () => takeCheckpoint());
    const last = checkpoints.at(-1)!;
    for (let i = 1; i < checkpoints.length; i++) {
      if (checkpoints[i]!.size < checkpoints[i - 1]!.size)
        violation(`the log shrank from ${checkpoints[i - 1]!.size} to ${checkpoints[i]!.size} leaves`);
    }
    const proven = new Map<number, Uint8Array>();
    for (const cp of checkpoints) {
      const seen = proven.get(cp.size);
      if (seen) {
        if (Buffer.compare(Buffer.from(seen), Buffer.from(cp.root)) !== 0)
          violation(`two checkpoints of size ${cp.size} with different roots`);
        continue;
      }
      proven.set(cp.size, cp.root);
      if (cp.size === 0 || cp.size > last.size) continue;
      // Proven by another replica than the one that signed the checkpoint, when there are several.
      const prover = (cp.replica + 1) % clients.length;
      const proof = await clients[prover]!.consistencyProof(cp.size, last.size);
      if (proof.from !== cp.size || proof.to !== last.size)
        violation(`asked for a consistency proof ${cp.size} → ${last.size}, got ${proof.from} → ${proof.to}`);
      if (verifyConsistency(cp.size, last.size, proof.proof.map(fromHex), cp.root, last.root)) {
        count('tlog: consistency proofs verified');
        if (cp.replica !== last.replica) count('tlog: consistency proofs verified between checkpoints of two replicas');
      } else violation(`the checkpoint of size ${cp.size} is not consistent with the last one (size ${last.size})`);
    }
    count('tlog: checkpoints taken', checkpoints.length);
    if (clients.length > 1) for (const cp of checkpoints) count(`tlog: checkpoints taken from replica ${cp.replica}`);
    count('tlog: distinct sizes', proven.size);
    count('tlog: final size', last.size);

    const executionIds = new Set<string>();
    const check = async (p: Planned) => {
      const final = finals.get(p.index);
      if (!final) return;
      const { executionId } = final;
      executionIds.add(executionId);
      // Read back through the replicas in turn: any of them answers for any execution.
      const client = clients[p.index % clients.length]!;
      const view = await client.status(executionId);
      count(`executions: ${view.status}`);
      count(`family ${p.family}: ${view.status}`);
      if (view.status !== p.expected.status)
        violation(
          `execution ${p.index} (${p.family}, ${executionId}): ${view.status}, expected ${p.expected.status}${view.error ? ` (${view.error.code}: ${view.error.message})` : ''}`,
        );
      else if (p.expected.status === 'completed' && !isDeepStrictEqual(view.result, p.expected.result)) {
        violation(
          `execution ${p.index} (${p.family}, ${executionId}): result ${JSON.stringify(view.result)}, expected ${JSON.stringify(p.expected.result)}`,
        );
      } else count('executions: right state and result');
      for (const [stepId, status] of Object.entries(p.expected.steps)) {
        const step = view.steps.find((s) => s.id === stepId);
        if (step?.status !== status)
          violation(
            `execution ${p.index} (${p.family}, ${executionId}): step ${stepId} is ${step?.status ?? 'missing'}, expected ${status}`,
          );
        if (step && step.attempts > 1) count('steps that took more than one attempt');
      }
      if (p.expected.stepError) {
        const step = view.steps.find((s) => s.id === p.expected.stepError!.stepId);
        if (step?.error?.code !== p.expected.stepError.code)
          violation(
            `execution ${p.index}: step ${p.expected.stepError.stepId} failed with ${step?.error?.code}, expected ${p.expected.stepError.code}`,
          );
      }

      // The history: every step result accepted once, every replica once, one receipt.
      const events: HistoryPage['events'] = [];
      for (let after: string | undefined; ;) {
        const page = await client.history(executionId, after === undefined ? {} : { after });
        events.push(...page.events);
        if (page.next === undefined) break;
        after = page.next;
      }
      const once = new Map<string, number>();
      for (const e of events) {
        if (e.type === 'step.completed') once.set(`step ${e.stepId}`, (once.get(`step ${e.stepId}`) ?? 0) + 1);
        if (e.type === 'replica.completed') {
          const key = `replica ${e.stepId}#${e.attempt}/${String(e.data?.replica)}`;
          once.set(key, (once.get(key) ?? 0) + 1);
        }
        if (e.type === 'receipt.issued') once.set('receipt', (once.get('receipt') ?? 0) + 1);
        if (e.type === 'job.expired') count('jobs expired (lease lost)');
        if (e.type === 'job.failed' && (e.data?.error as { code?: string } | undefined)?.code === 'flaky')
          count('transient failures observed (flaky attempts)');
        if (e.type === 'result.duplicate') count('duplicate results ignored');
        if (e.type === 'result.refused') count('results refused');
        if (e.type === 'step.completed') count('step results accepted');
      }
      for (const [what, n] of once)
        if (n > 1) violation(`execution ${p.index} (${executionId}): ${what} accepted ${n} times`);
      for (const [stepId, status] of Object.entries(p.expected.steps)) {
        if (status === 'completed' && (once.get(`step ${stepId}`) ?? 0) !== 1)
          violation(
            `execution ${p.index} (${executionId}): step ${stepId} completed without exactly one step.completed event`,
          );
      }
      if (once.get('receipt') !== 1)
        violation(`execution ${p.index} (${executionId}): ${once.get('receipt') ?? 0} receipts issued`);
      count('transient failures planned', p.transientFailures);

      // The receipt verifies at levels basic and full, offline, with the coordinator's key alone.
      const bundle = await client.receipt(executionId, { includeData: true });
      for (const level of ['basic', 'full'] as const) {
        const report = await verifyBundle(bundle, {
          trustedKeys: [publicKeyPem],
          level,
          ...(level === 'full' && { evaluator }),
        });
        if (report.ok) count(`receipts verified: ${level}`);
        else
          violation(
            `execution ${p.index} (${executionId}): the receipt fails at level ${level}: ${report.checks
              .filter((c) => !c.ok)
              .map((c) => `${c.name}: ${c.message ?? ''}`)
              .join('; ')}`,
          );
      }
    };
    let checked = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (checked < planned.length) {
          const p = planned[checked++]!;
          try {
            await check(p);
          } catch (error) {
            violation(`checking execution ${p.index}: ${(error as Error).message}`);
          }
        }
      }),
    );

    // Every start, once: retried starts (the same idempotency key) made no second execution.
    let listed = 0;
    for (let before: string | undefined; ;) {
      const page = await client.listExecutions({ limit: 200, ...(before !== undefined && { before }) });
      listed += page.executions.length;
      if (page.next === undefined) break;
      before = page.next;
    }
    count('executions planned', o.executions);
    count('executions listed by the server', listed);
    if (listed !== o.executions) violation(`the server lists ${listed} executions for ${o.executions} started`);
    if (last.size !== executionIds.size) violation(`the log has ${last.size} leaves for ${executionIds.size} receipts`);

    // The database itself (PostgreSQL): no step result written twice, and as many as the plan says.
    if (schemaName !== undefined) {
      const db = new pg.Client({ connectionString: o.postgresUrl });
      await db.connect();
      try {
        await db.query(`SET search_path TO ${schemaName}`);
        const twice = await db.query<{ execution_id: string; step_id: string; n: string }>(
          `SELECT execution_id, step_id, count(*) AS n FROM events WHERE type = 'step.completed'
            GROUP BY execution_id, step_id HAVING count(*) > 1`,
        );
        for (const row of twice.rows)
          violation(`database: step ${row.step_id} of ${row.execution_id} has ${row.n} step.completed events`);
        const stored = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM step_results')).rows[0]!.n);
        const expected = planned
          .filter((p) => finals.has(p.index))
          .reduce((sum, p) => sum + Object.values(p.expected.steps).filter((s) => s === 'completed').length, 0);
        count('db: step results stored', stored);
        if (stored !== expected) violation(`database: ${stored} step results stored, ${expected} planned`);
        const receipts = await db.query<{ execution_id: string; n: string }>(
          `SELECT execution_id, count(*) AS n FROM receipts GROUP BY execution_id HAVING count(*) > 1`,
        );
        for (const row of receipts.rows) violation(`database: ${row.n} receipts for ${row.execution_id}`);
      } finally {
        await db.end();
      }
    }

    for (const life of lives) {
      if (life.maxRss > o.rssLimitMb * 2 ** 20)
        violation(
          `server pid ${life.pid}: RSS reached ${Math.round(life.maxRss / 2 ** 20)} MB (limit ${o.rssLimitMb} MB)`,
        );
    }
    return {
      options: { ...o, log: undefined, postgresUrl: undefined } as unknown as SoakReport['options'],
      durationMs: runMs,
      counts,
      lives,
      violations,
    };
  } finally {
    await cleanup();
  }
}

/** The report as a table of counts, for a terminal and the README. */
export function formatReport(report: SoakReport): string {
  const mb = (n: number) => `${Math.round(n / 2 ** 20)} MB`;
  const lines = [
    `soak: ${report.options.executions} executions, seed ${report.options.seed}, ${report.options.backend}, ${report.options.replicas > 1 ? `${report.options.replicas} replicas, ` : ''}${report.options.workers} workers, ${Math.round(report.durationMs / 1000)} s`,
    '',
    '| count | value |',
    '| --- | --- |',
    ...Object.entries(report.counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => `| ${name} | ${value} |`),
    '',
    '| server life | replica | pid | started at | RSS first | RSS max | RSS last | samples |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...report.lives.map(
      (l, i) =>
        `| ${i + 1} | ${l.replica} | ${l.pid} | ${(l.startedAt / 1000).toFixed(1)} s | ${mb(l.firstRss)} | ${mb(l.maxRss)} | ${mb(l.lastRss)} | ${l.samples} |`,
    ),
    '',
    report.violations.length === 0
      ? 'violations: 0'
      : `violations: ${report.counts.violations}\n${report.violations.map((v) => `- ${v}`).join('\n')}`,
  ];
  return lines.join('\n');
}
