import { describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../../../src/expressions/evaluator.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, startTestNode, transform, useTestNode } from '../../support/node.js';

/**
 * A publisher's expressions as weapons against the node that runs them: conditions, input mappings,
 * transforms, output mappings and outputs built to exhaust memory or time. Each must fail its own step or
 * execution with an error that says what happened, and leave the node, its other executions and its store
 * untouched (no expression runs inside a transaction, so nothing waits on one).
 */
const PAD_BOMB = "$length($pad('x', 200000000)) > 0";
const REDOS = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`hostile expressions (${kind})`, () => {
    const t = useTestNode(kind, 'hostile-expressions');

    it('fails an execution whose condition runs out of memory, and keeps working', async () => {
      const view = await t.run({
        id: 'pad-when',
        steps: [echo('a'), echo('b', { depends_on: ['a'], when: PAD_BOMB })],
      });
      expect(view.status).toBe('failed');
      // Out of memory, or out of time on a busy machine before the heap fills: stopped either way.
      expect(view.error).toMatchObject({
        code: 'condition_failed',
        stepId: 'b',
        message: expect.stringMatching(/out of memory|ran longer/) as unknown,
      });
      expect((await t.run({ id: 'after', steps: [echo('a')] })).status).toBe('completed');
    });

    it('fails an input mapping that backtracks forever at its time limit', async () => {
      const started = Date.now();
      const view = await t.run({ id: 'redos-mapping', steps: [echo('a', { input_mappings: { v: REDOS } })] });
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({
        code: 'input_mapping_failed',
        message: expect.stringMatching(/ran longer than its 1000 ms/) as unknown,
      });
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('holds no transaction while an expression runs: other executions go on meanwhile', async () => {
      // A node whose expressions may run for 5 s: the slow mapping is still evaluating, whatever the load on
      // the machine, when the quick execution must already have completed. (A wall-clock bound would measure
      // the machine instead.)
      const patient = await startTestNode(kind, 'hostile-expressions-patient', { expressionTimeoutMs: 5_000 });
      try {
        const slow = await patient.start({ id: 'slow-mapping', steps: [echo('a', { input_mappings: { v: REDOS } })] });
        const quick = await patient.run(
          { id: 'quick', steps: [echo('a', { input_mappings: { v: 'inputs.v' } }), echo('b', { depends_on: ['a'] })] },
          { v: 1 },
        );
        expect(quick.status).toBe('completed');
        expect((await patient.node.store.read.getExecution(slow.id))?.status).toBe('running');
      } finally {
        await patient.close();
      }
    });

    it('fails a transform that allocates without bound, without retrying it', async () => {
      const view = await t.run({
        id: 'pad-transform',
        steps: [transform('x', "$pad('x', 200000000)", { retry_policy: { max_attempts: 3, initial_backoff_ms: 10 } })],
      });
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({
        code: 'expression_failed',
        message: expect.stringMatching(/out of memory|ran longer/) as unknown,
      });
      expect(view.steps[0]).toMatchObject({ status: 'failed', attempts: 1 });
    });

    it('fails an output mapping that allocates without bound', async () => {
      const view = await t.run({
        id: 'pad-output-mapping',
        steps: [echo('a', { output_mappings: { big: "$pad('x', 200000000)" } })],
      });
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({
        code: 'output_mapping_failed',
        message: expect.stringMatching(/out of memory|ran longer/) as unknown,
      });
    });

    it('fails an execution whose outputs backtrack forever, after every step completed', async () => {
      const view = await t.run({ id: 'redos-outputs', steps: [echo('a')], outputs: { r: REDOS } });
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({
        code: 'output_mapping_failed',
        message: expect.stringMatching(/ran longer/) as unknown,
      });
      expect(view.steps[0]!.status).toBe('completed');
    });

    it('evaluates each condition once, however long its step waits for a slot', async () => {
      const evaluator = t.node.expressions;
      const evaluate = evaluator.evaluate.bind(evaluator);
      const seen: string[] = [];
      evaluator.evaluate = (
        sources: readonly string[],
        input: unknown,
        options?: { timeoutMs?: number },
      ): Promise<EvaluationResult[]> => {
        seen.push(...sources);
        return evaluate(sources, input, options);
      };
      try {
        const steps = Array.from({ length: 6 }, (_, i) =>
          echo(`s${i}`, {
            depends_on: ['root'],
            when: `steps.root.output.n > ${i - 10}`,
            input_mappings: { i: `${i} * 1` },
          }),
        );
        const view = await t.run(
          {
            id: 'decided-once',
            concurrency: 1,
            steps: [echo('root', { input_mappings: { n: 'inputs.n' } }), ...steps],
          },
          { n: 1 },
        );
        expect(view.status).toBe('completed');
        for (let i = 0; i < 6; i++) expect(seen.filter((s) => s === `steps.root.output.n > ${i - 10}`)).toHaveLength(1);
      } finally {
        evaluator.evaluate = evaluate;
      }
    });
  });
}
