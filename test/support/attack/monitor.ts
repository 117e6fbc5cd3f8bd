import { readFileSync, readdirSync } from 'node:fs';

/** Resident memory of a process in bytes (VmRSS), or undefined once it is gone. */
export function rssOf(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The process's children (the expression sandbox's, for one), read from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // Gone, or /proc without children files: no children to count.
  }
  return out;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface HealthFigures {
  /** Largest VmRSS of the server process seen. */
  maxRss: number;
  /** Largest sum of the RSS of the server and its child processes. */
  maxTreeRss: number;
  /** Slowest /healthz answer (ms); a probe that failed or timed out counts as its time-out. */
  maxHealthzMs: number;
  healthzProbes: number;
  healthzFailures: number;
  samples: number;
}

/**
 * Samples the server's memory and probes /healthz in the background while an attack runs, so a leak or
 * a blocked event loop shows even when no single request fails.
 */
export class ServerMonitor {
  readonly figures: HealthFigures = {
    maxRss: 0,
    maxTreeRss: 0,
    maxHealthzMs: 0,
    healthzProbes: 0,
    healthzFailures: 0,
    samples: 0,
  };
  private timer: NodeJS.Timeout | undefined;
  private probing = false;

  constructor(
    private readonly pid: number,
    private readonly url: string,
    private readonly options: {
      intervalMs?: number;
      healthzTimeoutMs?: number;
      slowMs?: number;
      onSlow?: (ms: number) => void;
    } = {},
  ) {}

  start(): this {
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? 250);
    this.timer.unref();
    return this;
  }

  sample(): void {
    const rss = rssOf(this.pid);
    if (rss === undefined) return;
    let tree = rss;
    for (const child of childrenOf(this.pid)) tree += rssOf(child) ?? 0;
    this.figures.maxRss = Math.max(this.figures.maxRss, rss);
    this.figures.maxTreeRss = Math.max(this.figures.maxTreeRss, tree);
    this.figures.samples++;
  }

  private tick(): void {
    this.sample();
    if (this.probing) return;
    this.probing = true;
    void this.probe().finally(() => (this.probing = false));
  }

  /** One /healthz request; its latency (a failure counts as the time-out). */
  async probe(): Promise<number> {
    const timeout = this.options.healthzTimeoutMs ?? 5_000;
    const started = performance.now();
    let ms: number;
    try {
      const response = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(timeout) });
      await response.text();
      ms = performance.now() - started;
      if (response.status !== 200) this.figures.healthzFailures++;
    } catch {
      ms = timeout;
      this.figures.healthzFailures++;
    }
    this.figures.healthzProbes++;
    if (this.options.onSlow && ms > (this.options.slowMs ?? 2_000)) this.options.onSlow(ms);
    this.figures.maxHealthzMs = Math.max(this.figures.maxHealthzMs, ms);
    return ms;
  }

  stop(): HealthFigures {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return this.figures;
  }
}
