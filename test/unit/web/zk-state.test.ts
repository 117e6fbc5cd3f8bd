import { describe, expect, it } from 'vitest';
import { zkInFlight, zkState } from '../../../web/src/lib/zk-state.js';

/** How the execution page reads where the zk proofs of an execution stand. */
describe('the zk proving state', () => {
  const progress = (status: 'pending' | 'proving' | 'completed' | 'failed', done: number, total = 3) => ({
    status,
    circuit: 'c-1',
    batchesDone: done,
    batchesTotal: total,
  });

  it('follows the proof from queued to proving batch i of n to proved', () => {
    expect(zkState(progress('pending', 0), [], true, true)).toEqual({
      state: 'queued',
      done: 0,
      total: 3,
      circuit: 'c-1',
    });
    const proving = zkState(progress('proving', 1), [], true, true);
    expect(proving).toEqual({ state: 'proving', batch: 2, done: 1, total: 3, circuit: 'c-1' });
    expect(zkInFlight(proving)).toBe(true);
    // Batches are proven side by side: the last may be under way while the count says all but one.
    expect(zkState(progress('proving', 3), [], true, true)).toMatchObject({ batch: 3, done: 3 });
    const proved = zkState(progress('completed', 3), [{ type: 'zk.proved', data: { ms: 4200 } }], true, true);
    expect(proved).toEqual({ state: 'proved', total: 3, circuit: 'c-1', ms: 4200 });
    expect(zkInFlight(proved)).toBe(false);
  });

  it('shows why proving failed', () => {
    const failed = zkState(
      { ...progress('failed', 1), error: { code: 'unregistered_key', message: 'step a was signed by…' } },
      [],
      true,
      true,
    );
    expect(failed).toEqual({
      state: 'failed',
      code: 'unregistered_key',
      message: 'step a was signed by…',
      circuit: 'c-1',
    });
    expect(zkInFlight(failed)).toBe(false);
  });

  it('says when no proof will come, and waits for the end of a zk execution', () => {
    const events = [{ type: 'zk.unavailable', data: { reason: 'this coordinator has no zk setup' } }];
    expect(zkState(undefined, events, true, true)).toEqual({
      state: 'unavailable',
      reason: 'this coordinator has no zk setup',
    });
    expect(zkState(undefined, [{ type: 'zk.unavailable' }], false, true)).toEqual({
      state: 'unavailable',
      reason: 'no reason given',
    });
    expect(zkState(undefined, [], true, false)).toEqual({ state: 'after-end' });
    expect(zkState(undefined, [], true, true)).toEqual({ state: 'none' });
    expect(zkState(undefined, [], false, false)).toEqual({ state: 'none' });
  });
});
