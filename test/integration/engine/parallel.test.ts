import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, overlaps, sleepStep, useTestNode, transform } from '../../support/node.js';

/** The most steps whose [startedAt, finishedAt) intervals overlap at one moment. */
function maxParallel(steps: { startedAt?: string; finishedAt?: string }[]): number {
  const points = steps.flatMap((s) => [
    [Date.parse(s.startedAt!), 1],
    [Date.parse(s.finishedAt!), -1],
  ]);
  points.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (now += d!));
  return max;
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`DAG scheduling (${kind})`, () => {
    const t = useTestNode(kind, 'dag');

    it('runs independent branches in parallel and joins them', async () => {
      const view = await t.run({
        id: 'branches',
        steps: [
          echo('root'),
          sleepStep('left', 300, { depends_on: ['root'] }),
          sleepStep('right', 300, { depends_on: ['root'] }),
          transform('join', "'joined'", { depends_on: ['left', 'right'] }),
        ],
      });
      expect(view.status).toBe('completed');
      const [, left, right, join] = view.steps;
      expect(overlaps(left!, right!)).toBe(true);
      expect(Date.parse(join!.startedAt!)).toBeGreaterThanOrEqual(
        Math.max(Date.parse(left!.finishedAt!), Date.parse(right!.finishedAt!)),
      );
    });

    it('runs a diamond of diamonds in dependency order', async () => {
      const view = await t.run({
        id: 'diamonds',
        steps: [
          echo('a'),
          echo('b1', { depends_on: ['a'] }),
          echo('b2', { depends_on: ['a'] }),
          echo('c', { depends_on: ['b1', 'b2'] }),
          echo('d1', { depends_on: ['c'] }),
          echo('d2', { depends_on: ['c'] }),
          echo('e', { depends_on: ['d1', 'd2', 'a'] }),
        ],
      });
      expect(view.status).toBe('completed');
      const at = new Map(view.steps.map((s) => [s.id, s]));
      const after = (x: string, y: string) => Date.parse(at.get(x)!.startedAt!) >= Date.parse(at.get(y)!.finishedAt!);
      expect(after('c', 'b1') && after('c', 'b2') && after('e', 'd1') && after('e', 'd2') && after('d1', 'c')).toBe(
        true,
      );
    });

    it('never runs more steps of one execution at once than its concurrency', async () => {
      const view = await t.run({
        id: 'limited',
        concurrency: 3,
        steps: Array.from({ length: 10 }, (_, i) => sleepStep(`s${i}`, 80)),
      });
      expect(view.status).toBe('completed');
      const parallel = maxParallel(view.steps);
      expect(parallel).toBeLessThanOrEqual(3);
      expect(parallel).toBeGreaterThanOrEqual(2);
    });

    it('fans out 100 wide and fans back in', async () => {
      const width = 100;
      const view = await t.run(
        {
          id: 'wide',
          concurrency: 100,
          steps: [
            echo('source'),
            ...Array.from({ length: width }, (_, i) =>
              transform(`w${i}`, `n * ${i}`, { input_mappings: { n: 'steps.source.output.n' } }),
            ),
            transform('sum', '$sum(*)', { depends_on: Array.from({ length: width }, (_, i) => `w${i}`) }),
          ],
        },
        { n: 2 },
      );
      expect(view.status).toBe('completed');
      expect(view.result).toBe((2 * (width * (width - 1))) / 2);
      expect(view.steps.every((s) => s.attempts === 1)).toBe(true);
    });

    it('runs a 1,000-step DAG', async () => {
      // 50 levels of 20: each step reads one step of the level above, so the graph is deep and wide.
      const steps: Record<string, unknown>[] = [];
      for (let level = 0; level < 50; level++) {
        for (let i = 0; i < 20; i++) {
          const id = `l${level}_${i}`;
          steps.push(
            level === 0
              ? transform(id, `${i}`)
              : transform(id, 'x + 1', { input_mappings: { x: `steps.l${level - 1}_${(i + level) % 20}.output` } }),
          );
        }
      }
      steps.push(transform('total', '$sum(*)', { depends_on: Array.from({ length: 20 }, (_, i) => `l49_${i}`) }));
      const view = await t.run({ id: 'thousand', concurrency: 50, steps });
      expect(view.status).toBe('completed');
      expect(view.steps).toHaveLength(1001);
      // Level 0 holds 0..19; each level adds 1 to a permutation of them: 49 levels later, sum = 190 + 20 * 49.
      expect(view.result).toBe(190 + 20 * 49);
    });
  });
}
