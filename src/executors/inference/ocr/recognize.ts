import type { RgbImage } from './image.js';
import { resizeIntoTensor } from './image.js';

/** Text recognition (PP-OCR's SVTR-LCNet): a fixed-height strip in, per-column character probabilities out, CTC decoded. */

export const REC_HEIGHT = 48;
/** The narrowest batch width PaddleOCR uses (320×48): shorter words are padded, as in training. */
const MIN_WIDTH_RATIO = 320 / 48;
/** PaddleOCR's batch size: crops of similar aspect ratio share a padded width, so larger batches waste work. */
export const REC_BATCH_SIZE = 6;

const REC_MEAN = [0.5, 0.5, 0.5] as const;
const REC_STD = [0.5, 0.5, 0.5] as const;

/**
 * The classes of the recognizer's output: CTC's blank first, then one character a line of the keys file,
 * then a space (PaddleOCR's `use_space_char`, on for every shipped Chinese/English model).
 */
export function charsetFromKeys(keys: string): string[] {
  const lines = keys.split(/\r?\n/);
  // A trailing newline ends the last key; it does not add an empty one.
  if (lines[lines.length - 1] === '') lines.pop();
  return ['', ...lines, ' '];
}

/** One batch's input: crops resized to the common height, keeping aspect, zero-padded to the widest (capped at its own ratio). */
export function recognitionInput(crops: readonly RgbImage[]): { data: Float32Array; width: number } {
  const maxRatio = Math.max(MIN_WIDTH_RATIO, ...crops.map((c) => c.width / c.height));
  const width = Math.ceil(REC_HEIGHT * maxRatio);
  const plane = width * REC_HEIGHT;
  const data = new Float32Array(crops.length * 3 * plane);
  crops.forEach((crop, i) => {
    const resizedWidth = Math.max(1, Math.min(width, Math.ceil(REC_HEIGHT * (crop.width / crop.height))));
    resizeIntoTensor(crop, resizedWidth, REC_HEIGHT, {
      tensor: data,
      offset: i * 3 * plane,
      tensorWidth: width,
      tensorHeight: REC_HEIGHT,
      mean: REC_MEAN,
      std: REC_STD,
    });
  });
  return { data, width };
}

export interface Recognized {
  text: string;
  /** Mean probability of the characters kept; 0 when none were. */
  confidence: number;
}

/**
 * CTC greedy decoding of one sequence: the most likely class per time step, repeats collapsed, blanks
 * (class 0) dropped. `probs` holds `steps` rows of `classes` probabilities starting at `offset`.
 */
export function ctcGreedyDecode(
  probs: ArrayLike<number>,
  offset: number,
  steps: number,
  classes: number,
  charset: readonly string[],
): Recognized {
  let text = '';
  let sum = 0;
  let kept = 0;
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    const row = offset + t * classes;
    let best = 0;
    let bestP = probs[row]!;
    for (let c = 1; c < classes; c++) {
      const p = probs[row + c]!;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== previous) {
      text += charset[best] ?? '';
      sum += bestP;
      kept++;
    }
    previous = best;
  }
  return { text, confidence: kept === 0 ? 0 : sum / kept };
}
