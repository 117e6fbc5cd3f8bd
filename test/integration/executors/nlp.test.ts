import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../../src/attest/bytes.js';
import { envelopePayload } from '../../../src/attest/dsse.js';
import type { StepPredicate } from '../../../src/attest/statement.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import type { TextAnalysis } from '../../../src/executors/inference/nlp/analyze.js';
import { WinkNlpExecutor } from '../../../src/executors/inference/nlp/wink-executor.js';
import { loadWorkflowFile } from '../../../src/workflow/load.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

const EXAMPLE = new URL('../../../examples/review-sentiment/', import.meta.url);

const analyse = (input: Record<string, string>) => ({
  id: 'analyse',
  version: 1,
  steps: [
    {
      id: 'nlp',
      step_type: 'inference',
      model_requirements: { name: 'wink-nlp' },
      input_mappings: input,
      retry_policy: { max_attempts: 3, initial_backoff_ms: 0 },
    },
  ],
  outputs: { analysis: 'steps.nlp.output' },
});

describe('wink-nlp through a real worker', () => {
  let t: TestNode;
  const executor = new WinkNlpExecutor();
  beforeAll(async () => {
    await executor.prepare();
    t = await startTestNode('sqlite', 'exec-nlp', { executors: [executor, ...defaultExecutors()], workers: 2 });
  });
  afterAll(() => t.close());

  it('advertises the digest of the model package once prepared', () => {
    expect(executor.capabilities.modelDigests?.['wink-nlp']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds MONEY and DATE in an invoice-like sentence, and splits sentences', async () => {
    const text = 'Invoice #4411: please pay $1,250.00 by March 3, 2024. Contact billing@acme.com with questions.';
    const view = await t.run(analyse({ text: 'inputs.text' }), { text });
    expect(view.status).toBe('completed');
    const analysis = (view.result as { analysis: TextAnalysis }).analysis;
    expect(analysis.sentences).toEqual([
      'Invoice #4411: please pay $1,250.00 by March 3, 2024.',
      'Contact billing@acme.com with questions.',
    ]);
    expect(analysis.entities).toContainEqual({ value: '$1,250.00', type: 'MONEY' });
    expect(analysis.entities.some((e) => e.type === 'DATE')).toBe(true);
    expect(analysis.entities).toContainEqual({ value: 'billing@acme.com', type: 'EMAIL' });
    expect(analysis.tokens).toBeGreaterThan(10);

    const [result] = await t.node.store.read.getStepResults(view.executionId, ['nlp']);
    const predicate = (JSON.parse(fromUtf8(envelopePayload(result!.attestation!))) as { predicate: StepPredicate })
      .predicate;
    const pkg = JSON.parse(
      readFileSync(new URL('../../../node_modules/wink-eng-lite-web-model/package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(predicate.model).toEqual({
      name: 'wink-nlp',
      version: pkg.version,
      digest: executor.capabilities.modelDigests!['wink-nlp'],
    });
  });

  it('scores an obviously positive review above zero and a negative one below, in one batched step', async () => {
    const texts = [
      'I love this kettle, it is excellent and works great.',
      'Terrible toaster. It broke after two days and I want a refund.',
    ];
    const view = await t.run(analyse({ texts: 'inputs.texts' }), { texts });
    const { results } = (view.result as { analysis: { results: TextAnalysis[] } }).analysis;
    expect(results).toHaveLength(2);
    expect(results[0]!.sentiment).toBeGreaterThan(0);
    expect(results[1]!.sentiment).toBeLessThan(0);
    // Rounded to 3 decimals.
    for (const r of results) expect(Math.round(r.sentiment * 1000) / 1000).toBe(r.sentiment);
  });

  it('fails bad input at once, naming the field', async () => {
    const cases: [string, string, RegExp][] = [
      ['text', '42', /input field text must be a string/],
      ['texts', "['ok', 3]", /input field texts\[1\] must be a string/],
    ];
    for (const [field, mapping, message] of cases) {
      const view = await t.run(analyse({ [field]: mapping }));
      expect(view.status).toBe('failed');
      expect(view.steps[0]!.attempts).toBe(1);
      expect(view.steps[0]!.error).toMatchObject({ code: 'invalid_input', retryable: false });
      expect(view.steps[0]!.error!.message).toMatch(message);
    }
    const neither = await t.run(analyse({ words: "'hello'" }));
    expect(neither.steps[0]!.error).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/field text .*or texts/) as unknown,
    });
  });

  it('runs the review-sentiment example end to end', async () => {
    const { definition } = await loadWorkflowFile(new URL('workflow.yaml', EXAMPLE).pathname);
    const input = JSON.parse(readFileSync(new URL('input.json', EXAMPLE), 'utf8')) as unknown;
    const view = await t.run(definition, input);
    expect(view.status).toBe('completed');
    const { products } = view.result as {
      products: {
        product: string;
        count: number;
        average_sentiment: number;
        most_negative: { text: string; sentiment: number };
      }[];
    };
    expect(products.map((p) => [p.product, p.count])).toEqual([
      ['kettle', 3],
      ['toaster', 3],
      ['blender', 2],
    ]);
    const byName = Object.fromEntries(products.map((p) => [p.product, p]));
    expect(byName.toaster!.most_negative.text).toMatch(/^Terrible toaster/);
    expect(byName.blender!.most_negative.text).toMatch(/jar cracked/);
    expect(byName.kettle!.most_negative.text).toMatch(/leaks/);
    for (const p of products) {
      expect(p.most_negative.sentiment).toBeLessThan(0);
      expect(p.average_sentiment).toBeGreaterThanOrEqual(p.most_negative.sentiment);
    }
  });
});
