import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../../src/attest/bytes.js';
import { envelopePayload } from '../../../src/attest/dsse.js';
import type { StepPredicate } from '../../../src/attest/statement.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import type { Executor, ExecutorContext, ExecutorJob, ExecutorResult } from '../../../src/executors/executor.js';
import type { OcrOutput } from '../../../src/executors/inference/ocr/paddle-ocr-executor.js';
import { PaddleOcrExecutor } from '../../../src/executors/inference/ocr/paddle-ocr-executor.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

const INVOICE = readFileSync(new URL('../../../examples/document-intelligence/invoice.png', import.meta.url));
const dataUri = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;

const ocrWorkflow = (inputMappings: Record<string, string> = { image: 'inputs.image' }) => ({
  id: 'ocr-invoice',
  name: 'OCR an invoice',
  version: 1,
  // Retries allowed, so a failure after one attempt shows the error itself was non-retryable.
  steps: [
    {
      id: 'ocr',
      step_type: 'inference',
      model_requirements: { name: 'paddleocr' },
      input_mappings: inputMappings,
      retry_policy: { max_attempts: 3, initial_backoff_ms: 0 },
    },
  ],
});

function predicateOf(envelope: Parameters<typeof envelopePayload>[0]): StepPredicate {
  return (JSON.parse(fromUtf8(envelopePayload(envelope))) as { predicate: StepPredicate }).predicate;
}

/** Holds each job until it is stopped, then lets the OCR run with the aborted signal: shows the executor itself gives up. */
class HeldUntilStopped implements Executor {
  readonly name = 'held-paddleocr';
  readonly capabilities;
  readonly started: Promise<void>;
  outcome: Promise<ExecutorResult> | undefined;
  private markStarted!: () => void;

  constructor(private readonly inner: PaddleOcrExecutor) {
    this.capabilities = inner.capabilities;
    this.started = new Promise((resolve) => (this.markStarted = resolve));
  }

  async run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
    this.markStarted();
    await new Promise((resolve) => context.signal.addEventListener('abort', resolve, { once: true }));
    this.outcome = this.inner.run(job, context);
    return this.outcome;
  }
}

