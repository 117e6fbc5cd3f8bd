/** A minute of GET /v1/metrics/summary, as much of it as the charts read (the SDK's MetricsSummary fits). */
export interface MinuteBucket {
  start: string;
  executionsStarted: number;
  executionsCompleted: number;
  executionsFailed: number;
  stepsCompleted: number;
  stepLatencyP50Ms?: number | undefined;
  stepLatencyP95Ms?: number | undefined;
}

/**
 * uPlot's aligned data: the x values (Unix seconds) and one array per series, `null` where a minute has
 * no value (a minute without completed steps has no latency, which is not a latency of 0).
 */
export type Series = [number[], ...(number | null)[][]];

export interface SummarySeries {
  throughput: Series;
  latency: Series;
  failures: Series;
}

/** The summary's minutes as the three charts' series, oldest first; a bucket whose start is unreadable is left out. */
export function summarySeries(buckets: readonly MinuteBucket[]): SummarySeries {
  const rows = buckets
    .map((b) => ({ b, t: Date.parse(b.start) / 1000 }))
    .filter(({ t }) => !Number.isNaN(t))
    .sort((a, b) => a.t - b.t);
  const x = rows.map((r) => r.t);
  const column = (read: (b: MinuteBucket) => number | undefined) => rows.map(({ b }) => read(b) ?? null);
  return {
    throughput: [x, column((b) => b.stepsCompleted), column((b) => b.executionsCompleted)],
    latency: [x, column((b) => b.stepLatencyP50Ms), column((b) => b.stepLatencyP95Ms)],
    failures: [x, column((b) => b.executionsFailed)],
  };
}

export interface DepthSample {
  /** Unix seconds. */
  at: number;
  depth: number;
}

/**
 * The queue depth the page has seen: the summary has only the depth now, so each refresh adds a sample,
 * and samples older than the window (an hour, like the other charts) fall off. A sample at the same
 * second as the last one replaces it.
 */
export function addDepthSample(
  samples: readonly DepthSample[],
  sample: DepthSample,
  windowSeconds = 3600,
): DepthSample[] {
  const kept = samples.filter((s) => s.at > sample.at - windowSeconds && s.at < sample.at);
  return [...kept, sample];
}

export function depthSeries(samples: readonly DepthSample[]): Series {
  return [samples.map((s) => s.at), samples.map((s) => s.depth)];
}

/** A latency for the tiles and the axis: ms below a second, seconds with one decimal below a minute. */
export function latencyLabel(ms: number | undefined | null): string {
  if (ms === undefined || ms === null) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
