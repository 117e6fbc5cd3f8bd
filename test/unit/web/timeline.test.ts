import { describe, expect, it } from 'vitest';
import { buildTimeline, describeAttempt, duration, position, ticks } from '../../../web/src/lib/timeline.js';
import type { TimelineEvent } from '../../../web/src/lib/timeline.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
let seq = 0;
function event(
  ms: number,
  type: string,
  job?: { stepId: string; jobId: string; attempt: number },
  extra: Partial<TimelineEvent> = {},
): TimelineEvent {
  return {
    seq: ++seq,
    at: new Date(T0 + ms).toISOString(),
    type,
    actor: 'coordinator',
    ...(job && { stepId: job.stepId, jobId: job.jobId, attempt: job.attempt }),
    ...extra,
  };
}

/** How the execution page turns the event history into a Gantt chart of attempts. */
describe('the execution timeline', () => {
  const a1 = { stepId: 'a', jobId: 'j1', attempt: 1 };
  const a2 = { stepId: 'a', jobId: 'j2', attempt: 2 };
  const b1 = { stepId: 'b', jobId: 'j3', attempt: 1 };

  it('draws a retried step as two bars on one row, the failed one with its error and worker', () => {
    const events = [
      event(0, 'execution.started'),
      event(0, 'job.queued', a1),
      event(10, 'job.assigned', a1, { actor: 'worker:w-1' }),
      event(20, 'job.started', a1, { actor: 'worker:w-1' }),
      event(120, 'job.failed', a1, { actor: 'worker:w-1', data: { error: { code: 'flaky', message: 'once' } } }),
      event(120, 'step.retry_scheduled', { ...a1, jobId: undefined as unknown as string }),
      event(120, 'job.queued', a2, { data: { availableAt: T0 + 300 } }),
      event(310, 'job.assigned', a2, { actor: 'worker:w-2' }),
      event(320, 'job.started', a2, { actor: 'worker:w-2' }),
      event(400, 'job.completed', a2, { actor: 'worker:w-2' }),
      event(400, 'step.completed', { stepId: 'a', jobId: undefined as unknown as string, attempt: 2 }),
    ];
    const timeline = buildTimeline(events, T0 + 10_000);
    expect(timeline.start).toBe(T0);
    expect(timeline.end).toBe(T0 + 400);
    expect(timeline.rows).toHaveLength(1);
    const [row] = timeline.rows;
    expect(row!.stepId).toBe('a');
    expect(row!.lanes).toBe(1);
    expect(row!.bars.map((b) => [b.attempt, b.outcome, b.workerId, b.queuedAt - T0, b.end - T0])).toEqual([
      [1, 'failed', 'w-1', 0, 120],
      [2, 'completed', 'w-2', 120, 400],
    ]);
    expect(row!.bars[0]!.error).toEqual({ code: 'flaky', message: 'once' });
    expect(row!.bars[0]!.startedAt).toBe(T0 + 20);
    expect(row!.bars[1]!.availableAt).toBe(T0 + 300);
    expect(row!.bars.every((b) => b.ended && b.lane === 0)).toBe(true);
  });

  it('runs a job that has not ended up to now, and a queued one waits', () => {
    const events = [
      event(0, 'job.queued', a1),
      event(50, 'job.started', a1, { actor: 'worker:w-1' }),
      event(60, 'job.queued', b1),
    ];
    const timeline = buildTimeline(events, T0 + 1000);
    const bars = timeline.rows.flatMap((r) => r.bars);
    expect(bars.map((b) => [b.outcome, b.ended, b.end - T0])).toEqual([
      ['running', false, 1000],
      ['waiting', false, 1000],
    ]);
    // The worker comes from job.started when the assignment is not in the history.
    expect(bars[0]!.workerId).toBe('w-1');
    expect(timeline.end).toBe(T0 + 1000);
  });

  it('puts overlapping jobs of one step (replicas) in lanes of their own', () => {
    const r1 = { stepId: 'a', jobId: 'r1', attempt: 1 };
    const r2 = { stepId: 'a', jobId: 'r2', attempt: 1 };
    const events = [
      event(0, 'job.queued', r1),
      event(0, 'job.queued', r2),
      event(100, 'job.completed', r1),
      event(150, 'job.completed', r2),
      event(200, 'job.queued', a2),
      event(300, 'job.expired', a2, { data: { error: { code: 'lease_expired' } } }),
    ];
    const [row] = buildTimeline(events, T0 + 1000).rows;
    expect(row!.lanes).toBe(2);
    expect(row!.bars.map((b) => [b.jobId, b.lane, b.outcome])).toEqual([
      ['r1', 0, 'completed'],
      ['r2', 1, 'completed'],
      ['j2', 0, 'expired'],
    ]);
    expect(row!.bars[2]!.error).toEqual({ code: 'lease_expired', message: '' });
  });

  it('orders rows as the page lists the steps, and leaves out steps without jobs', () => {
    const events = [event(0, 'job.queued', a1), event(5, 'job.queued', b1), event(6, 'job.cancelled', b1)];
    const timeline = buildTimeline(events, T0 + 100, ['b', 'c', 'a']);
    expect(timeline.rows.map((r) => r.stepId)).toEqual(['b', 'a']);
    expect(timeline.rows[0]!.bars[0]!.outcome).toBe('cancelled');
  });

  it('is empty before any job, and ignores events it cannot place', () => {
    expect(buildTimeline([], T0)).toEqual({ rows: [], start: T0, end: T0 });
    const odd = [event(0, 'execution.started'), { ...event(0, 'job.queued', a1), at: 'not a time' }];
    expect(buildTimeline(odd, T0).rows).toEqual([]);
  });

  it('places times along the axis and picks round ticks', () => {
    const span = { start: 1000, end: 2000 };
    expect(position(span, 1000)).toBe(0);
    expect(position(span, 1500)).toBe(50);
    expect(position(span, 5000)).toBe(100);
    expect(position({ start: 5, end: 5 }, 5)).toBe(0);
    expect(ticks(1000)).toEqual([0, 200, 400, 600, 800, 1000]);
    expect(ticks(95_000, 5)).toEqual([0, 20_000, 40_000, 60_000, 80_000]);
    expect(ticks(0)).toEqual([0]);
  });

  it('writes durations and describes an attempt in one line', () => {
    expect(duration(250)).toBe('250 ms');
    expect(duration(2500)).toBe('2.5 s');
    expect(duration(42_000)).toBe('42 s');
    expect(duration(120_000)).toBe('2 min');
    expect(duration(125_000)).toBe('2 min 5 s');
    const [row] = buildTimeline(
      [
        event(0, 'job.queued', a1),
        event(1500, 'job.failed', a1, { actor: 'worker:w', data: { error: { code: 'x', message: 'bad' } } }),
      ],
      T0,
    ).rows;
    expect(describeAttempt('a', row!.bars[0]!, (ms) => String(ms - T0))).toBe(
      'a attempt 1: failed · worker w · queued 0 · ended 1500 (1.5 s) · error x: bad',
    );
  });
});
