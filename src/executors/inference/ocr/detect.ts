import type { Point, Quad, RotatedRect } from './geometry.js';
import { minAreaRect, rectCorners, unclip } from './geometry.js';
import type { RgbImage } from './image.js';
import { resizeIntoTensor } from './image.js';

/** DB (differentiable binarization) text detection: the model gives a per-pixel text probability; this turns it into boxes. */
export interface DetectionOptions {
  /** The longer side of the detection input is scaled down to this. Default 960 (PaddleOCR's). */
  limitSide: number;
  /** A pixel is text when its probability exceeds this. Default 0.3. */
  threshold: number;
  /** A box is kept when the mean probability inside it reaches this. Default 0.6. */
  boxThreshold: number;
  /**
   * How far a kernel grows back into a text box, as area × ratio / perimeter. Default 2.0: PaddleOCR's 1.5
   * crops printed text so tightly that the recognizer drops the spaces between words ("InvoiceNumber").
   */
  unclipRatio: number;
  /** Boxes with a shorter side below this (map pixels) are noise. Default 3. */
  minSize: number;
  /** At most this many components become boxes. Default 1000. */
  maxCandidates: number;
}

export const DEFAULT_DETECTION_OPTIONS: DetectionOptions = {
  limitSide: 960,
  threshold: 0.3,
  boxThreshold: 0.6,
  unclipRatio: 2.0,
  minSize: 3,
  maxCandidates: 1000,
};

export interface DetectedBox {
  /** Corners in the original image's pixels (not rounded). */
  quad: Quad;
  score: number;
}

// ImageNet statistics, in the BGR order the tensor is filled in.
const DET_MEAN = [0.406, 0.456, 0.485] as const;
const DET_STD = [0.225, 0.224, 0.229] as const;

/** The detection input: scaled so the longer side is at most `limitSide`, each side rounded to a multiple of 32 (the network downsamples by 32). */
export function detectionInput(
  image: RgbImage,
  limitSide: number,
): { data: Float32Array; width: number; height: number } {
  const ratio = Math.max(image.width, image.height) > limitSide ? limitSide / Math.max(image.width, image.height) : 1;
  const width = Math.max(Math.round((image.width * ratio) / 32) * 32, 32);
  const height = Math.max(Math.round((image.height * ratio) / 32) * 32, 32);
  const data = new Float32Array(3 * width * height);
  resizeIntoTensor(image, width, height, {
    tensor: data,
    offset: 0,
    tensorWidth: width,
    tensorHeight: height,
    mean: DET_MEAN,
    std: DET_STD,
  });
  return { data, width, height };
}

/** Connected regions of a binary mask (8-connected, as cv2.findContours traces them). */
export interface Components {
  count: number;
  /** Per pixel: 0 for background, else the component number from 1. */
  labels: Int32Array;
  /** Pixel indices grouped by component: component k holds pixels[starts[k−1] … starts[k]). */
  pixels: Int32Array;
  starts: Int32Array;
}

/** One breadth-first pass; the output array doubles as the queue, so it allocates nothing per component. */
export function labelComponents(mask: Uint8Array, width: number, height: number): Components {
  const labels = new Int32Array(width * height);
  const pixels = new Int32Array(width * height);
  const starts: number[] = [0];
  let end = 0;
  for (let seed = 0; seed < mask.length; seed++) {
    if (!mask[seed] || labels[seed]) continue;
    const label = starts.length;
    labels[seed] = label;
    pixels[end++] = seed;
    for (let head = starts[starts.length - 1]!; head < end; head++) {
      const p = pixels[head]!;
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] && !labels[q]) {
            labels[q] = label;
            pixels[end++] = q;
          }
        }
      }
    }
    starts.push(end);
  }
  return { count: starts.length - 1, labels, pixels, starts: Int32Array.from(starts) };
}

/**
 * DB post-processing: threshold the probability map, take each component's minimum-area rectangle, keep
 * it when large and confident enough, grow it by the unclip ratio, and scale it to the original image.
 */
export function boxesFromProbabilityMap(
  prob: Float32Array,
  mapWidth: number,
  mapHeight: number,
  imageWidth: number,
  imageHeight: number,
  options: DetectionOptions = DEFAULT_DETECTION_OPTIONS,
): DetectedBox[] {
  const mask = new Uint8Array(mapWidth * mapHeight);
  for (let i = 0; i < mask.length; i++) mask[i] = prob[i]! > options.threshold ? 1 : 0;
  const components = labelComponents(mask, mapWidth, mapHeight);
  const scaleX = imageWidth / mapWidth;
  const scaleY = imageHeight / mapHeight;
  const boxes: DetectedBox[] = [];
  for (let k = 1; k <= Math.min(components.count, options.maxCandidates); k++) {
    const rect = minAreaRect(outline(components, k, mapWidth));
    if (Math.min(rect.width, rect.height) < options.minSize) continue;
    const score = meanInside(prob, mapWidth, mapHeight, rect);
    if (score < options.boxThreshold) continue;
    const grown = unclip(rect, options.unclipRatio);
    if (Math.min(grown.width, grown.height) < options.minSize + 2) continue;
    const quad = rectCorners(grown).map(([x, y]) => [
      clamp(x * scaleX, 0, imageWidth - 1),
      clamp(y * scaleY, 0, imageHeight - 1),
    ]) as Quad;
    boxes.push({ quad, score });
  }
  return boxes;
}

/** The leftmost and rightmost pixel of each row: all the convex hull can use, at a fraction of the pixels. */
function outline(components: Components, k: number, width: number): Point[] {
  const from = components.starts[k - 1]!;
  const to = components.starts[k]!;
  const rows = new Map<number, [number, number]>();
  for (let i = from; i < to; i++) {
    const p = components.pixels[i]!;
    const x = p % width;
    const y = (p - x) / width;
    const row = rows.get(y);
    if (!row) rows.set(y, [x, x]);
    else {
      if (x < row[0]) row[0] = x;
      if (x > row[1]) row[1] = x;
    }
  }
  const points: Point[] = [];
  for (const [y, [minX, maxX]] of rows) {
    points.push([minX, y]);
    if (maxX !== minX) points.push([maxX, y]);
  }
  return points;
}

/** Mean probability over the pixels inside the rectangle (DB's box score: low when a box is mostly background). */
function meanInside(prob: Float32Array, width: number, height: number, rect: RotatedRect): number {
  const [cx, cy] = rect.center;
  const [ux, uy] = rect.axis;
  const halfW = rect.width / 2 + 0.5;
  const halfH = rect.height / 2 + 0.5;
  const corners = rectCorners(rect);
  const xs = corners.map((p) => p[0]);
  const ys = corners.map((p) => p[1]);
  const x0 = clamp(Math.floor(Math.min(...xs)), 0, width - 1);
  const x1 = clamp(Math.ceil(Math.max(...xs)), 0, width - 1);
  const y0 = clamp(Math.floor(Math.min(...ys)), 0, height - 1);
  const y1 = clamp(Math.ceil(Math.max(...ys)), 0, height - 1);
  let sum = 0;
  let count = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x - cx;
      const dy = y - cy;
      if (Math.abs(dx * ux + dy * uy) > halfW || Math.abs(-dx * uy + dy * ux) > halfH) continue;
      sum += prob[y * width + x]!;
      count++;
    }
  }
  return count === 0 ? 0 : sum / count;
}

const clamp = (value: number, min: number, max: number): number => Math.min(Math.max(value, min), max);
