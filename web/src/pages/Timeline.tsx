import { useEffect, useMemo, useState } from 'react';
import type { EventView } from 'verity/sdk';
import { Time } from '../components';
import { localTime } from '../lib/time';
import { buildTimeline, describeAttempt, duration, position, ticks } from '../lib/timeline';
import type { AttemptBar, AttemptOutcome } from '../lib/timeline';
import './timeline.css';

const COLOUR: Record<AttemptOutcome, string> = {
  waiting: 'var(--queued)',
  running: 'var(--running)',
  completed: 'var(--ok)',
  failed: 'var(--bad)',
  expired: 'var(--bad)',
  cancelled: 'var(--muted)',
};

/**
 * A Gantt chart of the execution's attempts: one row per step, one bar per job from being queued to its
 * end, the wait before a worker started it drawn paler. A retry is a second bar on the same row. Bars are
 * buttons: a click or Enter opens the step's panel.
 */
export function Timeline({
  events,
  order,
  running,
  selected,
  onSelect,
}: {
  events: readonly EventView[];
  order: readonly string[];
  /** While the execution runs, open bars grow with the clock. */
  running: boolean;
  selected: string | undefined;
  onSelect: (stepId: string) => void;
}) {
  const now = useClock(running);
  const timeline = useMemo(() => buildTimeline(events, now, order), [events, now, order]);
  // The job whose details show under the chart; looked up again on every draw, so a running one grows.
  const [hoveredJob, setHoveredJob] = useState<string | undefined>();
  const hovered = timeline.rows
    .flatMap((row) => row.bars.map((bar) => ({ stepId: row.stepId, bar })))
    .find((b) => b.bar.jobId === hoveredJob);
  const span = timeline.end - timeline.start;
  const marks = ticks(span, 5);

  if (timeline.rows.length === 0)
    return (
      <div className="card timeline" aria-label="timeline of attempts">
        <h2>Timeline</h2>
        <p className="muted">No step has been queued yet.</p>
      </div>
    );
  return (
    <div className="card timeline" aria-label="timeline of attempts">
      <div className="timeline-head">
        <h2>Timeline</h2>
        <span className="muted small">
          <Time at={new Date(timeline.start).toISOString()} /> · {duration(span)}
        </span>
        <Legend />
      </div>
      <div className="timeline-grid">
        <div className="timeline-axis" aria-hidden="true">
          {marks.map((t) => (
            <span key={t} className="tick" style={{ left: `${position(timeline, timeline.start + t)}%` }}>
              {t === 0 ? '0' : `+${duration(t)}`}
            </span>
          ))}
        </div>
        {timeline.rows.map((row) => (
          <div key={row.stepId} className={`timeline-row${selected === row.stepId ? ' selected' : ''}`}>
            <span className="timeline-label mono" title={row.stepId}>
              {row.stepId}
            </span>
            <div className="timeline-track" style={{ height: `${row.lanes * 20 + 4}px` }}>
              {marks.map((t) => (
                <span
                  key={t}
                  className="gridline"
                  style={{ left: `${position(timeline, timeline.start + t)}%` }}
                  aria-hidden="true"
                />
              ))}
              {row.bars.map((bar) => (
                <Bar
                  key={bar.jobId}
                  stepId={row.stepId}
                  bar={bar}
                  left={position(timeline, bar.queuedAt)}
                  right={position(timeline, bar.end)}
                  startedAt={bar.startedAt === undefined ? undefined : position(timeline, bar.startedAt)}
                  onSelect={onSelect}
                  onHover={(on) => setHoveredJob(on ? bar.jobId : undefined)}
                />
              ))}
            </div>
          </div>
        ))}
      </div>
      <div className="timeline-tip small" aria-live="polite">
        {hovered ? <AttemptTip stepId={hovered.stepId} bar={hovered.bar} /> : <span className="muted">{hint}</span>}
      </div>
    </div>
  );
}

const hint =
  'Hover over or focus an attempt for its worker, times and error; click it or press Enter to open its step.';

function Bar({
  stepId,
  bar,
  left,
  right,
  startedAt,
  onSelect,
  onHover,
}: {
  stepId: string;
  bar: AttemptBar;
  left: number;
  right: number;
  startedAt: number | undefined;
  onSelect: (stepId: string) => void;
  onHover: (on: boolean) => void;
}) {
  const width = Math.max(right - left, 0);
  // The share of the bar spent waiting for a worker: all of it until the job starts.
  const waiting = startedAt === undefined ? 100 : width === 0 ? 0 : ((startedAt - left) / width) * 100;
  const colour = COLOUR[bar.outcome];
  return (
    <button
      type="button"
      className={`timeline-bar ${bar.outcome}`}
      data-timeline-step={stepId}
      data-attempt={bar.attempt}
      data-outcome={bar.outcome}
      aria-label={describeAttempt(stepId, bar, (ms) => localTime(new Date(ms).toISOString()))}
      style={{
        left: `${left}%`,
        width: `max(${width}%, 6px)`,
        top: `${bar.lane * 20 + 2}px`,
        borderColor: colour,
        // A short attempt drawn at its 6 px minimum can sit under the retry that follows it at once: earlier
        // attempts lie on top, so each stays under the pointer (the later bar loses only those 6 px).
        zIndex: Math.max(1, 1000 - bar.attempt),
      }}
      onClick={() => onSelect(stepId)}
      onMouseEnter={() => onHover(true)}
      onMouseLeave={() => onHover(false)}
      onFocus={() => onHover(true)}
      onBlur={() => onHover(false)}
    >
      <span className="wait" style={{ width: `${waiting}%`, background: colour }} />
      <span className="run" style={{ width: `${100 - waiting}%`, background: colour }} />
      <span className="attempt-number">{bar.attempt}</span>
    </button>
  );
}

function AttemptTip({ stepId, bar }: { stepId: string; bar: AttemptBar }) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return (
    <span className="attempt-tip">
      <strong>
        {stepId} · attempt {bar.attempt}
      </strong>{' '}
      <span style={{ color: COLOUR[bar.outcome] }}>{bar.outcome}</span>
      {bar.workerId && (
        <>
          {' '}
          · worker <span className="mono">{bar.workerId}</span>
        </>
      )}{' '}
      · queued <Time at={iso(bar.queuedAt)} />
      {bar.availableAt !== undefined && (
        <>
          {' '}
          (not before <Time at={iso(bar.availableAt)} />)
        </>
      )}
      {bar.startedAt !== undefined && (
        <>
          {' '}
          · started <Time at={iso(bar.startedAt)} />
        </>
      )}
      {bar.ended && (
        <>
          {' '}
          · ended <Time at={iso(bar.end)} /> ({duration(bar.end - bar.queuedAt)})
        </>
      )}
      {bar.error && (
        <>
          {' '}
          · <span className="text-bad mono">{bar.error.code}</span> {bar.error.message}
        </>
      )}
    </span>
  );
}

function Legend() {
  return (
    <ul className="timeline-legend small" aria-label="legend">
      {(['waiting', 'running', 'completed', 'failed', 'expired', 'cancelled'] as const).map((o) => (
        <li key={o}>
          <span className={`swatch ${o}`} style={{ background: COLOUR[o] }} aria-hidden="true" />
          {o}
        </li>
      ))}
      <li>
        <span className="swatch pale" aria-hidden="true" />
        before a worker started it
      </li>
    </ul>
  );
}

/** The time now, ticking every second while `running` (so open bars grow), still otherwise. */
function useClock(running: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  return now;
}
