import { describe, expect, it } from 'vitest';
import {
  charsetFromKeys,
  ctcGreedyDecode,
  recognitionInput,
  REC_HEIGHT,
} from '../../../src/executors/inference/ocr/recognize.js';

/** A probability matrix with one confident class per time step. */
function steps(classes: number, winners: number[], p = 0.9): Float32Array {
  const probs = new Float32Array(winners.length * classes).fill((1 - p) / (classes - 1));
  winners.forEach((c, t) => (probs[t * classes + c] = p));
  return probs;
}

describe('paddleocr recognition', () => {
  const charset = charsetFromKeys('a\nb\nc\n');

  it('builds the charset as PaddleOCR does: blank first, one key a line, a space last', () => {
    expect(charset).toEqual(['', 'a', 'b', 'c', ' ']);
    expect(charsetFromKeys('a\r\nb')).toEqual(['', 'a', 'b', ' ']);
  });

  it('collapses repeats, drops blanks, and keeps a letter doubled across a blank', () => {
    // blank a a blank a b b space c blank
    const probs = steps(5, [0, 1, 1, 0, 1, 2, 2, 4, 3, 0]);
    expect(ctcGreedyDecode(probs, 0, 10, 5, charset)).toEqual({
      text: 'aab c',
      confidence: expect.closeTo(0.9, 5) as unknown,
    });
  });

  it('reports the mean probability of the kept characters, and 0 when nothing is read', () => {
    const probs = steps(5, [1, 2]);
    probs[0 * 5 + 1] = 0.6;
    expect(ctcGreedyDecode(probs, 0, 2, 5, charset).confidence).toBeCloseTo(0.75, 5);
    expect(ctcGreedyDecode(steps(5, [0, 0, 0]), 0, 3, 5, charset)).toEqual({ text: '', confidence: 0 });
  });

  it('decodes the n-th sequence of a batch from its offset', () => {
    const batch = new Float32Array([...steps(5, [3, 3]), ...steps(5, [2, 1])]);
    expect(ctcGreedyDecode(batch, 2 * 5, 2, 5, charset).text).toBe('ba');
  });

  it('pads a batch to the widest crop, at least 320 wide, with zeros', () => {
    const white = (width: number, height: number) => ({
      width,
      height,
      data: new Uint8Array(width * height * 3).fill(255),
    });
    const short = recognitionInput([white(48, 48)]);
    expect(short.width).toBe(320);
    // White normalizes to 1 in [-1, 1]; the padding right of the 48 resized columns stays 0.
    expect(short.data[0]).toBeCloseTo(1, 5);
    expect(short.data[47]).toBeCloseTo(1, 5);
    expect(short.data[48]).toBe(0);
    const wide = recognitionInput([white(24, 12), white(1000, 48)]);
    expect(wide.width).toBe(1000);
    expect(wide.data.length).toBe(2 * 3 * REC_HEIGHT * 1000);
  });
});
