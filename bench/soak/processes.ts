import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const VERITY_BIN = fileURLToPath(new URL('../../bin/verity.js', import.meta.url));

/** A `verity …` child process, started from the built CLI (dist/) as an operator would run it. */
export interface Child {
  process: ChildProcess;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
  /** kill -9: no chance to clean up. Resolves when it has exited. */
  kill9(): Promise<void>;
}

/** Every child started here and not yet exited, from the moment it is spawned (a start may be cut short). */
export const liveChildren = new Set<ChildProcess>();

/** Starts `verity args…` and resolves once its stderr matches `ready`; rejects if it exits or stays silent first. */
export async function spawnVerity(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
  timeoutMs = 60_000,
  /** A command that runs `node verity …` for us (for instance `ip netns exec NAME`). */
  wrap: readonly string[] = [],
): Promise<{ child: Child; match: RegExpMatchArray }> {
  const [command, ...prefix] = [...wrap, process.execPath];
  const proc = spawn(command, [...prefix, VERITY_BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  liveChildren.add(proc);
  proc.once('exit', () => liveChildren.delete(proc));
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    // Keep the tail only: a long-lived process must not grow this one's memory.
    stderr = (stderr + chunk).slice(-20_000);
  });
  // 'exit', not 'close': the server's own children (expression sandboxes, provers) hold its stderr open a while.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const child: Child = {
    process: proc,
    pid: proc.pid!,
    exited,
    stderr: () => stderr,
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
  try {
    const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`verity ${args[0]} was not ready in ${timeoutMs} ms:\n${stderr}`)),
        timeoutMs,
      );
      const check = () => {
        const found = stderr.match(ready);
        if (found) {
          clearTimeout(timer);
          proc.stderr.off('data', check);
          resolve(found);
        }
      };
      proc.stderr.on('data', check);
      void exited.then((result) => {
        clearTimeout(timer);
        reject(new Error(`verity ${args[0]} exited (${result.code ?? result.signal}) before it was ready:\n${stderr}`));
      });
    });
    return { child, match };
  } catch (error) {
    await child.kill9();
    throw error;
  }
}

export interface ServerSpec {
  dataDir: string;
  databaseUrl?: string | undefined;
  /** 0 at the first start; the port it got after. */
  port: number;
  leaseMs: number;
  /** The coordinator's key: replicas on one database share one file (VERITY_COORDINATOR_KEY_FILE). */
  coordinatorKeyFile?: string | undefined;
  /** The address to listen on. Default: 127.0.0.1. */
  host?: string;
}

export async function startServer(spec: ServerSpec): Promise<{ child: Child; url: string; adminKey: string }> {
  const args = [
    'serve',
    '--data-dir',
    spec.dataDir,
    '--port',
    String(spec.port),
    '--workers',
    '0',
    '--log-level',
    'error',
    '--lease-ms',
    String(spec.leaseMs),
    ...(spec.host !== undefined ? ['--host', spec.host] : []),
  ];
  const env: Record<string, string> = {
    ...(spec.databaseUrl && { VERITY_DATABASE_URL: spec.databaseUrl }),
    ...(spec.coordinatorKeyFile && { VERITY_COORDINATOR_KEY_FILE: spec.coordinatorKeyFile }),
  };
  const { child, match } = await spawnVerity(args, env, /verity is serving on (http:\/\/\S+?) /);
  return { child, url: match[1]!, adminKey: readFileSync(join(spec.dataDir, 'admin.key'), 'utf8').trim() };
}

export interface WorkerSpec {
  name: string;
  /** The server, or every replica of it: the worker fails over from one to the next. */
  url: string | readonly string[];
  apiKey: string;
  dataDir: string;
  concurrency: number;
  /** What it serves (`--capabilities`); a worker prepares only these executors before it registers. */
  capabilities?: readonly string[];
  /** Print the errors it recovers from (`--debug`). */
  debug?: boolean;
  /** A command that runs it (for instance `ip netns exec NAME`, to run it in a network namespace). */
  wrap?: readonly string[];
}

export async function startWorker(spec: WorkerSpec): Promise<{ child: Child; workerId: string }> {
  const args = [
    'worker',
    '--server',
    typeof spec.url === 'string' ? spec.url : spec.url.join(','),
    '--key',
    spec.apiKey,
    '--data-dir',
    spec.dataDir,
    '--concurrency',
    String(spec.concurrency),
    '--name',
    spec.name,
  ];
  if (spec.capabilities) args.push('--capabilities', spec.capabilities.join(','));
  if (spec.debug) args.push('--debug');
  const { child, match } = await spawnVerity(args, {}, /worker (\S+) \(key/, 60_000, spec.wrap);
  return { child, workerId: match[1]! };
}

/** The resident set of a process in bytes (Linux /proc), or undefined once it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
