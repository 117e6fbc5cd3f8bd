import { readFileSync } from 'node:fs';
import pg from 'pg';
import { isDeepStrictEqual } from 'node:util';
import type { VerityClient } from '../src/sdk/client.js';
import { createClients, echoChain, serve } from './server-load.js';
import { percentile } from './stats.js';

/**
 * Many executions at once, through the server as deployed: a `verity serve` process with its in-process
 * workers (16 slots; `--remote-workers <n>` runs n `verity worker` processes of 8 slots over HTTP instead),
 * and this process as 50 clients, each with its own key and its own copy of a 5-step builtin/echo chain.
 * The clients start N executions as fast as the server accepts them (each client its share, back to back:
 * 50 requests in flight), N = 10,000 on PostgreSQL and 1,000 on SQLite (`--executions <n>` for a quick run).
 * Meanwhile a prober reads the status of a random started execution every 100 ms, and the admin lists the
 * running executions every second until there are none. Then every execution's status is read and its
 * result checked: an echo chain's result is its inputs, so a wrong one means data went astray.
 *
 * Reported: time to start them all and to drain (the last one terminal, from the first start), executions
 * and steps per second, the status probe's and the running list's latency (p50, p99, max), the server
 * process's peak RSS (VmHWM) and its RSS before and after, and the failures counted: executions that did
 * not complete or completed with a wrong result, starts and probes that got an error.
 */

const STEPS = 5;
const CLIENTS = 50;
const PROBE_MS = 100;
const LIST_MS = 1000;
/** A drain slower than this (a minute, plus 100 ms an execution: 10 per second) is not waited for: the figures say how far it got. */
const deadlineMs = (executions: number) => 60_000 + executions * 100;

interface Options {
  executions: number;
  remoteWorkers: number;
  /** Seconds between two ANALYZEs of the PostgreSQL schema; 0 for none. */
  analyzeEvery: number;
}

const FLAGS = {
  '--executions': 'executions',
  '--remote-workers': 'remoteWorkers',
  '--analyze-every': 'analyzeEvery',
} as const;

function parseOptions(args: readonly string[], backend: 'sqlite' | 'postgres'): Options {
  const options: Options = { executions: backend === 'postgres' ? 10_000 : 1_000, remoteWorkers: 0, analyzeEvery: 0 };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i]!, args[i + 1]];
    const n = Number(value);
    if (!(flag in FLAGS))
      throw new Error(
        `many-executions: unknown option ${flag}; use ${Object.keys(FLAGS).join(', ')} (each with a number)`,
      );
    const name = FLAGS[flag as keyof typeof FLAGS];
    if (value === undefined || !Number.isSafeInteger(n) || n < (name === 'executions' ? 1 : 0))
      throw new Error(`many-executions: ${flag} needs a whole number${name === 'executions' ? ' ≥ 1' : ' ≥ 0'}`);
    options[name] = n;
  }
  if (options.analyzeEvery > 0 && backend !== 'postgres')
    throw new Error('many-executions: --analyze-every is for PostgreSQL; give a database URL');
  return options;
}

/**
 * ANALYZE of the scenario's schema every `seconds`, as autovacuum would do on a server that has it on (the
 * PostgreSQL of the CI and of these benchmarks runs with autovacuum off, so its tables have no statistics
 * at all unless someone analyzes them). Stops when the returned function is called.
 */
function analyzeEvery(databaseUrl: string, seconds: number): () => Promise<void> {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  const client = new pg.Client({
    connectionString: url.toString(),
    ...(schema !== null && { options: `-c search_path=${schema}` }),
  });
  let stopped = false;
  const loop = (async () => {
    await client.connect();
    while (!stopped) {
      await sleep(seconds * 1000);
      // Only Verity's tables, once migrations have made them.
      if (!stopped) await client.query('ANALYZE executions, steps, jobs, events');
    }
  })();
  return async () => {
    stopped = true;
    await loop.catch((error: Error) => process.stderr.write(`many-executions: ANALYZE failed: ${error.message}\n`));
    await client.end().catch(() => undefined);
  };
}

/**
 * The process's resident set now and at its peak, in MB, and the CPU time it has used, in seconds, from
 * /proc (Linux; NaN elsewhere). CPU time per execution is the figure a busy shared machine distorts least.
 */
