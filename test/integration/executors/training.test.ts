import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../../src/attest/bytes.js';
import { envelopePayload } from '../../../src/attest/dsse.js';
import type { StepPredicate } from '../../../src/attest/statement.js';
import type { BlobRef } from '../../../src/blobs/blob-ref.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import type { Metrics } from '../../../src/executors/training/metrics.js';
import { NAIVE_BAYES_MEDIA_TYPE } from '../../../src/executors/training/naive-bayes.js';
import { NaiveBayesExecutor } from '../../../src/executors/training/trainer-executor.js';
import { loadWorkflowFile } from '../../../src/workflow/load.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

const EXAMPLE = new URL('../../../examples/train-and-classify/', import.meta.url);
const data = JSON.parse(readFileSync(new URL('input.json', EXAMPLE), 'utf8')) as {
  examples: { text: string; label: string }[];
  new_texts: string[];
  seed: number;
};

const trainStep = (input: Record<string, string>) => ({
  id: 'train',
  step_type: 'training',
  model_requirements: { name: 'verity/naive-bayes' },
  input_mappings: input,
  retry_policy: { max_attempts: 3, initial_backoff_ms: 0 },
});

const trainOnly = {
  id: 'train-only',
  version: 1,
  steps: [trainStep({ examples: 'inputs.examples', seed: 'inputs.seed' })],
  outputs: {
    model: 'steps.train.output.model',
    metrics: 'steps.train.output.metrics',
    labels: 'steps.train.output.labels',
  },
};

type Trained = { model: BlobRef; metrics: Metrics; labels: string[] };

function predicateOf(envelope: Parameters<typeof envelopePayload>[0]): StepPredicate {
  return (JSON.parse(fromUtf8(envelopePayload(envelope))) as { predicate: StepPredicate }).predicate;
}

describe('verity/naive-bayes through a real worker', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite', 'exec-training', {
      executors: [...defaultExecutors(), new NaiveBayesExecutor()],
      workers: 2,
    });
  });
  afterAll(() => t.close());

  it('trains on the example data and beats 0.8 accuracy on its held-out split; the same seed gives the same model digest', async () => {
    const first = await t.run(trainOnly, { examples: data.examples, seed: data.seed });
    expect(first.status).toBe('completed');
    const trained = first.result as Trained;
    expect(trained.model).toMatchObject({
      $blob: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as unknown,
      mediaType: NAIVE_BAYES_MEDIA_TYPE,
    });
    expect(trained.labels).toEqual(['invoice', 'spam', 'support_request']);
    expect(trained.metrics.train_size + trained.metrics.test_size).toBe(60);
    expect(trained.metrics.test_size).toBe(12);
    expect(trained.metrics.accuracy).toBeGreaterThanOrEqual(0.8);
    for (const label of trained.labels) expect(trained.metrics.per_label[label]!.f1).toBeGreaterThanOrEqual(0.6);

    const again = await t.run(trainOnly, { examples: data.examples, seed: data.seed });
    expect((again.result as Trained).model).toEqual(trained.model);
    // The blob is exactly the canonical JSON of the model.
    const bytes = await t.node.blobs.get(trained.model.$blob);
    expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({ format: 'verity/naive-bayes', labels: trained.labels });

    const other = await t.run(trainOnly, { examples: data.examples, seed: data.seed + 1 });
    expect(other.status).toBe('completed');
    // Another seed holds out other examples, so (almost surely) another model; here, certainly.
    expect((other.result as Trained).model.$blob).not.toBe(trained.model.$blob);
  });

  it('runs the train-and-classify example end to end; the inference attestation records the trained model digest', async () => {
    const { definition } = await loadWorkflowFile(new URL('workflow.yaml', EXAMPLE).pathname);
    const view = await t.run(definition, data);
    expect(view.status).toBe('completed');
    const result = view.result as {
      summary: { held_out_accuracy: number; predictions: { text: string; label: string }[] };
      model: BlobRef;
    };
    expect(result.summary.held_out_accuracy).toBeGreaterThanOrEqual(0.8);
    expect(result.summary.predictions.map((p) => p.label)).toEqual([
      'invoice',
      'support_request',
      'spam',
      'invoice',
      'support_request',
    ]);

    const [classify] = await t.node.store.read.getStepResults(view.executionId, ['classify']);
    expect(classify?.attestation).toBeDefined();
    const predicate = predicateOf(classify!.attestation!);
    // The executor reports the model it ran (ExecutorResult.model); the worker signs that into the statement.
    expect(predicate.model).toEqual({
      name: 'verity/naive-bayes',
      version: '1',
      digest: result.model.$blob.slice('sha256:'.length),
    });
  });

  it('fails bad input at once, naming the field', async () => {
    const cases: [unknown, RegExp][] = [
      [[{ text: 'a', label: 'x' }], /examples.*two different labels/],
      [
        [
          { text: 'a', label: 'x' },
          { text: 7, label: 'y' },
        ],
        /examples\[1\]\.text must be a string/,
      ],
      ['nope', /examples must be a non-empty array/],
    ];
    for (const [examples, message] of cases) {
      const view = await t.run(trainOnly, { examples, seed: 1 });
      expect(view.status).toBe('failed');
      const step = view.steps.find((s) => s.id === 'train')!;
      expect(step.attempts).toBe(1);
      expect(step.error).toMatchObject({ code: 'invalid_input', retryable: false });
      expect(step.error!.message).toMatch(message);
    }
    const badSeed = await t.run(trainOnly, { examples: data.examples, seed: -3 });
    expect(badSeed.steps[0]!.error).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/input field seed must be an integer/) as unknown,
    });
  });

  it('refuses a model that is not a trained naive Bayes model, naming the field', async () => {
    const classifyWith = (model: string) => ({
      id: 'classify-bad',
      version: 1,
      steps: [
        {
          id: 'make',
          step_type: 'inference',
          model_requirements: { name: 'builtin/echo' },
          input_mappings: { model: model },
        },
        {
          id: 'classify',
          step_type: 'inference',
          model_requirements: { name: 'verity/naive-bayes' },
          input_mappings: { model: 'steps.make.output.model', text: "'hello'" },
          retry_policy: { max_attempts: 3, initial_backoff_ms: 0 },
        },
      ],
    });
    const notAModel = await t.run(classifyWith("'not a model'"));
    expect(notAModel.status).toBe('failed');
    const step = notAModel.steps.find((s) => s.id === 'classify')!;
    expect(step.attempts).toBe(1);
    expect(step.error).toMatchObject({ code: 'invalid_input', retryable: false });
    expect(step.error!.message).toMatch(/input field model must be a trained model/);

    // A well-formed digest of bytes that are not a model: stored, readable, refused after parsing.
    const ref = await t.node.blobs.put(Buffer.from('{"format":"something-else"}'), 'application/json');
    // As an upload through the API would: the client that starts the execution may read it.
    await t.node.store.transaction((tx) =>
      tx.grantBlobs(
        [{ digest: ref.$blob, size: ref.size, mediaType: ref.mediaType, createdAt: Date.now() }],
        'test',
        Date.now(),
      ),
    );
    const wrong = await t.run(classifyWith(`'${ref.$blob}'`));
    expect(wrong.steps.find((s) => s.id === 'classify')!.error).toMatchObject({
      code: 'invalid_model',
      retryable: false,
      message: expect.stringMatching(
        /input field model is not a usable naive Bayes model: the model's format/,
      ) as unknown,
    });
  });
});