describe('paddleocr through a real worker', () => {
  // One executor for every node of the file: the ONNX sessions load once.
  const ocr = new PaddleOcrExecutor();
  let digest: string;
  let t: TestNode;
  // Inputs may name files here, as in a local CLI run (which allows its data directory); a server allows none.
  const files = mkdtempSync(join(tmpdir(), 'verity-ocr-files-'));
  beforeAll(async () => {
    await ocr.prepare();
    digest = ocr.capabilities.modelDigests!.paddleocr!;
    t = await startTestNode('sqlite', 'ocr', {
      executors: [ocr, ...defaultExecutors()],
      workers: 2,
      inputFileDir: files,
    });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(files, { recursive: true, force: true });
  });

  async function ocrResult(executionId: string) {
    const [result] = await t.node.store.read.getStepResults(executionId, ['ocr']);
    expect(result?.attestation).toBeDefined();
    return { output: result!.output as OcrOutput, predicate: predicateOf(result!.attestation!) };
  }

  function expectInvoice(output: OcrOutput): void {
    expect(output.text).toContain('INV-2024-0117');
    expect(output.text).toContain('$1,234.56');
    expect(output.text).toContain('Acme Supplies');
    expect(output.text.split('\n')).toEqual(output.lines.map((l) => l.text));
    // Reading order: the vendor first, the total last.
    expect(output.lines[0]!.text).toContain('Acme');
    expect(output.lines.at(-1)!.text).toContain('1,234.56');
    for (const line of output.lines) {
      expect(line.confidence).toBeGreaterThan(0.5);
      expect(line.confidence).toBeLessThanOrEqual(1);
      expect(line.box).toHaveLength(4);
      for (const [x, y] of line.box) {
        expect(Number.isInteger(x) && x >= 0 && x < 800).toBe(true);
        expect(Number.isInteger(y) && y >= 0 && y < 600).toBe(true);
      }
    }
  }

  it('reads the example invoice from a data URI and from a file in the directory a local run allows; the attestation records the model digest', async () => {
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const fromUri = await t.run(ocrWorkflow(), { image: dataUri(INVOICE) });
    expect(fromUri.status).toBe('completed');
    const first = await ocrResult(fromUri.executionId);
    expectInvoice(first.output);
    expect(first.predicate.model).toEqual({ name: 'paddleocr', version: null, digest });
    expect(first.predicate.executor).toBe('paddleocr');

    copyFileSync(
      new URL('../../../examples/document-intelligence/invoice.png', import.meta.url),
      join(files, 'invoice.png'),
    );
    const fromFile = await t.run(ocrWorkflow(), { image: 'invoice.png' });
    expect(fromFile.status).toBe('completed');
    const second = await ocrResult(fromFile.executionId);
    // The same pixels give the same reading, however they arrive.
    expect(second.output).toEqual(first.output);
    expect(second.predicate.model).toEqual({ name: 'paddleocr', version: null, digest });
  });

  it('reads the invoice as a JPEG as it does as a PNG', async () => {
    const png = PNG.sync.read(INVOICE);
    const jpeg = encodeJpeg({ width: png.width, height: png.height, data: png.data }, 92).data;
    expect([...jpeg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const view = await t.run(ocrWorkflow(), { image: dataUri(jpeg, 'image/jpeg') });
    expect(view.status).toBe('completed');
    expectInvoice((await ocrResult(view.executionId)).output);
  });

  it('reads an image stored as a blob, by reference', async () => {
    const ref = await t.node.blobs.put(INVOICE, 'image/png');
    // As an upload through the API would: the client that starts the execution may read it.
    await t.node.store.transaction((tx) =>
      tx.grantBlobs(
        [{ digest: ref.$blob, size: ref.size, mediaType: ref.mediaType, createdAt: Date.now() }],
        'test',
        Date.now(),
      ),
    );
    const view = await t.run(ocrWorkflow(), { image: ref });
    expect(view.status).toBe('completed');
    expect((await ocrResult(view.executionId)).output.text).toContain('$1,234.56');
  });

  it('fails bad input at once with a non-retryable error naming image', async () => {
    writeFileSync(join(files, 'notes.txt'), 'not an image');
    const cases: [Record<string, string>, unknown, RegExp][] = [
      [
        { image: 'inputs.image' },
        { image: dataUri(Buffer.from('hello, not a picture'), 'image/png') },
        /image is neither a PNG nor a JPEG image/,
      ],
      [{ image: 'inputs.image' }, { image: 'notes.txt' }, /image is neither a PNG nor a JPEG image/],
      [
        { image: 'inputs.image' },
        { image: '../outside.png' },
        /image: the path \.\.\/outside\.png leads outside the worker's data directory/,
      ],
      [
        { image: 'inputs.image' },
        { image: '/etc/passwd' },
        /image must be a path relative to the worker's data directory/,
      ],
      [{ image: 'inputs.image' }, { image: 'missing.png' }, /image: there is no file missing\.png/],
      [{ image: 'inputs.image' }, { image: 42 }, /image must be a blob digest/],
      [{ picture: 'inputs.image' }, { image: dataUri(INVOICE) }, /the input needs a field image/],
    ];
    for (const [mappings, inputs, message] of cases) {
      const view = await t.run(ocrWorkflow(mappings), inputs);
      expect(view.status).toBe('failed');
      const step = view.steps[0]!;
      expect(step.attempts).toBe(1);
      expect(step.error).toMatchObject({ code: 'invalid_input', retryable: false });
      expect(step.error!.message).toMatch(message);
    }
  });
});

describe('paddleocr and cancellation', () => {
  it('gives up part way through when its signal aborts', async () => {
    const ocr = new PaddleOcrExecutor();
    await ocr.prepare();
    const controller = new AbortController();
    const job: ExecutorJob = {
      jobId: 'job',
      executionId: 'execution',
      stepId: 'ocr',
      attempt: 1,
      stepType: 'inference',
      spec: { workflowDigest: 'digest', stepType: 'inference', model: { name: 'paddleocr' } },
      input: { image: dataUri(INVOICE) },
      maxCost: 0,
      deadlineAt: Date.now() + 60_000,
    };
    const blobs = { get: () => Promise.reject(new Error('unused')), put: () => Promise.reject(new Error('unused')) };
    const running = ocr.run(job, { signal: controller.signal, blobs });
    // A whole reading takes hundreds of milliseconds: this lands in decoding, detection or recognition.
    setTimeout(() => controller.abort(new Error('stopped by the test')), 50);
    await expect(running).rejects.toThrow('stopped by the test');
  });

  it('stops the OCR when the execution is cancelled', async () => {
    const held = new HeldUntilStopped(new PaddleOcrExecutor());
    const t = await startTestNode('sqlite', 'ocr-cancel', { executors: [held, ...defaultExecutors()], workers: 2 });
    try {
      const execution = await t.start(ocrWorkflow(), { image: dataUri(INVOICE) });
      await held.started;
      expect((await t.node.engine.cancel(execution.id, 'client:test')).status).toBe('cancelled');
      for (let i = 0; i < 100 && !held.outcome; i++) await new Promise((r) => setTimeout(r, 10));
      // The executor saw the stop and threw instead of reading the image to the end.
      await expect(held.outcome).rejects.toThrow(/cancelled/);
      for (let i = 0; i < 100 && t.node.worker!.activeJobs > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(t.node.worker!.activeJobs).toBe(0);
      const view = await t.view(execution.id);
      expect(view.status).toBe('cancelled');
      expect(view.steps[0]!.status).toBe('cancelled');
      expect(await t.node.store.read.getStepResults(execution.id)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