function processStats(pid: number): { rss: number; peak: number; cpuSeconds: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    // utime and stime, in clock ticks (100 a second on Linux), after the command name in parentheses.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return {
      rss: kb('VmRSS') / 1024,
      peak: kb('VmHWM') / 1024,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100,
    };
  } catch {
    return { rss: NaN, peak: NaN, cpuSeconds: NaN };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function manyExecutions(context: {
  dataDir: string;
  databaseUrl: string | undefined;
  args?: readonly string[];
}): Promise<Record<string, number>> {
  const options = parseOptions(context.args ?? [], context.databaseUrl ? 'postgres' : 'sqlite');
  const { executions: total, remoteWorkers } = options;
  const served = await serve(context, {
    inProcessSlots: remoteWorkers > 0 ? 0 : 16,
    remoteWorkers,
    remoteSlots: 8,
  });
  try {
    const clients = await createClients(served, CLIENTS, 'bench-chain-5', echoChain(STEPS));
    const before = processStats(served.serverPid);
    const stopAnalyzing =
      options.analyzeEvery > 0 ? analyzeEvery(context.databaseUrl!, options.analyzeEvery) : () => Promise.resolve();
    const started: { client: VerityClient; executionId: string; inputs: { n: number; client: number } }[] = [];
    const startMs: number[] = [];
    const probeMs: number[] = [];
    const listMs: number[] = [];
    let startErrors = 0;
    let probeErrors = 0;
    let firstStartError: Error | undefined;
    let next = 0;
    let done = false;

    const began = performance.now();
    const beganAt = Date.now();
    const starting = Promise.all(
      clients.map(async ({ client, workflowId }, c) => {
        for (let n = next++; n < total; n = next++) {
          const inputs = { n, client: c };
          const t = performance.now();
          try {
            const { executionId } = await client.execute(workflowId, { inputs });
            startMs.push(performance.now() - t);
            started.push({ client, executionId, inputs });
          } catch (error) {
            startErrors++;
            firstStartError ??= error as Error;
          }
        }
      }),
    ).then(() => performance.now() - began);

    const probing = (async () => {
      while (!done) {
        await sleep(PROBE_MS);
        const target = started[Math.floor(Math.random() * started.length)];
        if (!target) continue;
        const t = performance.now();
        try {
          await target.client.status(target.executionId);
          probeMs.push(performance.now() - t);
        } catch {
          probeErrors++;
        }
      }
    })();

    // Drained: every start answered and no execution left running (the admin sees everyone's).
    let startedAll: number | undefined;
    void starting.then((ms) => (startedAll = ms));
    let drained = false;
    for (;;) {
      await sleep(LIST_MS);
      const t = performance.now();
      let running: number;
      try {
        running = (await served.admin.listExecutions({ status: ['running'], limit: 100 })).executions.length;
        listMs.push(performance.now() - t);
      } catch {
        probeErrors++;
        continue;
      }
      if (startedAll !== undefined && running === 0) {
        drained = true;
        break;
      }
      if (performance.now() - began > deadlineMs(total)) {
        process.stderr.write(`many-executions: not drained after ${deadlineMs(total) / 1000} s; stopped waiting\n`);
        break;
      }
    }
    done = true;
    await probing;
    await stopAnalyzing();
    await starting;
    const elapsedMs = performance.now() - began;
    const after = processStats(served.serverPid);

    // Every execution's end, read back and checked.
    let completed = 0;
    let stillRunning = 0;
    let notCompleted = 0;
    let wrongResult = 0;
    let lastFinished = 0;
    let cursor = 0;
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let i = cursor++; i < started.length; i = cursor++) {
          const { client, executionId, inputs } = started[i]!;
          const view = await client.status(executionId);
          if (view.status === 'running') stillRunning++;
          else if (view.status !== 'completed') notCompleted++;
          else if (!isDeepStrictEqual(view.result, inputs)) wrongResult++;
          else completed++;
          if (view.finishedAt !== undefined) lastFinished = Math.max(lastFinished, Date.parse(view.finishedAt));
        }
      }),
    );
    if (firstStartError !== undefined)
      process.stderr.write(`many-executions: first failed start: ${firstStartError.message}\n`);
    // Drained: when the last one ended, by the server's clock (this machine's); else how long it was given.
    const seconds = (drained && lastFinished > 0 ? lastFinished - beganAt : elapsedMs) / 1000;
    return {
      executions: total,
      in_process_slots: remoteWorkers > 0 ? 0 : 16,
      remote_workers: remoteWorkers,
      analyze_every_s: options.analyzeEvery,
      start_all_s: (startedAll ?? NaN) / 1000,
      start_p50_ms: percentile(startMs, 50),
      start_p99_ms: percentile(startMs, 99),
      drained: drained ? 1 : 0,
      ...(drained && { drain_s: seconds }),
      elapsed_s: elapsedMs / 1000,
      executions_per_s: (completed + wrongResult + notCompleted) / seconds,
      steps_per_s: ((completed + wrongResult) * STEPS) / seconds,
      probes: probeMs.length,
      probe_p50_ms: percentile(probeMs, 50),
      probe_p99_ms: percentile(probeMs, 99),
      probe_max_ms: Math.max(...probeMs),
      list_running_p50_ms: percentile(listMs, 50),
      list_running_max_ms: Math.max(...listMs),
      server_rss_before_mb: before.rss,
      server_peak_rss_mb: after.peak,
      server_rss_after_mb: after.rss,
      server_cpu_s: after.cpuSeconds - before.cpuSeconds,
      server_cpu_ms_per_execution: ((after.cpuSeconds - before.cpuSeconds) * 1000) / started.length,
      start_errors: startErrors,
      probe_errors: probeErrors,
      completed_right: completed,
      still_running: stillRunning,
      not_completed: notCompleted,
      wrong_results: wrongResult,
    };
  } finally {
    await served.stop();
  }
}
