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

export async function serverLoad(context: {
  dataDir: string;
  databaseUrl: string | undefined;
}): Promise<Record<string, number>> {
  const serverDir = join(context.dataDir, 'server');
  const { child: server, match } = await start(
    ['serve', '--data-dir', serverDir, '--port', '0', '--workers', '0', '--log-level', 'warn'],
    { VERITY_DATABASE_URL: context.databaseUrl },
    /verity is serving on (http:\/\/\S+?) /,
    profile,
  );
  const url = match[1]!;
  const children: Child[] = [server];
  try {
    const admin = new VerityClient({ server: url, apiKey: readFileSync(join(serverDir, 'admin.key'), 'utf8').trim() });
    for (const n of [1, 2]) {
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
          String(WORKER_SLOTS),
        ],
        {},
        /worker \S+ \(key/,
        profile,
      );
      children.push(child);
    }
    const steps = Array.from({ length: 10 }, (_, i) => ({
      id: `s${i}`,
      step_type: 'inference',
      model_requirements: { name: 'builtin/echo' },
      ...(i > 0 && { depends_on: [`s${i - 1}`] }),
    }));

    // Each client has its own key, as separate users would, and runs its own copy of the chain: the plan's
    // execute route runs only the caller's own workflows (published here with a publisher key of its principal).
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const publisher = new VerityClient({
          server: url,
          apiKey: (await admin.createKey(`client-${i}`, 'publisher')).token,
        });
        await publisher.publishWorkflow({ id: `bench-chain-10-${i}`, version: 1, steps });
        const client = new VerityClient({
          server: url,
          apiKey: (await admin.createKey(`client-${i}`, 'client')).token,
        });
        return { client, workflowId: `bench-chain-10-${i}` };
      }),
    );
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
    for (const child of children.reverse()) await stop(child);
  }
}
