/** An event of an execution's history, as much of it as the timeline reads (the SDK's EventView fits). */
export interface TimelineEvent {
  seq: number;
  at: string;
  type: string;
  stepId?: string;
  jobId?: string;
  attempt?: number;
  actor: string;
  data?: Record<string, unknown>;
}

export type AttemptOutcome = 'waiting' | 'running' | 'completed' | 'failed' | 'expired' | 'cancelled';

/** One job of a step: from being queued to its end (or to now, while it runs). */
export interface AttemptBar {
  jobId: string;
  attempt: number;
  queuedAt: number;
  /** A retry queued with a backoff is not claimable before this. */
  availableAt?: number;
  startedAt?: number;
  end: number;
  /** false while the job has not ended: `end` is then the time the timeline was drawn. */
  ended: boolean;
  outcome: AttemptOutcome;
  workerId?: string;
  error?: { code: string; message: string };
  /** Jobs of a step that overlap (replicas of one attempt) each get their own lane of the row. */
  lane: number;
}

export interface TimelineRow {
  stepId: string;
  bars: AttemptBar[];
  lanes: number;
}

export interface Timeline {
  rows: TimelineRow[];
  start: number;
  end: number;
}

const ENDINGS: Record<string, AttemptOutcome> = {
  'job.completed': 'completed',
  'job.failed': 'failed',
  'job.expired': 'expired',
  'job.cancelled': 'cancelled',
};

/**
 * The attempts of every step, from the execution's events: a job is queued (job.queued), taken by a
 * worker (job.assigned, whose actor names it), started, and ends completed, failed, expired or cancelled.
 * A retry is a new job of the same step, so it is a second bar on the step's row. Events of a job the
 * history does not show being queued (a page that joined late) start its bar at its first event.
 * `order` lists the steps in the order the page shows them; steps without jobs are left out.
 */
export function buildTimeline(events: readonly TimelineEvent[], now: number, order: readonly string[] = []): Timeline {
  const jobs = new Map<string, AttemptBar & { stepId: string }>();
  for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
    if (event.stepId === undefined || event.jobId === undefined || !event.type.startsWith('job.')) continue;
    const at = Date.parse(event.at);
    if (Number.isNaN(at)) continue;
    let job = jobs.get(event.jobId);
    if (!job) {
      job = {
        stepId: event.stepId,
        jobId: event.jobId,
        attempt: event.attempt ?? 1,
        queuedAt: at,
        end: at,
        ended: false,
        outcome: 'waiting',
        lane: 0,
      };
      jobs.set(event.jobId, job);
    }
    if (event.type === 'job.queued') {
      job.queuedAt = at;
      const available = event.data?.['availableAt'];
      if (typeof available === 'number' && available > at) job.availableAt = available;
    } else if (event.type === 'job.assigned') {
      const worker = workerOf(event.actor);
      if (worker) job.workerId = worker;
    } else if (event.type === 'job.started') {
      job.startedAt = at;
      job.outcome = 'running';
      noteWorker(job, event.actor);
    } else if (ENDINGS[event.type]) {
      job.outcome = ENDINGS[event.type]!;
      job.ended = true;
      job.end = at;
      noteWorker(job, event.actor);
      const error = errorOf(event.data?.['error']);
      if (error) job.error = error;
    }
  }
  const byStep = new Map<string, AttemptBar[]>();
  let start = Infinity;
  let end = -Infinity;
  for (const { stepId, ...bar } of jobs.values()) {
    if (!bar.ended) bar.end = Math.max(now, bar.queuedAt);
    start = Math.min(start, bar.queuedAt);
    end = Math.max(end, bar.end);
    const bars = byStep.get(stepId) ?? [];
    bars.push(bar);
    byStep.set(stepId, bars);
  }
  const known = order.filter((id) => byStep.has(id));
  const others = [...byStep.keys()].filter((id) => !order.includes(id));
  const rows = [...known, ...others].map((stepId) => placeInLanes(stepId, byStep.get(stepId)!));
  if (rows.length === 0) return { rows, start: now, end: now };
  return { rows, start, end: Math.max(end, start + 1) };
}

/** Bars in time order, each in the first lane where it overlaps no earlier bar. */
function placeInLanes(stepId: string, bars: AttemptBar[]): TimelineRow {
  bars.sort((a, b) => a.queuedAt - b.queuedAt || a.attempt - b.attempt);
  const laneEnds: number[] = [];
  for (const bar of bars) {
    let lane = laneEnds.findIndex((end) => end <= bar.queuedAt);
    if (lane === -1) lane = laneEnds.length;
    laneEnds[lane] = bar.end;
    bar.lane = lane;
  }
  return { stepId, bars, lanes: Math.max(1, laneEnds.length) };
}

/** The worker named by an event's actor, unless an earlier event of the job named it already. */
function noteWorker(job: AttemptBar, actor: string): void {
  const worker = workerOf(actor);
  if (job.workerId === undefined && worker !== undefined) job.workerId = worker;
}

function workerOf(actor: string): string | undefined {
  return actor.startsWith('worker:') && actor.length > 'worker:'.length ? actor.slice('worker:'.length) : undefined;
}

function errorOf(value: unknown): { code: string; message: string } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { code, message } = value as Record<string, unknown>;
  if (typeof code !== 'string') return undefined;
  return { code, message: typeof message === 'string' ? message : '' };
}

/** Where a time falls along the timeline, as a percentage of its width. */
export function position(timeline: Pick<Timeline, 'start' | 'end'>, at: number): number {
  const span = timeline.end - timeline.start;
  if (span <= 0) return 0;
  return Math.min(100, Math.max(0, ((at - timeline.start) / span) * 100));
}

/**
 * Tick marks for the time axis: a round step (1, 2 or 5 times a power of ten, in ms) that gives at most
 * `most` ticks, each as its offset from the start.
 */
export function ticks(spanMs: number, most = 6): number[] {
  if (!(spanMs > 0) || most < 1) return [0];
  const rough = spanMs / most;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const out: number[] = [];
  for (let t = 0; t <= spanMs + 1e-9; t += step) out.push(t);
  return out;
}

/** A duration for the axis and the tooltips: ms under a second, then seconds, then minutes. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes} min` : `${minutes} min ${seconds} s`;
}

/** One line describing an attempt, for its tooltip and its accessible name. */
export function describeAttempt(
  stepId: string,
  bar: AttemptBar,
  time: (ms: number) => string = (ms) => new Date(ms).toISOString(),
): string {
  const parts = [`${stepId} attempt ${bar.attempt}: ${bar.outcome}`];
  if (bar.workerId) parts.push(`worker ${bar.workerId}`);
  parts.push(`queued ${time(bar.queuedAt)}`);
  if (bar.startedAt !== undefined) parts.push(`started ${time(bar.startedAt)}`);
  if (bar.ended) parts.push(`ended ${time(bar.end)} (${duration(bar.end - bar.queuedAt)})`);
  if (bar.error) parts.push(`error ${bar.error.code}${bar.error.message ? `: ${bar.error.message}` : ''}`);
  return parts.join(' · ');
}
