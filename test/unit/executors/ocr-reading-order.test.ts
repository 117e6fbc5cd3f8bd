import { describe, expect, it } from 'vitest';
import type { Quad } from '../../../src/executors/inference/ocr/geometry.js';
import { readingOrder } from '../../../src/executors/inference/ocr/reading-order.js';

const box = (text: string, x: number, y: number, w: number, h: number): { text: string; quad: Quad } => ({
  text,
  quad: [
    [x, y],
    [x + w, y],
    [x + w, y + h],
    [x, y + h],
  ],
});

describe('paddleocr reading order', () => {
  it('reads rows top to bottom and each row left to right, whatever order the boxes come in', () => {
    const boxes = [
      box('Total:', 400, 200, 80, 20),
      box('$12.00', 600, 100, 70, 20),
      box('Invoice', 20, 10, 120, 30),
      box('Paper', 20, 102, 60, 18),
      box('$1,234.56', 500, 203, 100, 20),
      box('Date', 20, 50, 50, 20),
    ];
    expect(readingOrder(boxes).map((b) => b.text)).toEqual([
      'Invoice',
      'Date',
      'Paper',
      '$12.00',
      'Total:',
      '$1,234.56',
    ]);
  });

  it('keeps words on slightly different baselines in one row and tightly stacked lines apart', () => {
    const boxes = [
      box('world', 100, 14, 60, 20),
      box('hello', 0, 10, 60, 20),
      box('below', 0, 32, 60, 20),
      box('next', 100, 34, 60, 20),
    ];
    expect(readingOrder(boxes).map((b) => b.text)).toEqual(['hello', 'world', 'below', 'next']);
  });
});
