import { useEffect, useMemo, useState } from 'react';
import type { MetricsSummary } from 'verity/sdk';
import { Loaded, Time } from '../components';
import { useApp } from '../lib/app-context';
import { addDepthSample, depthSeries, latencyLabel, summarySeries } from '../lib/metrics-series';
import type { DepthSample } from '../lib/metrics-series';
import { useLoad } from '../lib/use-load';
import { MetricChart } from './MetricChart';
import './metrics.css';

const REFRESH_MS = 10_000;
const count = (v: number) => Math.round(v).toLocaleString();

/**
 * The last hour at a glance, from GET /v1/metrics/summary (the admin's): throughput, step latency, queue
 * depth and failures, refreshed every ten seconds.
 */
export function Metrics() {
  const { client } = useApp();
  const [load, retry] = useLoad<MetricsSummary>(() => client.metricsSummary(), [client], { pollMs: REFRESH_MS });
  return (
    <section>
      <div className="page-head">
        <h1>Metrics</h1>
        <span className="muted small">the last hour, per minute · every replica · refreshed every 10 s</span>
        {load.state === 'ready' && load.refreshing && (
          <span className="muted small" role="status">
            refreshing…
          </span>
        )}
      </div>
      <Loaded load={load} retry={retry}>
        {(summary) => <MetricsView summary={summary} />}
      </Loaded>
    </section>
  );
}

function MetricsView({ summary }: { summary: MetricsSummary }) {
  const series = useMemo(() => summarySeries(summary.buckets), [summary.buckets]);
  const [depth, setDepth] = useState<DepthSample[]>([]);
  useEffect(() => {
    setDepth((samples) => addDepthSample(samples, { at: Date.parse(summary.to) / 1000, depth: summary.queueDepth }));
  }, [summary.to, summary.queueDepth]);
  const depthData = useMemo(() => depthSeries(depth), [depth]);
  const hour = useMemo<[number, number]>(
    () => [Date.parse(summary.from) / 1000, Date.parse(summary.to) / 1000],
    [summary.from, summary.to],
  );
  const { totals } = summary;
  const idle = totals.executionsStarted === 0 && totals.stepsCompleted === 0 && totals.executionsFailed === 0;

  return (
    <>
      <dl className="metric-tiles" aria-label="the last hour in numbers">
        <Tile label="Steps completed" value={count(totals.stepsCompleted)} name="steps-completed" />
        <Tile label="Executions started" value={count(totals.executionsStarted)} name="executions-started" />
        <Tile label="Executions completed" value={count(totals.executionsCompleted)} name="executions-completed" />
        <Tile
          label="Executions failed"
          value={count(totals.executionsFailed)}
          name="executions-failed"
          bad={totals.executionsFailed > 0}
        />
        <Tile label="Step latency p50" value={latencyLabel(totals.stepLatencyP50Ms)} name="latency-p50" />
        <Tile label="Step latency p95" value={latencyLabel(totals.stepLatencyP95Ms)} name="latency-p95" />
        <Tile label="Queue depth now" value={count(summary.queueDepth)} name="queue-depth" />
      </dl>
      <p className="small muted">
        From <Time at={summary.from} /> to <Time at={summary.to} />.
        {summary.latencySampled && ' More steps completed than the summary reads: latencies are of the first ones.'}
        {idle && ' Nothing ran in the last hour: the charts are flat.'}
      </p>
      <div className="metric-charts">
        <MetricChart
          title="Throughput (per minute)"
          data={series.throughput}
          lines={[
            { label: 'steps completed', colour: '--running' },
            { label: 'executions completed', colour: '--ok' },
          ]}
          value={count}
          span={hour}
          counts
        />
        <MetricChart
          title="Step latency (started → accepted)"
          data={series.latency}
          lines={[
            // A minute without completed steps has no latency: a minute alone between two such shows as a point.
            { label: 'p50', colour: '--ok', points: true },
            { label: 'p95', colour: '--queued', points: true },
          ]}
          value={latencyLabel}
          span={hour}
          axisWidth={68}
        />
        <MetricChart
          title="Queue depth (jobs queued, seen since this page opened)"
          data={depthData}
          lines={[{ label: 'queued', colour: '--queued' }]}
          value={count}
          span={hour}
          counts
        />
        <MetricChart
          title="Failures (executions ended not completed, per minute)"
          data={series.failures}
          lines={[{ label: 'failed', colour: '--bad', bars: true }]}
          value={count}
          span={hour}
          counts
        />
      </div>
    </>
  );
}

function Tile({ label, value, name, bad }: { label: string; value: string; name: string; bad?: boolean }) {
  return (
    <div className="metric-tile card" data-metric={name}>
      <dt className="small muted">{label}</dt>
      <dd className={bad ? 'text-bad' : undefined}>{value}</dd>
    </div>
  );
}
