import type { Store } from '../store/store.js';
import type { Engine } from './engine.js';
import type { JobExpiry } from './job-port.js';

export interface SweeperOptions {
  /** How often to look for expired leases and past deadlines. Default: 250 ms. */
  intervalMs: number;
  /** How often to look for decisions nobody is making (Engine.resumeDecisions). Default: 5 s. */
  decisionsEveryMs?: number;
  now: () => number;
  onError: (error: unknown) => void;
}

/**
 * The engine's clock: jobs whose lease or deadline has passed are expired (and retried per policy),
 * executions past max_execution_time are ended. Every action is a guarded transaction, so any number of
 * sweepers (one per replica) can run at once.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private lastDecisionsAt = 0;

  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
    private readonly coordinator: JobExpiry,
    private readonly options: SweeperOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep()
        .catch(this.options.onError)
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.options.intervalMs);
  }

  /** One pass; returns how many jobs and executions it ended. */
  async sweep(): Promise<{ jobs: number; executions: number }> {
    const now = this.options.now();
    let jobs = 0;
    let executions = 0;
    for (const jobId of await this.store.read.listExpiredJobIds(now, 100)) {
      if (await this.coordinator.expire(jobId)) jobs++;
    }
    for (const executionId of await this.store.read.listExecutionIdsPastDeadline(now, 100)) {
      await this.engine.timeOut(executionId);
      executions++;
    }
    if (now - this.lastDecisionsAt >= (this.options.decisionsEveryMs ?? 5_000)) {
      this.lastDecisionsAt = now;
      await this.engine.resumeDecisions();
    }
    return { jobs, executions };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
