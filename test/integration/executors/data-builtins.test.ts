import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataBuiltinsExecutor } from '../../../src/executors/data/builtins-executor.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

const data = (id: string, model: string, input: Record<string, string>) => ({
  id,
  step_type: 'data_processing',
  model_requirements: { name: model },
  input_mappings: input,
  retry_policy: { max_attempts: 3, initial_backoff_ms: 0 },
});

describe('data/* built-ins through a real worker', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite', 'exec-data', {
      executors: [...defaultExecutors(), new DataBuiltinsExecutor()],
      workers: 2,
    });
  });
  afterAll(() => t.close());

  // Each step's input is the workflow input itself, so every case is one small workflow.
  const run = async (model: string, input: Record<string, unknown>) => {
    const definition = {
      id: 'single-builtin',
      version: 1,
      steps: [data('op', model, Object.fromEntries(Object.keys(input).map((k) => [k, `inputs.${k}`])))],
      outputs: { out: 'steps.op.output' },
    };
    return t.run(definition, input);
  };

  it('chunk, merge, filter and map a small data set in one pipeline', async () => {
    const definition = {
      id: 'data-pipeline',
      version: 1,
      steps: [
        data('chunk', 'data/chunk', { text: 'inputs.text', size: '40', overlap: '10' }),
        data('merge', 'data/merge', { lists: '[[inputs.orders_a], [inputs.orders_b]]' }),
        data('filter', 'data/filter', { items: 'steps.merge.output', field: "'customer.country'", in: "['DE', 'FR']" }),
        data('big', 'data/filter', { items: 'steps.filter.output.items', field: "'total'", min: '100' }),
        data('map', 'data/map', {
          items: 'steps.big.output.items',
          pick: "['id', 'total']",
          rename: "{ 'total': 'amount' }",
        }),
        data('settings', 'data/merge', { items: '[inputs.defaults, inputs.overrides]' }),
      ],
      outputs: {
        chunks: 'steps.chunk.output.chunks',
        orders: 'steps.map.output.items',
        settings: 'steps.settings.output',
      },
    };
    const view = await t.run(definition, {
      text: 'Verity runs workflows on untrusted workers. Every step is attested. Receipts can be verified offline by anyone.',
      orders_a: [
        { id: 1, total: 250, customer: { country: 'DE' } },
        { id: 2, total: 40, customer: { country: 'FR' } },
      ],
      orders_b: [
        { id: 3, total: 120, customer: { country: 'US' } },
        { id: 4, total: 990, customer: { country: 'FR' } },
      ],
      defaults: { retries: 3, region: 'eu', verbose: false },
      overrides: { verbose: true },
    });
    expect(view.status).toBe('completed');
    const result = view.result as { chunks: string[]; orders: unknown[]; settings: unknown };
    for (const chunk of result.chunks) expect(chunk.length).toBeLessThanOrEqual(40);
    expect(result.chunks[0]).toBe('Verity runs workflows on untrusted');
    expect(result.chunks.every((c) => !/\s{2}/.test(c))).toBe(true);
    expect(result.orders).toEqual([
      { id: 1, amount: 250 },
      { id: 4, amount: 990 },
    ]);
    expect(result.settings).toEqual({ retries: 3, region: 'eu', verbose: true });
  });

  it('fails bad input at once with invalid_input, naming the field', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['data/chunk', { text: 'abc', size: 0 }, /data\/chunk: input field size must be an integer/],
      ['data/chunk', { text: 'abc', size: 10, overlap: 10 }, /input field overlap must be an integer from 0 to 9/],
      ['data/merge', { items: [{ a: 1 }, 'x'] }, /data\/merge: input field items\[1\] must be an object/],
      ['data/filter', { items: [], field: 'x' }, /input field equals or in, min or max is needed/],
      ['data/filter', { items: [{ x: 1 }], field: 'x', min: 'low' }, /input field min must be a number/],
      ['data/map', { items: [{ a: 1 }], pick: 'a' }, /data\/map: input field pick must be an array/],
    ];
    for (const [model, input, message] of cases) {
      const view = await run(model, input);
      expect(view.status, model).toBe('failed');
      const step = view.steps[0]!;
      expect(step.attempts).toBe(1);
      expect(step.error).toMatchObject({ code: 'invalid_input', retryable: false });
      expect(step.error!.message).toMatch(message);
    }
  });
});
