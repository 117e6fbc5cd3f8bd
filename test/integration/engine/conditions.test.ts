import { describe, expect, it } from 'vitest';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, useTestNode, transform } from '../../support/node.js';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`conditions (${kind})`, () => {
    const t = useTestNode(kind, 'when');

    const routing = {
      id: 'routing',
      steps: [
        transform('size', "n > 10 ? 'big' : 'small'", { input_mappings: { n: 'inputs.n' } }),
        echo('big_path', { when: "steps.size.output = 'big'", input_mappings: { n: 'inputs.n' } }),
        echo('after_big', { depends_on: ['big_path'] }),
        echo('small_path', { when: "steps.size.output = 'small'", input_mappings: { n: 'inputs.n' } }),
        transform('decide', '{ "big": big, "small": small }', {
          depends_on: ['after_big', 'small_path'],
          when: 'true',
          input_mappings: { big: 'steps.after_big.status', small: 'steps.small_path.status' },
        }),
      ],
    };

    it('skips a step whose condition is false, and the steps below it', async () => {
      const view = await t.run(routing, { n: 3 });
      expect(view.status).toBe('completed');
      const status = Object.fromEntries(view.steps.map((s) => [s.id, s.status]));
      expect(status).toEqual({
        size: 'completed',
        big_path: 'skipped',
        after_big: 'skipped',
        small_path: 'completed',
        decide: 'completed',
      });
      expect(view.steps.find((s) => s.id === 'after_big')!.skipReason).toMatch(/upstream step big_path was skipped/);
      expect(view.steps.find((s) => s.id === 'after_big')!.attempts).toBe(0);
      // The step with its own `when` ran, and saw the statuses of the skipped and completed steps.
      expect(view.result).toEqual({ big: 'skipped', small: 'completed' });
    });

    it('takes the other branch for other inputs', async () => {
      const view = await t.run(routing, { n: 30 });
      const status = Object.fromEntries(view.steps.map((s) => [s.id, s.status]));
      expect(status).toEqual({
        size: 'completed',
        big_path: 'completed',
        after_big: 'completed',
        small_path: 'skipped',
        decide: 'completed',
      });
      expect(view.result).toEqual({ big: 'completed', small: 'skipped' });
    });

    it('completes with a null result when the last step is skipped', async () => {
      const view = await t.run({ id: 'all-skipped', steps: [echo('a', { when: 'false' })] });
      expect(view.status).toBe('completed');
      expect(view.result).toBeNull();
    });

    it('fails the execution when a condition cannot be evaluated', async () => {
      const view = await t.run({
        id: 'bad-when',
        steps: [echo('a'), echo('b', { depends_on: ['a'], when: '$error("no way")' })],
      });
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({ code: 'condition_failed', stepId: 'b' });
      expect(view.error!.message).toMatch(/no way/);
    });

    it('fails the execution when input mappings cannot be evaluated, without running the step', async () => {
      const view = await t.run({
        id: 'bad-map',
        steps: [echo('a', { input_mappings: { x: '$error("broken mapping")' } })],
      });
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({ code: 'input_mapping_failed', stepId: 'a' });
      expect(view.steps[0]).toMatchObject({ status: 'failed', attempts: 0 });
    });
  });
}
