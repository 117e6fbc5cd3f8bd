import { describe, expect, it } from 'vitest';
import { applyEvents, mergeEvents, stepStatusAfter } from '../../../web/src/lib/events.js';

/** How the dashboard turns an execution's event stream into step states and its history list. */
describe('the dashboard event stream', () => {
  const event = (seq: number, type: string, stepId?: string) => ({
    seq,
    type,
    at: '2026-01-01T00:00:00Z',
    ...(stepId !== undefined && { stepId }),
  });

  it('moves a step through its states as its events arrive', () => {
    expect(stepStatusAfter(event(1, 'job.queued', 'a'))).toBe('queued');
    expect(stepStatusAfter(event(2, 'job.started', 'a'))).toBe('running');
    expect(stepStatusAfter(event(3, 'step.completed', 'a'))).toBe('completed');
    expect(stepStatusAfter(event(4, 'step.failed', 'a'))).toBe('failed');
    expect(stepStatusAfter(event(5, 'step.retry_scheduled', 'a'))).toBe('queued');
    expect(stepStatusAfter(event(6, 'execution.completed'))).toBeUndefined();
    expect(stepStatusAfter(event(7, 'job.heartbeat', 'a'))).toBeUndefined();
    expect(
      applyEvents({ a: 'pending', b: 'pending' }, [
        event(1, 'job.queued', 'a'),
        event(2, 'job.started', 'a'),
        event(3, 'step.completed', 'a'),
        event(4, 'job.queued', 'b'),
      ]),
    ).toEqual({ a: 'completed', b: 'queued' });
  });

  it('keeps each event once and in order when a resumed stream repeats or overlaps', () => {
    const first = [event(1, 'execution.started'), event(2, 'job.queued', 'a')];
    // After a dropped connection the stream resumes from the last id: the last event may come again.
    const resumed = [event(2, 'job.queued', 'a'), event(3, 'job.started', 'a')];
    expect(mergeEvents(first, resumed).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(mergeEvents([event(5, 'x')], [event(4, 'y'), event(6, 'z')]).map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(mergeEvents([], [])).toEqual([]);
  });
});
