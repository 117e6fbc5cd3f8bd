import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VerityClient } from '../src/sdk/client.js';
import { percentile } from './stats.js';

/**
 * The server under load, as deployed: a `verity serve` process with no in-process workers, two `verity
 * worker` processes (8 slots each) that reach it over HTTP, and this process as 50 concurrent clients, each
 * with its own key. Each client starts an execution of a 10-step builtin/echo chain, polls its status every
 * 100 ms until it ends, and starts the next, until 1,000 have run; every status read is timed (through the
 * SDK, so parsing the answer is included). The workers run flat out, so the server is saturated throughout:
 * the status latency is what a client sees from a server at full load. All five processes share the
 * machine's cores. Reported: executions per second over the whole run, and p50/p99 status latency.
 *
 * For investigating: VERITY_BENCH_EXECUTIONS, VERITY_BENCH_WORKER_SLOTS, VERITY_BENCH_POLL_MS, and
 * VERITY_BENCH_PROFILE_DIR (a CPU profile of the server and of each worker).
 */
const VERITY_BIN = fileURLToPath(new URL('../bin/verity.js', import.meta.url));
const EXECUTIONS = Number(process.env.VERITY_BENCH_EXECUTIONS ?? 1000);
const CLIENTS = 50;
const WORKER_SLOTS = Number(process.env.VERITY_BENCH_WORKER_SLOTS ?? 8);
const POLL_MS = Number(process.env.VERITY_BENCH_POLL_MS ?? 100);

interface Child {
  process: ChildProcess;
  stderr: () => string;
}

function start(
  args: string[],
  env: Record<string, string | undefined>,
  ready: RegExp,
  nodeArgs: string[] = [],
): Promise<{ child: Child; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [...nodeArgs, VERITY_BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const match = stderr.match(ready);
      if (match) resolve({ child: { process: child, stderr: () => stderr }, match });
    });
    child.on('exit', (code) => reject(new Error(`verity ${args[0]} exited ${code}: ${stderr}`)));
  });
}

async function stop(child: Child): Promise<void> {
  if (child.process.exitCode !== null) return;
  const exited = new Promise((resolve) => child.process.once('exit', resolve));
  child.process.kill('SIGTERM');
  await exited;
}

const profile = process.env.VERITY_BENCH_PROFILE_DIR
  ? ['--cpu-prof', '--cpu-prof-dir', process.env.VERITY_BENCH_PROFILE_DIR]
  : [];

/** A `verity serve` process (and its remote workers) as the load scenarios run it. */
export interface Served {
  url: string;
  /** The client of the admin key `verity serve` created. */
  admin: VerityClient;
  /** The server process's id, to read its memory from /proc. */
  serverPid: number;
  /** Stops the workers, then the server (SIGTERM, as an operator would). */
  stop(): Promise<void>;
}

/**
 * Starts `verity serve` on a fresh data directory with `inProcessSlots` slots of in-process workers (0 for
 * none) and `remoteWorkers` `verity worker` processes of `remoteSlots` slots each, which reach it over HTTP.
 */
export async function serve(
  context: { dataDir: string; databaseUrl: string | undefined },
  options: { inProcessSlots: number; remoteWorkers: number; remoteSlots: number },
): Promise<Served> {
  const serverDir = join(context.dataDir, 'server');
  const { child: server, match } = await start(
    [
      'serve',
      '--data-dir',
      serverDir,
      '--port',
      '0',
      '--workers',
      String(options.inProcessSlots),
      '--log-level',
      'warn',
    ],
    { VERITY_DATABASE_URL: context.databaseUrl },
    /verity is serving on (http:\/\/\S+?) /,
    profile,
  );
  const url = match[1]!;
  const children: Child[] = [server];
  const stopAll = async () => {
    for (const child of children.reverse()) await stop(child);
  };
  try {
    const admin = new VerityClient({ server: url, apiKey: readFileSync(join(serverDir, 'admin.key'), 'utf8').trim() });
    for (let n = 1; n <= options.remoteWorkers; n++) {
      const key = await admin.createKey(`bench-worker-${n}`, 'worker');
      const { child } = await start(
        [
          'worker',
          '--server',
          url,
          '--key',
          key.token,
          '--data-dir',
          join(context.dataDir, `worker-${n}`),
          '--concurrency',
          String(options.remoteSlots),
        ],
        {},
        /worker \S+ \(key/,
        profile,
      );
      children.push(child);
    }
    return { url, admin, serverPid: server.process.pid!, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A chain of `length` builtin/echo steps: with no mappings, each echoes the one before, so the result is the inputs. */
export function echoChain(length: number): Record<string, unknown>[] {
  return Array.from({ length }, (_, i) => ({
    id: `s${i}`,
    step_type: 'inference',
    model_requirements: { name: 'builtin/echo' },
    ...(i > 0 && { depends_on: [`s${i - 1}`] }),
  }));
}

/**
 * `count` clients, each with its own key, as separate users would, and its own copy of the workflow `steps`
 * (`<prefix>-<i>`): the plan's execute route runs only the caller's own workflows (published here with a
 * publisher key of its principal).
 */
export function createClients(
  served: Served,
  count: number,
  prefix: string,
  steps: Record<string, unknown>[],
): Promise<{ client: VerityClient; workflowId: string }[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const publisher = new VerityClient({
        server: served.url,
        apiKey: (await served.admin.createKey(`client-${i}`, 'publisher')).token,
      });
      await publisher.publishWorkflow({ id: `${prefix}-${i}`, version: 1, steps });
      const client = new VerityClient({
        server: served.url,
        apiKey: (await served.admin.createKey(`client-${i}`, 'client')).token,
      });
      return { client, workflowId: `${prefix}-${i}` };
    }),
  );
}

export async function serverLoad(context: {
  dataDir: string;
  databaseUrl: string | undefined;
}): Promise<Record<string, number>> {
  const served = await serve(context, { inProcessSlots: 0, remoteWorkers: 2, remoteSlots: WORKER_SLOTS });
  try {
    const clients = await createClients(served, CLIENTS, 'bench-chain-10', echoChain(10));
    const statusMs: number[] = [];
    let submitted = 0;
    let failed = 0;
    const began = performance.now();
    await Promise.all(
      clients.map(async ({ client, workflowId }) => {
        while (submitted < EXECUTIONS) {
          submitted++;
          const { executionId } = await client.execute(workflowId, { inputs: { n: submitted } });
          for (;;) {
            await new Promise((resolve) => setTimeout(resolve, POLL_MS));
            const t = performance.now();
            const view = await client.status(executionId);
            statusMs.push(performance.now() - t);
            if (view.status !== 'running') {
              if (view.status !== 'completed') failed++;
              break;
            }
          }
        }
      }),
    );
    const seconds = (performance.now() - began) / 1000;
    if (failed > 0) throw new Error(`${failed} executions did not complete`);
    return {
      executions: EXECUTIONS,
      executions_per_s: EXECUTIONS / seconds,
      steps_per_s: (EXECUTIONS * 10) / seconds,
      status_reads: statusMs.length,
      status_p50_ms: percentile(statusMs, 50),
      status_p99_ms: percentile(statusMs, 99),
      status_max_ms: Math.max(...statusMs),
    };
  } finally {
    await served.stop();
  }
}
