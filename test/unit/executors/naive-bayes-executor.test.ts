import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BlobRef } from '../../../src/blobs/blob-ref.js';
import type { ExecutorContext, ExecutorJob } from '../../../src/executors/executor.js';
import { NaiveBayesExecutor } from '../../../src/executors/training/trainer-executor.js';
import type { TrainingOutput } from '../../../src/executors/training/trainer-executor.js';

/** A context whose blobs live in a map, as a worker's would in its blob store. */
function memoryContext(): ExecutorContext & { stored: Map<string, Buffer> } {
  const stored = new Map<string, Buffer>();
  return {
    stored,
    signal: new AbortController().signal,
    blobs: {
      get(ref: BlobRef | string) {
        const digest = typeof ref === 'string' ? ref : ref.$blob;
        const bytes = stored.get(digest);
        return bytes ? Promise.resolve(bytes) : Promise.reject(new Error(`no blob ${digest}`));
      },
      put(bytes: Uint8Array, mediaType: string) {
        const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
        stored.set(digest, Buffer.from(bytes));
        return Promise.resolve({ $blob: digest, size: bytes.length, mediaType });
      },
    },
  };
}

const job = (stepType: ExecutorJob['stepType'], input: unknown): ExecutorJob => ({
  jobId: 'j',
  executionId: 'e',
  stepId: 's',
  attempt: 1,
  stepType,
  spec: { workflowDigest: '0'.repeat(64), stepType, model: { name: 'verity/naive-bayes' } },
  input,
  maxCost: 0,
  deadlineAt: Date.now() + 60_000,
});

const examples = [
  ...['pay the invoice', 'invoice due now', 'invoice attached', 'the invoice total'].map((text) => ({
    text,
    label: 'invoice',
  })),
  ...['win a free prize', 'free cash now', 'claim your free prize', 'win cash'].map((text) => ({
    text,
    label: 'spam',
  })),
];

describe('NaiveBayesExecutor', () => {
  it('trains into a canonical blob and classifies with it, reporting the blob digest as the model digest', async () => {
    const executor = new NaiveBayesExecutor();
    const context = memoryContext();
    const trained = await executor.run(job('training', { examples, seed: 5, test_fraction: 0.25 }), context);
    const output = trained.output as TrainingOutput;
    expect(output.metrics).toMatchObject({ train_size: 6, test_size: 2 });
    expect(trained.model).toEqual({ name: 'verity/naive-bayes', version: '1' });
    const again = await executor.run(job('training', { examples, seed: 5, test_fraction: 0.25 }), context);
    expect((again.output as TrainingOutput).model).toEqual(output.model);

    const one = await executor.run(job('inference', { model: output.model, text: 'free prize inside' }), context);
    expect(one.output).toMatchObject({ label: 'spam' });
    expect(one.model).toEqual({ name: 'verity/naive-bayes', version: '1', digest: output.model.$blob.slice(7) });
    const many = await executor.run(
      job('inference', { model: output.model.$blob, texts: ['invoice total due', 'win free cash'] }),
      context,
    );
    expect((many.output as { results: { label: string }[] }).results.map((r) => r.label)).toEqual(['invoice', 'spam']);
  });

  it('refuses a data_processing step and a blob of the wrong media type', async () => {
    const executor = new NaiveBayesExecutor();
    const context = memoryContext();
    await expect(executor.run(job('data_processing', {}), context)).rejects.toMatchObject({
      code: 'invalid_step',
      retryable: false,
    });
    const ref = await context.blobs.put(Buffer.from('{}'), 'application/json');
    await expect(executor.run(job('inference', { model: ref, text: 'x' }), context)).rejects.toMatchObject({
      code: 'invalid_input',
      retryable: false,
      message: expect.stringMatching(/input field model names a blob of type application\/json/) as unknown,
    });
  });
});
