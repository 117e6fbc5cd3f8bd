import { describe, expect, it } from 'vitest';
import { addDepthSample, depthSeries, latencyLabel, summarySeries } from '../../../web/src/lib/metrics-series.js';

/** How the metrics page turns GET /v1/metrics/summary into chart series. */
describe('the metrics series', () => {
  const bucket = (start: string, steps: number, p50?: number, p95?: number) => ({
    start,
    executionsStarted: steps,
    executionsCompleted: steps - 1,
    executionsFailed: 1,
    stepsCompleted: steps,
    ...(p50 !== undefined && { stepLatencyP50Ms: p50 }),
    ...(p95 !== undefined && { stepLatencyP95Ms: p95 }),
  });

  it('lines the minutes up oldest first, with no latency where no step completed', () => {
    const series = summarySeries([
      bucket('2026-01-01T00:01:00Z', 3, 120, 400),
      bucket('2026-01-01T00:00:00Z', 1),
      bucket('garbage', 9, 1, 1),
    ]);
    const t0 = Date.parse('2026-01-01T00:00:00Z') / 1000;
    expect(series.throughput).toEqual([
      [t0, t0 + 60],
      [1, 3],
      [0, 2],
    ]);
    expect(series.latency).toEqual([
      [t0, t0 + 60],
      [null, 120],
      [null, 400],
    ]);
    expect(series.failures).toEqual([
      [t0, t0 + 60],
      [1, 1],
    ]);
    expect(summarySeries([]).throughput).toEqual([[], [], []]);
  });

  it('keeps the queue depth seen over the last hour, one sample a second at most', () => {
    let samples = addDepthSample([], { at: 100, depth: 2 });
    samples = addDepthSample(samples, { at: 110, depth: 5 });
    samples = addDepthSample(samples, { at: 110, depth: 4 });
    expect(samples).toEqual([
      { at: 100, depth: 2 },
      { at: 110, depth: 4 },
    ]);
    samples = addDepthSample(samples, { at: 3701, depth: 0 });
    expect(samples).toEqual([
      { at: 110, depth: 4 },
      { at: 3701, depth: 0 },
    ]);
    expect(depthSeries(samples)).toEqual([
      [110, 3701],
      [4, 0],
    ]);
  });

  it('writes latencies in a unit that fits', () => {
    expect(latencyLabel(undefined)).toBe('—');
    expect(latencyLabel(null)).toBe('—');
    expect(latencyLabel(12.4)).toBe('12 ms');
    expect(latencyLabel(1530)).toBe('1.5 s');
    expect(latencyLabel(90_000)).toBe('1.5 min');
  });
});
