import { afterAll, describe, expect, it } from 'vitest';
import { ProcessEvaluator } from '../../../src/expressions/node/process-evaluator.js';

/**
 * The expression sandbox as attackers would use it: a publisher's or a bundle's JSONata that allocates
 * without bound (through native built-ins that JSONata's own time check never sees), backtracks forever,
 * or returns more than anyone should store. The process running the tests is the process being protected:
 * if it survives and keeps answering, so does a server.
 */
const evaluator = new ProcessEvaluator({ name: 'attacked evaluator', processes: 2, timeoutMs: 1_000, memoryMb: 128 });
afterAll(() => evaluator.close());

const one = async (source: string, input: unknown = {}, timeoutMs?: number) =>
  (await evaluator.evaluate([source], input, timeoutMs === undefined ? {} : { timeoutMs }))[0]!;

describe('the process sandbox for expressions', () => {
  it('evaluates ordinary expressions, batched over one input, as plain JSON', async () => {
    const results = await evaluator.evaluate(
      ['$uppercase(inputs.name)', 'inputs.items.price', '$sum(inputs.items.price)', 'inputs.nothing'],
      {
        inputs: { name: 'ada', items: [{ price: 2 }, { price: 3 }] },
      },
    );
    expect(results).toEqual([
      { ok: true, value: 'ADA' },
      { ok: true, value: [2, 3] },
      { ok: true, value: 5 },
      { ok: true, value: undefined },
    ]);
  });

  it('stops an allocation that would end a process ($pad of 2e8) and stays usable', async () => {
    const before = process.memoryUsage().rss;
    // Time enough for a loaded machine to reach the heap limit, so it is memory that stops it.
    expect(await one('$length($pad("x", 200000000))', {}, 20_000)).toMatchObject({
      ok: false,
      error: { code: 'memory' },
    });
    expect(await one('$count([1..9999999]) + $count([1..9999999])')).toMatchObject({
      ok: false,
      error: { code: expect.stringMatching(/memory|timeout/) as unknown },
    });
    // The allocation happened elsewhere: this process did not grow by it.
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024);
    expect(await one('1 + 1')).toEqual({ ok: true, value: 2 });
  });

  it('stops a catastrophic regex at its time limit, not when the regex would end', async () => {
    const started = Date.now();
    expect(await one('$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)')).toMatchObject({
      ok: false,
      error: { code: 'timeout' },
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await one('"still" & " here"')).toEqual({ ok: true, value: 'still here' });
  });

  it('keeps this process responsive while an expression runs away', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    await one('$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)');
    clearInterval(timer);
    // About a second of waiting: the event loop ran all along.
    expect(ticks).toBeGreaterThan(30);
  });

  it('stops an endless JSONata loop with its own time check, and fails only that request', async () => {
    const [loop] = await evaluator.evaluate(['($f := function($n) { $f($n + 1) }; $f(0))'], {}, { timeoutMs: 300 });
    expect(loop).toMatchObject({ ok: false });
    expect(await one('2 * 21')).toEqual({ ok: true, value: 42 });
  });

  it('refuses a result larger than the limit', async () => {
    const small = new ProcessEvaluator({ maxResultBytes: 10_000, processes: 1 });
    try {
      expect((await small.evaluate(['$pad("", 20000, "x")'], {}))[0]).toMatchObject({
        ok: false,
        error: { code: 'too_large' },
      });
    } finally {
      await small.close();
    }
  });

  it('runs requests side by side, and one stopped request does not fail the others', async () => {
    const [slow, fast] = await Promise.all([
      one('$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)'),
      one('$string(6 * 7)'),
    ]);
    expect(slow).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(fast).toEqual({ ok: true, value: '42' });
  });

  it('says busy rather than queue without bound, and unavailable once closed', async () => {
    const tiny = new ProcessEvaluator({ processes: 1, maxQueue: 1 });
    const results = await Promise.all([1, 2, 3, 4].map((n) => tiny.evaluate([`${n} * 2`], {})));
    expect(results.flat().some((r) => !r.ok && r.error.code === 'busy')).toBe(true);
    expect(results.flat().some((r) => r.ok)).toBe(true);
    await tiny.close();
    expect(await tiny.evaluate(['1'], {})).toMatchObject([{ ok: false, error: { code: 'unavailable' } }]);
  });
});
