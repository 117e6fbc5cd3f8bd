import type { Quad } from './geometry.js';

/**
 * Reading order for left-to-right scripts: boxes grouped into rows, rows top to bottom, each row left to
 * right. A box joins a row when they overlap vertically by at least half the shorter height, so a line of
 * words at slightly different baselines stays one row while stacked lines stay apart.
 */
export function readingOrder<T extends { quad: Quad }>(items: readonly T[]): T[] {
  const spans = items.map((item) => {
    const ys = item.quad.map((p) => p[1]);
    const top = Math.min(...ys);
    const bottom = Math.max(...ys);
    return { item, top, bottom, left: Math.min(...item.quad.map((p) => p[0])), middle: (top + bottom) / 2 };
  });
  spans.sort((a, b) => a.middle - b.middle || a.left - b.left);
  const rows: { top: number; bottom: number; members: typeof spans }[] = [];
  for (const span of spans) {
    const row = rows[rows.length - 1];
    if (row) {
      const overlap = Math.min(row.bottom, span.bottom) - Math.max(row.top, span.top);
      const shorter = Math.min(row.bottom - row.top, span.bottom - span.top);
      if (overlap >= shorter / 2) {
        row.members.push(span);
        // The row's extent is its members' mean, so one tall box does not pull in the next line.
        row.top = row.members.reduce((s, m) => s + m.top, 0) / row.members.length;
        row.bottom = row.members.reduce((s, m) => s + m.bottom, 0) / row.members.length;
        continue;
      }
    }
    rows.push({ top: span.top, bottom: span.bottom, members: [span] });
  }
  return rows.flatMap((row) => row.members.sort((a, b) => a.left - b.left).map((m) => m.item));
}
