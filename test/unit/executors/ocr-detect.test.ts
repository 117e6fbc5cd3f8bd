import { describe, expect, it } from 'vitest';
import { boxesFromProbabilityMap, labelComponents } from '../../../src/executors/inference/ocr/detect.js';
import { minAreaRect, orderCorners, unclip } from '../../../src/executors/inference/ocr/geometry.js';
import type { Point } from '../../../src/executors/inference/ocr/geometry.js';

/** A map from rows of characters: '#' is 0.9, '+' is 0.35 (text by threshold, too faint by box score), '.' is 0. */
function map(rows: string[]): { prob: Float32Array; width: number; height: number } {
  const width = rows[0]!.length;
  const prob = new Float32Array(width * rows.length);
  rows.forEach((row, y) => [...row].forEach((c, x) => (prob[y * width + x] = c === '#' ? 0.9 : c === '+' ? 0.35 : 0)));
  return { prob, width, height: rows.length };
}

describe('paddleocr detection post-processing', () => {
  it('labels 8-connected components, diagonals included', () => {
    const { prob, width, height } = map(['#..#', '.#.#', '....', '##..']);
    const mask = Uint8Array.from(prob, (p) => (p > 0.3 ? 1 : 0));
    const components = labelComponents(mask, width, height);
    expect(components.count).toBe(3);
    expect(components.labels[0]).toBe(components.labels[5]);
    expect(components.labels[3]).toBe(components.labels[7]);
    expect(components.labels[12]).toBe(components.labels[13]);
    expect(new Set([components.labels[0], components.labels[3], components.labels[12]]).size).toBe(3);
    const sizes = [1, 2, 3].map((k) => components.starts[k]! - components.starts[k - 1]!);
    expect(sizes).toEqual([2, 2, 2]);
  });

  it('boxes each confident component, grown by the unclip ratio and scaled to the image', () => {
    const rows = [
      '......................',
      '......................',
      '......................',
      '...##########.........',
      '...##########.........',
      '...##########.........',
      '...##########.........',
      '......................',
      '......................',
      '...............++++++.',
      '...............++++++.',
      '...............++++++.',
      '...............++++++.',
      '..#...................',
    ];
    const { prob, width, height } = map(rows);
    // Pixel centres span x 3…12, y 3…6: a 9×3 rectangle, grown by 9·3·1.5 / 24 = 1.6875 on each side.
    const boxes = boxesFromProbabilityMap(prob, width, height, width * 2, height * 2, {
      limitSide: 960,
      threshold: 0.3,
      boxThreshold: 0.6,
      unclipRatio: 1.5,
      minSize: 3,
      maxCandidates: 1000,
    });
    expect(boxes).toHaveLength(1);
    const [box] = boxes;
    expect(box!.score).toBeCloseTo(0.9, 5);
    const d = 1.6875;
    const expected = [
      [3 - d, 3 - d],
      [12 + d, 3 - d],
      [12 + d, 6 + d],
      [3 - d, 6 + d],
    ].map(([x, y]) => [x! * 2, y! * 2]);
    box!.quad.forEach((p, i) => {
      expect(p[0]).toBeCloseTo(expected[i]![0]!, 5);
      expect(p[1]).toBeCloseTo(expected[i]![1]!, 5);
    });
  });

  it('finds the minimum-area rectangle of a tilted shape and orders its corners from the top left', () => {
    // A square turned 45°: its own sides, not the axes, give the smallest rectangle.
    const diamond: Point[] = [
      [5, 0],
      [10, 5],
      [5, 10],
      [0, 5],
      [5, 5],
    ];
    const rect = minAreaRect(diamond);
    expect(rect.width * rect.height).toBeCloseTo(50, 5);
    expect(rect.center[0]).toBeCloseTo(5, 5);
    expect(rect.center[1]).toBeCloseTo(5, 5);
    expect(
      orderCorners([
        [10, 8],
        [0, 0],
        [10, 0],
        [0, 8],
      ]),
    ).toEqual([
      [0, 0],
      [10, 0],
      [10, 8],
      [0, 8],
    ]);
    const upright = minAreaRect([
      [0, 0],
      [4, 0],
      [4, 2],
      [0, 2],
    ]);
    expect([upright.width, upright.height, upright.axis]).toEqual([4, 2, [1, 0]]);
    expect(unclip(upright, 1.5)).toMatchObject({ width: 4 + 2 * 1, height: 2 + 2 * 1 });
  });
});
