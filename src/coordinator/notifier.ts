/**
 * Wakes idle worker slots in this process when jobs may have become claimable: right after a transaction
 * that queued jobs commits, or when a retry's backoff ends. Work queued by other processes is found by the
 * slots' own polling, so a missed wake-up costs latency, never correctness.
 */
export class JobNotifier {
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly cancelListeners = new Set<(jobIds: readonly string[]) => void>();

  /** Slots that are about to claim anyway (they just reported a result): their share of wake-ups is skipped. */
  private claimersComing = 0;

  /** Jobs left for slots that were about to claim anyway: their claims may skip the look that finds nothing. */
  private handoffs = 0;

  /** Wakes up to `count` waiting slots (each will try one claim). */
  jobsQueued(count = 1): void {
    const covered = Math.min(this.claimersComing, count);
    this.claimersComing -= covered;
    this.handoffs += covered;
    for (let i = covered; i < count && this.waiters.length > 0; i++) this.waiters.shift()!();
  }

  /**
   * A slot reporting a result will claim again right after: the first job its report queues is left for
   * it instead of waking another slot, which would race it for the same job. Call the returned function
   * once the report is done; it hands back the claim if the report queued nothing.
   */
  claimerComing(): () => void {
    this.claimersComing++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.claimersComing > 0) this.claimersComing--;
    };
  }

  /**
   * Whether a job was just left for a claimer (a report queued the next step): its claim may go straight to
   * the write, since a read asking whether there is work would only say yes. Each hand-off is taken once.
   */
  takeHandoff(): boolean {
    if (this.handoffs === 0) return false;
    this.handoffs--;
    return true;
  }

  /** Schedules a wake-up for a job that becomes claimable at `at` (ms since epoch). */
  jobsQueuedAt(at: number, now = Date.now()): void {
    if (at <= now) return this.jobsQueued(1);
    if (at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.jobsQueued(this.waiters.length);
    }, at - now);
    this.timer.unref();
  }

  /** Resolves on the next wake-up, after `ms`, or when `signal` aborts, whichever comes first. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== done);
        done();
      };
      const timer = setTimeout(onAbort, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(done);
    });
  }

  /** Tells in-process workers that jobs were cancelled, so they stop them now rather than at the next heartbeat. */
  jobsCancelled(jobIds: readonly string[]): void {
    if (jobIds.length === 0) return;
    for (const listener of this.cancelListeners) listener(jobIds);
  }

  onCancelled(listener: (jobIds: readonly string[]) => void): () => void {
    this.cancelListeners.add(listener);
    return () => this.cancelListeners.delete(listener);
  }

  /** Releases every waiting slot (used on shutdown). */
  wakeAll(): void {
    this.jobsQueued(this.waiters.length);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.wakeAll();
  }
}
