import { describe, expect, it } from 'vitest';
import { duration, keepNewest, mergeRows, parseStatuses, shortId, toggleStatus } from '../../../web/src/lib/rows.js';
import type { Row } from '../../../web/src/lib/rows.js';

/** How the dashboard's executions list takes in the live list stream. */
describe('the dashboard executions list', () => {
  const row = (id: string, status: string, createdAt: string, updatedAt = createdAt, workflowId = 'w'): Row => ({
    executionId: id,
    workflowId,
    status,
    createdAt,
    updatedAt,
  });
  const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();

  it('keeps the newest row of each execution, whatever order they arrive in', () => {
    let known = keepNewest(new Map<string, Row>(), [row('a', 'running', T(1), T(2))]);
    known = keepNewest(known, [row('a', 'completed', T(1), T(5)), row('a', 'running', T(1), T(3))]);
    expect(known.get('a')?.status).toBe('completed');
    // A resumed stream repeating the same row changes nothing.
    known = keepNewest(known, [row('a', 'completed', T(1), T(5))]);
    expect(known.size).toBe(1);
  });

  it('updates rows in place and puts new matching executions on top of the first page only', () => {
    const page = [row('b', 'running', T(10)), row('a', 'running', T(5))];
    const streamed = keepNewest(new Map<string, Row>(), [
      row('a', 'completed', T(5), T(20)),
      row('c', 'running', T(30)),
      row('d', 'running', T(31), T(31), 'other'),
      row('old', 'running', T(1)),
    ]);
    const first = mergeRows(page, streamed, {}, true);
    expect(first.map((r) => [r.executionId, r.status])).toEqual([
      ['d', 'running'],
      ['c', 'running'],
      ['b', 'running'],
      ['a', 'completed'],
    ]);
    expect(mergeRows(page, streamed, { workflow: 'w' }, true).map((r) => r.executionId)).toEqual(['c', 'b', 'a']);
    expect(mergeRows(page, streamed, { status: ['completed'] }, true).map((r) => r.executionId)).toEqual(['b', 'a']);
    expect(mergeRows(page, streamed, {}, false).map((r) => r.executionId)).toEqual(['b', 'a']);
    // A streamed row older than the fetched one does not replace it.
    const stale = keepNewest(new Map<string, Row>(), [row('b', 'queued', T(10), T(9))]);
    expect(mergeRows([row('b', 'running', T(10), T(11))], stale, {}, true)[0]?.status).toBe('running');
  });

  it('filters by any of several statuses, and none means all', () => {
    const page = [row('c', 'cancelled', T(3)), row('b', 'failed', T(2)), row('a', 'completed', T(1))];
    const streamed = keepNewest(new Map<string, Row>(), [row('d', 'failed', T(4)), row('e', 'running', T(5))]);
    expect(mergeRows(page, streamed, { status: ['failed', 'cancelled'] }, true).map((r) => r.executionId)).toEqual([
      'd',
      'c',
      'b',
      'a',
    ]);
    expect(mergeRows([], streamed, { status: [] }, true).map((r) => r.executionId)).toEqual(['e', 'd']);
  });

  it('reads the status list of the URL: known ones in chip order, once each, unknown ones apart', () => {
    expect(parseStatuses(undefined)).toEqual({ known: [], unknown: [] });
    expect(parseStatuses('failed, running,failed,,nope')).toEqual({ known: ['running', 'failed'], unknown: ['nope'] });
    expect(toggleStatus(['failed'], 'running')).toEqual(['running', 'failed']);
    expect(toggleStatus(['running', 'failed'], 'running')).toEqual(['failed']);
  });

  it('shortens an id to its end, which differs between executions started together', () => {
    expect(shortId('01a24a74-4762-73ff-b468-f68dd6a34e86')).toBe('…d6a34e86');
    expect(shortId('01a24a74-4762-73ff-b468-000000000001')).not.toBe(shortId('01a24a74-4762-73ff-b468-f68dd6a34e86'));
    expect(shortId('abc')).toBe('abc');
  });

  it('writes durations in the units that matter', () => {
    expect(duration(undefined)).toBe('—');
    expect(duration(850)).toBe('850 ms');
    expect(duration(12_340)).toBe('12.3 s');
    expect(duration(245_000)).toBe('4 min 05 s');
    expect(duration(7_380_000)).toBe('2 h 03 min');
  });
});
