import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Series } from '../lib/metrics-series';

export interface ChartLine {
  label: string;
  /** A CSS variable of the palette, e.g. '--ok': the canvas needs the colour itself, read when drawn. */
  colour: string;
  bars?: boolean;
  /** Draw every point: for a series with gaps, where a value alone between two has no line to show it. */
  points?: boolean;
}

const HEIGHT = 180;

/**
 * One small uPlot chart over time. uPlot draws on a canvas, which knows no CSS variables: the palette is
 * read from the page's computed style, and the chart is made again when the colour scheme flips.
 */
export function MetricChart({
  title,
  data,
  lines,
  span,
  value,
  counts = false,
  axisWidth = 48,
}: {
  title: string;
  data: Series;
  lines: ChartLine[];
  /** The time the x axis spans, in Unix seconds: the same hour for every chart, however few points. */
  span: [number, number];
  /** How a y value reads on the axis and in the legend. */
  value?: (v: number) => string;
  /** Whole numbers: the y axis ticks only at integers. */
  counts?: boolean;
  axisWidth?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | undefined>(undefined);
  const scheme = useColourScheme();
  const dataRef = useRef(data);
  dataRef.current = data;
  const spanRef = useRef(span);
  spanRef.current = span;
  const shape = lines.map((l) => `${l.label}:${l.colour}:${l.bars ? 'b' : 'l'}`).join('|');

  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const css = getComputedStyle(document.documentElement);
    const colour = (name: string) => css.getPropertyValue(name).trim() || '#888';
    const axis = {
      stroke: colour('--muted-text'),
      grid: { stroke: colour('--border'), width: 1 },
      ticks: { stroke: colour('--border'), width: 1 },
    };
    const format = value ?? ((v: number) => String(v));
    const made = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: HEIGHT,
        cursor: { drag: { x: false, y: false } },
        scales: {
          x: { time: true, range: () => spanRef.current },
          y: { range: (_u, _min, max) => [0, counts ? Math.max(1, Math.ceil(max * 1.1)) : Math.max(1, max * 1.1)] },
        },
        axes: [
          axis,
          {
            ...axis,
            size: axisWidth,
            values: (_u, splits) => splits.map(format),
            ...(counts && { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 100_000] }),
          },
        ],
        series: [
          {},
          ...lines.map((line) => ({
            label: line.label,
            stroke: colour(line.colour),
            width: 2,
            ...(line.points && { points: { show: true, size: 5, fill: colour(line.colour) } }),
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
            ...(line.bars && {
              fill: `${colour(line.colour)}55`,
              paths: uPlot.paths.bars!({ size: [0.7, 18] }),
              points: { show: false },
            }),
          })),
        ],
      },
      dataRef.current,
      element,
    );
    chart.current = made;
    // The chart takes the width of its card, which changes with the window.
    const resize = new ResizeObserver(() =>
      made.setSize({ width: Math.max(element.clientWidth, 200), height: HEIGHT }),
    );
    resize.observe(element);
    return () => {
      resize.disconnect();
      made.destroy();
      chart.current = undefined;
    };
    // `shape` sums up `lines`; the formatter and the options are the caller's constants.
  }, [shape, scheme]);

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return (
    <figure className="card metric-chart">
      <figcaption>{title}</figcaption>
      <div ref={box} className="metric-canvas" role="img" aria-label={`${title}: a chart over the last hour`} />
    </figure>
  );
}

/** 'dark' or 'light', following the system setting the stylesheet follows. */
function useColourScheme(): 'dark' | 'light' {
  const query = '(prefers-color-scheme: dark)';
  const [scheme, setScheme] = useState<'dark' | 'light'>(() => (matchMedia(query).matches ? 'dark' : 'light'));
  useEffect(() => {
    const media = matchMedia(query);
    const update = () => setScheme(media.matches ? 'dark' : 'light');
    media.addEventListener('change', update);
    return () => media.removeEventListener('change', update);
  }, []);
  return scheme;
}
