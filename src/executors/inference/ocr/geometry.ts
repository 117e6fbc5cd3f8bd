/** Plane geometry for text boxes: the few pieces of OpenCV that DB post-processing needs, in image coordinates (y down). */

export type Point = [number, number];
/** Corners clockwise from the top left: top left, top right, bottom right, bottom left. */
export type Quad = [Point, Point, Point, Point];

/** A rectangle at any angle: `axis` is the unit vector along its `width`. */
export interface RotatedRect {
  center: Point;
  axis: Point;
  width: number;
  height: number;
}

const cross = (o: Point, a: Point, b: Point): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

/** Andrew's monotone chain; collinear points are dropped, so the rotating calipers see only true edges. */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (sorted.length <= 2) return sorted;
  const lower: Point[] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/**
 * The smallest rectangle around the points (cv2.minAreaRect): one side of the optimum lies on a hull edge,
 * so trying each edge's direction is enough. Hulls of text components have tens of points, so O(n²) is fine.
 */
export function minAreaRect(points: readonly Point[]): RotatedRect {
  const hull = convexHull(points);
  if (hull.length === 0) return { center: [0, 0], axis: [1, 0], width: 0, height: 0 };
  // Axis-aligned first: among equal areas (a lone pixel, a straight line) upright text stays upright.
  let best = extent(hull, [1, 0]);
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % hull.length]!;
    const length = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (length === 0) continue;
    const candidate = extent(hull, [(b[0] - a[0]) / length, (b[1] - a[1]) / length]);
    if (candidate.width * candidate.height < best.width * best.height - 1e-9) best = candidate;
  }
  return best;
}

function extent(points: readonly Point[], axis: Point): RotatedRect {
  const normal: Point = [-axis[1], axis[0]];
  let minU = Infinity;
  let maxU = -Infinity;
  let minN = Infinity;
  let maxN = -Infinity;
  for (const p of points) {
    const u = p[0] * axis[0] + p[1] * axis[1];
    const n = p[0] * normal[0] + p[1] * normal[1];
    minU = Math.min(minU, u);
    maxU = Math.max(maxU, u);
    minN = Math.min(minN, n);
    maxN = Math.max(maxN, n);
  }
  const cu = (minU + maxU) / 2;
  const cn = (minN + maxN) / 2;
  return {
    center: [cu * axis[0] + cn * normal[0], cu * axis[1] + cn * normal[1]],
    axis,
    width: maxU - minU,
    height: maxN - minN,
  };
}

/**
 * DB's unclip: the detector predicts a shrunk text kernel, so each box grows by
 * `area × ratio / perimeter` on every side. For a rectangle that offset is exact (pyclipper rounds the
 * corners, and minAreaRect of the result squares them again).
 */
export function unclip(rect: RotatedRect, ratio: number): RotatedRect {
  const perimeter = 2 * (rect.width + rect.height);
  if (perimeter === 0) return rect;
  const distance = (rect.width * rect.height * ratio) / perimeter;
  return { ...rect, width: rect.width + 2 * distance, height: rect.height + 2 * distance };
}

/** The rectangle's corners, clockwise from the top left. */
export function rectCorners(rect: RotatedRect): Quad {
  const [cx, cy] = rect.center;
  const [ux, uy] = rect.axis;
  const [nx, ny] = [-uy, ux];
  const hw = rect.width / 2;
  const hh = rect.height / 2;
  const corners: Point[] = [
    [cx - ux * hw - nx * hh, cy - uy * hw - ny * hh],
    [cx + ux * hw - nx * hh, cy + uy * hw - ny * hh],
    [cx + ux * hw + nx * hh, cy + uy * hw + ny * hh],
    [cx - ux * hw + nx * hh, cy - uy * hw + ny * hh],
  ];
  return orderCorners(corners);
}

/** PaddleOCR's corner order: of the two leftmost corners the upper is the top left, of the two rightmost the upper is the top right. */
export function orderCorners(corners: readonly Point[]): Quad {
  const byX = [...corners].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const [l1, l2, r1, r2] = byX as [Point, Point, Point, Point];
  const [tl, bl] = l1[1] <= l2[1] ? [l1, l2] : [l2, l1];
  const [tr, br] = r1[1] <= r2[1] ? [r1, r2] : [r2, r1];
  return [tl, tr, br, bl];
}
