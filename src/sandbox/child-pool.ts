import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';

/*
 * Code we do not trust to stay within bounds (a publisher's JSONata, a stranger's bundle) runs in child
 * processes that can be killed. Not worker threads: a worker's resourceLimits do not hold against one large
 * allocation (JSONata's `$pad('x', 2e8)` or `[1..9999999]` in a worker with a 64 MiB heap ended the whole
 * process with V8's fatal "heap out of memory"), and a process that dies of it takes only itself down.
 * Each child runs one request at a time, so a kill stops exactly the request that overran.
 */

export interface ChildPoolOptions {
  /** What the pool is for, in messages: "expression evaluator", "verifier". */
  name: string;
  /** The child's module: `.js` from dist/, or `.ts`, which runs under tsx (tests, development). */
  script: URL;
  /** Children at most; each starts on first need. */
  processes: number;
  /** Each child's V8 heap (--max-old-space-size). */
  memoryMb: number;
  /** Requests that may wait for a child; more are refused as `busy`. */
  maxQueue: number;
}

export type ChildOutcome<R> =
  | { ok: true; reply: R }
  | { ok: false; reason: 'timeout' | 'memory' | 'crashed' | 'busy' | 'closed' | 'unsendable'; message: string };

interface Task<Q, R> {
  request: Q;
  timeoutMs: number;
  resolve: (outcome: ChildOutcome<R>) => void;
}

interface Child<Q, R> {
  process: ChildProcess;
  ready: boolean;
  task?: Task<Q, R> | undefined;
  timer?: NodeJS.Timeout | undefined;
  /** The end of its stderr: what it said before it died. */
  stderr: string;
  /** Why the pool stopped it, when it did. */
  stopped?: 'timeout' | 'closed' | undefined;
}

type Message<R> = { ready: true } | { reply: R };

export class ChildPool<Q, R> {
  private readonly children = new Set<Child<Q, R>>();
  private readonly queue: Task<Q, R>[] = [];
  private closed = false;

  constructor(readonly options: ChildPoolOptions) {}

  /** Runs one request in a child, within `timeoutMs` of the child starting on it (spawning is not counted). */
  run(request: Q, timeoutMs: number): Promise<ChildOutcome<R>> {
    if (this.closed)
      return Promise.resolve({ ok: false, reason: 'closed', message: `the ${this.options.name} is closed` });
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.resolve({
        ok: false,
        reason: 'busy',
        message: `the ${this.options.name} has ${this.queue.length} requests waiting; try again shortly`,
      });
    }
    return new Promise((resolve) => {
      this.queue.push({ request, timeoutMs, resolve });
      this.dispatch();
    });
  }

  /** How many requests wait or run. */
  get pending(): number {
    let running = 0;
    for (const child of this.children) if (child.task) running++;
    return this.queue.length + running;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of this.queue.splice(0))
      task.resolve({ ok: false, reason: 'closed', message: `the ${this.options.name} closed before this request ran` });
    await Promise.all(
      [...this.children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.process.exitCode !== null || child.process.signalCode !== null) return resolve();
            child.stopped = 'closed';
            child.process.once('exit', () => resolve());
            // Held until it is gone: an idle child is unreferenced, and the caller awaits its exit.
            keepAlive(child.process, true);
            child.process.kill('SIGKILL');
          }),
      ),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let idle: Child<Q, R> | undefined;
      for (const child of this.children) {
        if (child.ready && !child.task) {
          idle = child;
          break;
        }
      }
      if (!idle) {
        // Start another child only when none is starting already for the queue to use.
        const starting = [...this.children].filter((c) => !c.ready).length;
        if (this.children.size < this.options.processes && starting < this.queue.length) this.spawn();
        return;
      }
      this.start(idle, this.queue.shift()!);
    }
  }

  private start(child: Child<Q, R>, task: Task<Q, R>): void {
    child.task = task;
    keepAlive(child.process, true);
    child.timer = setTimeout(() => {
      child.stopped = 'timeout';
      child.process.kill('SIGKILL');
    }, task.timeoutMs);
    try {
      child.process.send({ request: task.request });
    } catch (error) {
      // Not JSON (a cycle, or nested deeper than the serializer's stack): the request, not the child, is at fault.
      this.finish(child, {
        ok: false,
        reason: 'unsendable',
        message: `the request cannot be sent to the ${this.options.name}: ${(error as Error).message}`,
      });
    }
  }

  private finish(child: Child<Q, R>, outcome: ChildOutcome<R>): void {
    const task = child.task;
    clearTimeout(child.timer);
    child.task = undefined;
    child.timer = undefined;
    keepAlive(child.process, false);
    task?.resolve(outcome);
  }

  private spawn(): void {
    const script = this.options.script;
    const path = fileURLToPath(script);
    const args = [
      `--max-old-space-size=${this.options.memoryMb}`,
      ...(path.endsWith('.ts') ? ['--import', tsxLoader()] : []),
      path,
    ];
    const process_ = spawn(process.execPath, args, {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const child: Child<Q, R> = { process: process_, ready: false, stderr: '' };
    this.children.add(child);
    process_.stderr?.setEncoding('utf8');
    process_.stderr?.on('data', (text: string) => {
      child.stderr = (child.stderr + text).slice(-4096);
    });
    // Referenced while it starts (a request is waiting for it); let go once it idles.
    keepAlive(process_, true);
    process_.on('message', (message: Message<R>) => {
      if ('ready' in message) {
        child.ready = true;
        this.dispatch();
        if (!child.task) keepAlive(process_, false);
        return;
      }
      this.finish(child, { ok: true, reply: message.reply });
      this.dispatch();
    });
    process_.on('error', () => undefined);
    process_.on('exit', (code, signal) => {
      this.children.delete(child);
      if (child.task) this.finish(child, this.deathOf(child, code, signal));
      else if (!child.ready && !this.closed && this.queue.length > 0) {
        // It died starting: fail what waits rather than respawn in a loop.
        const outcome = this.deathOf(child, code, signal);
        for (const task of this.queue.splice(0)) task.resolve(outcome);
      }
      if (!this.closed) this.dispatch();
    });
  }

  private deathOf(child: Child<Q, R>, code: number | null, signal: NodeJS.Signals | null): ChildOutcome<R> {
    if (child.stopped === 'timeout')
      return {
        ok: false,
        reason: 'timeout',
        message: `it ran longer than its ${child.task?.timeoutMs ?? 0} ms and was stopped`,
      };
    if (child.stopped === 'closed')
      return { ok: false, reason: 'closed', message: `the ${this.options.name} closed while this request ran` };
    if (/out of memory|allocation failed/i.test(child.stderr)) {
      return {
        ok: false,
        reason: 'memory',
        message: `it ran out of memory (the ${this.options.name} allows ${this.options.memoryMb} MiB) and was stopped`,
      };
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const said = child.stderr.trim().split('\n').slice(-3).join(' | ');
    return {
      ok: false,
      reason: 'crashed',
      message: `the ${this.options.name}'s process ${how}${said ? `: ${said}` : ''}`,
    };
  }
}

/** An idle child must not keep its parent alive (a CLI run that is done exits); a busy one must. */
function keepAlive(child: ChildProcess, on: boolean): void {
  const handles = [child, child.channel, child.stderr as Socket | null] as (
    { ref(): void; unref(): void } | null | undefined
  )[];
  for (const handle of handles) {
    if (!handle) continue;
    if (on) handle.ref();
    else handle.unref();
  }
}

let tsx: string | undefined;
function tsxLoader(): string {
  tsx ??= pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return tsx;
}
