import { describe, expect, it } from 'vitest';
import { jsonDigest } from '../../../src/attest/digest.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, useTestNode, transform } from '../../support/node.js';

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`linear workflows (${kind})`, () => {
    const t = useTestNode(kind, 'linear');

    it('runs a five-step chain through mappings to its declared outputs', async () => {
      const view = await t.run(
        {
          id: 'chain',
          steps: [
            transform('upper', '$uppercase(text)', { input_mappings: { text: 'inputs.text' } }),
            transform('words', "$split(text, ' ')", { input_mappings: { text: 'steps.upper.output' } }),
            echo('model', { input_mappings: { words: 'steps.words.output', n: '$count(steps.words.output)' } }),
            transform('first', 'words[0]', { input_mappings: { words: 'steps.model.output.words' } }),
            transform('report', "first & ' +' & $string(n - 1)", {
              input_mappings: { first: 'steps.first.output', n: 'steps.model.output.n' },
            }),
          ],
          outputs: { report: 'steps.report.output', count: 'steps.model.output.n' },
        },
        { text: 'hello durable world' },
      );
      expect(view.status).toBe('completed');
      expect(view.result).toEqual({ report: 'HELLO +2', count: 3 });
      expect(view.steps.map((s) => [s.id, s.status, s.attempts])).toEqual([
        ['upper', 'completed', 1],
        ['words', 'completed', 1],
        ['model', 'completed', 1],
        ['first', 'completed', 1],
        ['report', 'completed', 1],
      ]);
      // Each step starts after the one before it ends.
      for (let i = 1; i < view.steps.length; i++) {
        expect(Date.parse(view.steps[i]!.startedAt!)).toBeGreaterThanOrEqual(
          Date.parse(view.steps[i - 1]!.finishedAt!),
        );
      }
      const execution = (await t.node.store.read.getExecution(view.executionId))!;
      expect(execution.resultDigest).toBe(jsonDigest(view.result));
      expect(execution.inputDigest).toBe(jsonDigest({ text: 'hello durable world' }));
    });

    it('passes data without mappings: inputs to a root, the output of a single dependency, an object of several', async () => {
      const view = await t.run(
        {
          id: 'defaults',
          steps: [
            echo('a'),
            echo('b', { depends_on: ['a'] }),
            echo('c', { depends_on: ['a'] }),
            echo('d', { depends_on: ['b', 'c'] }),
          ],
        },
        { x: 1 },
      );
      expect(view.status).toBe('completed');
      // No outputs declared: the result is the last step's output.
      expect(view.result).toEqual({ b: { x: 1 }, c: { x: 1 } });
    });

    it('records every transition in the events history, in order', async () => {
      const view = await t.run({ id: 'two', steps: [echo('a'), echo('b', { depends_on: ['a'] })] }, { v: 1 });
      const types = (await t.node.store.read.listEvents(view.executionId, 0, 100)).map(
        (e) => `${e.type}${e.stepId ? ` ${e.stepId}` : ''}`,
      );
      expect(types).toEqual([
        'execution.started',
        'job.queued a',
        'job.assigned a',
        'job.started a',
        'job.completed a',
        'step.completed a',
        'job.queued b',
        'job.assigned b',
        'job.started b',
        'job.completed b',
        'step.completed b',
        'execution.completed',
        'receipt.issued',
      ]);
    });

    it('rejects inputs that do not match the workflow input schema, naming the field', async () => {
      await expect(
        t.start(
          {
            id: 'typed',
            inputs: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } },
            steps: [echo('a')],
          },
          { text: 5 },
        ),
      ).rejects.toThrow(/inputs\.text: must be string/);
      await expect(
        t.start({ id: 'typed', inputs: { type: 'object', required: ['text'] }, steps: [echo('a')] }, {}),
      ).rejects.toThrow(/inputs\.text: required/);
      expect(await t.node.store.read.listExecutions({})).toEqual([]);
    });

    it('returns the same execution for the same idempotency key', async () => {
      const definition = { id: 'idem', steps: [echo('a')] };
      const first = await t.start(definition, { n: 1 }, { idempotencyKey: 'k-1' });
      const again = await t.start(definition, { n: 1 }, { idempotencyKey: 'k-1' });
      const other = await t.start(definition, { n: 1 }, { idempotencyKey: 'k-2' });
      const otherClient = await t.start(definition, { n: 1 }, { idempotencyKey: 'k-1', clientId: 'someone-else' });
      expect(again.id).toBe(first.id);
      expect(other.id).not.toBe(first.id);
      expect(otherClient.id).not.toBe(first.id);
      await Promise.all([first, other, otherClient].map((e) => t.node.waitFor(e.id)));
    });

    it('concurrent starts with one idempotency key all get the one execution', async () => {
      const definition = { id: 'idem-race', steps: [echo('a')] };
      await t.register(definition);
      const started = await Promise.all(
        Array.from({ length: 8 }, () => t.start(definition, { n: 1 }, { idempotencyKey: 'race' })),
      );
      expect(new Set(started.map((e) => e.id)).size).toBe(1);
      expect(await t.node.store.read.listExecutions({ workflowId: 'idem-race' })).toHaveLength(1);
      await t.node.waitFor(started[0]!.id);
    });
  });
}
