import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { VerityApiError } from 'verity/sdk';
import type { EventView, ExecutionGraph as ExecutionGraphView, ExecutionView, StepSummary } from 'verity/sdk';
import type { VerificationReport } from 'verity/verify';
import { Loaded, StatusBadge, Time } from '../components';
import { ReportView } from '../report';
import { useApp } from '../lib/app-context';
import { applyEvents, mergeEvents } from '../lib/events';
import { pinKey, pinnedKey, sameKey } from '../lib/pins';
import { mayAct } from '../lib/role';
import { isTerminal, statusColour } from '../lib/status';
import { units } from '../lib/time';
import { useLoad } from '../lib/use-load';
import { StepDetails } from './StepDetails';
import { ExecutionGraph } from './ExecutionGraph';
import { Timeline } from './Timeline';
import { ZkProving } from './ZkProving';
import { fingerprint, verifyHere } from '../lib/verify-run';
import type { Level } from '../lib/verify-run';

interface ExecutionAndWorkflow {
  view: ExecutionView;
  /** The DAG's steps and dependencies, which the owner may read even of another publisher's workflow. */
  definition: Record<string, unknown> | undefined;
}

export function Execution({ id }: { id: string }) {
  const { client } = useApp();
  const [load, retry] = useLoad<ExecutionAndWorkflow>(async () => {
    const view = await client.status(id);
    // The graph route gives the steps and dependencies of the execution's workflow to its owner, even of
    // another publisher's workflow whose definition is not shown; without it the steps are listed.
    const graph = await client.getExecutionGraph(id).catch(() => undefined);
    return { view, definition: graph && graphDefinition(graph) };
  }, [client, id]);
  return (
    <Loaded load={load} retry={retry}>
      {(value) => <ExecutionDetail key={value.view.executionId} initial={value.view} definition={value.definition} />}
    </Loaded>
  );
}

function ExecutionDetail({
  initial,
  definition,
}: {
  initial: ExecutionView;
  definition: Record<string, unknown> | undefined;
}) {
  const { client, session, signOut } = useApp();
  const [view, setView] = useState(initial);
  const [events, setEvents] = useState<EventView[]>([]);
  const [live, setLive] = useState<'connecting' | 'live' | 'ended' | 'error'>('connecting');
  const [selected, setSelected] = useState<string | undefined>();
  const [eventsOpen, setEventsOpen] = useState(false);
  const [actionError, setActionError] = useState<string | undefined>();
  // A retried execution runs again after its stream ended: a new stream follows it.
  const [stream, setStream] = useState(0);
  const id = initial.executionId;

  const refresh = useCallback(() => {
    client.status(id).then(setView, (error: unknown) => {
      if (error instanceof VerityApiError && error.status === 401) signOut('The API key was refused (401).');
    });
  }, [client, id, signOut]);

  // The event stream: the SDK reads Server-Sent Events over fetch (EventSource cannot send a Bearer
  // header) and resumes from the last event id after a dropped connection. Each batch of events turns the
  // graph at once and asks for the execution's view, which is the authority on every step's state.
  useEffect(() => {
    const abort = new AbortController();
    let pending: ReturnType<typeof setTimeout> | undefined;
    // Events are applied in batches, at most every 50 ms: replaying a long history one render per event
    // (5,000 of them for a 1,000-step run) kept the page busy for seconds.
    let batch: EventView[] = [];
    let flush: ReturnType<typeof setTimeout> | undefined;
    const apply = () => {
      const arrived = batch;
      batch = [];
      flush = undefined;
      if (arrived.length === 0) return;
      setEvents((known) => mergeEvents(known, arrived));
      setView((current) => {
        const statuses = applyEvents(Object.fromEntries(current.steps.map((s) => [s.id, s.status])), arrived);
        return {
          ...current,
          steps: current.steps.map((s) => ({ ...s, status: statuses[s.id] as StepSummary['status'] })),
        };
      });
      clearTimeout(pending);
      pending = setTimeout(refresh, 250);
    };
    setEvents([]);
    setLive('connecting');
    void (async () => {
      try {
        for await (const event of client.events(id, { signal: abort.signal })) {
          setLive('live');
          batch.push(event.data);
          flush ??= setTimeout(apply, 50);
        }
        clearTimeout(flush);
        apply();
        if (!abort.signal.aborted) {
          setLive('ended');
          refresh();
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        if (error instanceof VerityApiError && error.status === 401) signOut('The API key was refused (401).');
        else setLive('error');
      }
    })();
    return () => {
      abort.abort();
      clearTimeout(flush);
      clearTimeout(pending);
    };
  }, [client, id, refresh, signOut, stream]);

  const act = async (action: 'cancel' | 'retry') => {
    setActionError(undefined);
    try {
      setView(action === 'cancel' ? await client.cancel(id) : await client.retry(id));
      if (action === 'retry') setStream((n) => n + 1);
    } catch (error) {
      setActionError(error instanceof Error ? error.message : String(error));
    }
  };

  // Escape closes the step's panel from anywhere on the page (a control that uses the key itself stops it).
  useEffect(() => {
    if (selected === undefined) return;
    const close = (event: KeyboardEvent) => {
      if (event.key === 'Escape' && !event.defaultPrevented) setSelected(undefined);
    };
    addEventListener('keydown', close);
    return () => removeEventListener('keydown', close);
  }, [selected]);

  const stepOrder = useMemo(() => view.steps.map((s) => s.id), [view.steps]);
  const step = view.steps.find((s) => s.id === selected);
  const terminal = isTerminal(view.status);
  return (
    <section>
      <div className="page-head">
        <h1>
          {view.workflowId} <span className="muted">v{view.workflowVersion}</span>
        </h1>
        <StatusBadge status={view.status} />
        <span className={`live ${live}`} role="status">
          {live === 'live'
            ? '● live'
            : live === 'connecting'
              ? 'connecting…'
              : live === 'ended'
                ? 'ended'
                : 'stream lost'}
        </span>
        <div className="actions">
          {mayAct(session.role) && !terminal && (
            <button type="button" onClick={() => void act('cancel')}>
              Cancel
            </button>
          )}
          {mayAct(session.role) && (view.status === 'failed' || view.status === 'cancelled') && (
            <button type="button" onClick={() => void act('retry')}>
              Retry
            </button>
          )}
        </div>
      </div>
      {actionError && (
        <p className="error-text" role="alert">
          {actionError}
        </p>
      )}
      <dl className="facts">
        <dt>Execution</dt>
        <dd className="mono">{view.executionId}</dd>
        <dt>Started</dt>
        <dd>
          <Time at={view.createdAt} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time at={view.finishedAt} />
        </dd>
        <dt>Spent</dt>
        <dd>
          {units(view.spent)} of {units(view.budget)}
        </dd>
        {view.error && (
          <>
            <dt>Error</dt>
            <dd className="error-text">
              <span className="mono">{view.error.code}</span>: {view.error.message}
            </dd>
          </>
        )}
      </dl>
      <div className="split">
        <div className="graph card" aria-label="the workflow's steps">
          {definition ? (
            <ExecutionGraph definition={definition} steps={view.steps} selected={selected} onSelect={setSelected} />
          ) : (
            <p className="state">The workflow's graph could not be read; the steps are listed.</p>
          )}
          <ul className="step-list" aria-label="steps">
            {view.steps.map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  className={selected === s.id ? 'step-button selected' : 'step-button'}
                  data-step={s.id}
                  data-status={s.status}
                  onClick={() => setSelected(s.id)}
                >
                  <span className="dot" style={{ background: statusColour(s.status) }} aria-hidden="true" />
                  {s.id} <span className="muted">{s.status}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
        <aside className="card panel" aria-label="step details">
          {step ? (
            <StepPanel executionId={view.executionId} step={step} events={events.filter((e) => e.stepId === step.id)} />
          ) : (
            <p className="muted">
              Choose a step (click, or Enter on a focused node or bar) to see its attempts, errors and events; Escape
              closes it.
            </p>
          )}
        </aside>
      </div>
      <Timeline events={events} order={stepOrder} running={!terminal} selected={selected} onSelect={setSelected} />
      <ZkProving
        view={view}
        events={events}
        asksForZk={definition?.['verification_level'] === 'zk'}
        ended={terminal}
        refresh={refresh}
      />
      {view.result !== null && view.result !== undefined && (
        <details className="card" open>
          <summary>Result</summary>
          <pre>{JSON.stringify(view.result, null, 2)}</pre>
        </details>
      )}
      <Receipt id={id} ended={terminal} />
      {/* The list is drawn only while open: thousands of rows nobody looks at cost every render. */}
      <details className="card" onToggle={(e) => setEventsOpen(e.currentTarget.open)}>
        <summary>Events ({events.length})</summary>
        {!eventsOpen ? null : events.length === 0 ? (
          <p className="muted">No events yet.</p>
        ) : (
          <ol className="events">
            {events.map((e) => (
              <li key={e.seq}>
                <span className="mono muted">#{e.seq}</span> <Time at={e.at} /> <strong>{e.type}</strong>
                {e.stepId && <> · {e.stepId}</>}
                {e.attempt !== undefined && <> · attempt {e.attempt}</>}
                <span className="muted"> · {e.actor}</span>
              </li>
            ))}
          </ol>
        )}
      </details>
    </section>
  );
}

function StepPanel({ executionId, step, events }: { executionId: string; step: StepSummary; events: EventView[] }) {
  // What the events carry about the step's jobs: the worker that ran it, the model, its output digest.
  const details = events.filter((e) => e.data !== undefined && Object.keys(e.data).length > 0);
  return (
    <div className="step-panel" data-step={step.id}>
      <h2>
        {step.id} <StatusBadge status={step.status} />
      </h2>
      <dl className="facts">
        <dt>Attempts</dt>
        <dd>{step.attempts}</dd>
        <dt>Queued</dt>
        <dd>
          <Time at={step.queuedAt} />
        </dd>
        <dt>Started</dt>
        <dd>
          <Time at={step.startedAt} />
        </dd>
        <dt>Finished</dt>
        <dd>
          <Time at={step.finishedAt} />
        </dd>
        <dt>Cost</dt>
        <dd>{units(step.cost)}</dd>
        {step.skipReason && (
          <>
            <dt>Skipped</dt>
            <dd>{step.skipReason}</dd>
          </>
        )}
      </dl>
      {step.error && (
        <div className="step-error" role="alert">
          <strong className="mono">{step.error.code}</strong>
          <p>{step.error.message}</p>
        </div>
      )}
      <StepDetails executionId={executionId} stepId={step.id} status={step.status} />
      {details.length > 0 && (
        <details>
          <summary>Event data ({details.length})</summary>
          {details.map((e) => (
            <div key={e.seq}>
              <p className="small">
                <strong>{e.type}</strong> <Time at={e.at} /> <span className="muted">{e.actor}</span>
              </p>
              <pre>{JSON.stringify(e.data, null, 2)}</pre>
            </div>
          ))}
        </details>
      )}
    </div>
  );
}

/** Downloads the receipt bundle and verifies it here, against the pinned coordinator key. */
function Receipt({ id, ended }: { id: string; ended: boolean }) {
  const { client } = useApp();
  const [level, setLevel] = useState<Level>('full');
  const [busy, setBusy] = useState(false);
  const [report, setReport] = useState<VerificationReport | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [serverKey, setServerKey] = useState<string | undefined>();
  const [pin, setPin] = useState(pinnedKey);
  const bundleRef = useRef<unknown>(undefined);

  const run = async () => {
    setBusy(true);
    setError(undefined);
    setReport(undefined);
    try {
      const presented = (await client.coordinatorKey()).publicKeyPem;
      setServerKey(presented);
      let trusted = pin;
      if (trusted === undefined) {
        // Trust on first use: the first key seen is pinned, and every later one is compared with it.
        pinKey(presented);
        setPin(presented);
        trusted = presented;
      }
      const bundle = await client.receipt(id, { includeData: level === 'full' });
      bundleRef.current = bundle;
      setReport(await verifyHere(bundle, trusted, level));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const download = () => {
    const blob = new Blob([JSON.stringify(bundleRef.current, null, 2)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `receipt-${id}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const mismatch = pin !== undefined && serverKey !== undefined && !sameKey(pin, serverKey);
  return (
    <div className="card receipt">
      <h2>Receipt</h2>
      {!ended ? (
        <p className="muted">The receipt is signed when the execution ends.</p>
      ) : (
        <>
          <div className="row">
            <label>
              Level{' '}
              <select value={level} onChange={(e) => setLevel(e.target.value === 'basic' ? 'basic' : 'full')}>
                <option value="basic">basic</option>
                <option value="full">full</option>
              </select>
            </label>
            <button type="button" className="primary" disabled={busy} onClick={() => void run()}>
              {busy ? 'Verifying…' : 'Verify receipt in this page'}
            </button>
            {report !== undefined && (
              <button type="button" onClick={download}>
                Save bundle
              </button>
            )}
          </div>
          {mismatch && (
            <div className="alarm" role="alert">
              <strong>Warning: the server presents a different coordinator key than the one pinned.</strong>
              <p>
                pinned <span className="mono">{fingerprint(pin)}</span>, presented{' '}
                <span className="mono">{fingerprint(serverKey)}</span>. The bundle was verified against the pinned key.
                If the coordinator key was rotated on purpose, pin the new one.
              </p>
              <button
                type="button"
                onClick={() => {
                  pinKey(serverKey);
                  setPin(serverKey);
                }}
              >
                Pin the presented key
              </button>
            </div>
          )}
          {pin && (
            <p className="small muted">
              Coordinator key (pinned in this browser): <span className="mono fingerprint">{fingerprint(pin)}</span>
            </p>
          )}
          {error && (
            <p className="error-text" role="alert">
              {error}
            </p>
          )}
          {report && <ReportView report={report} />}
        </>
      )}
    </div>
  );
}

/** The graph route's answer in the definition's own shape, which the layout reads. */
function graphDefinition(graph: ExecutionGraphView): Record<string, unknown> {
  return {
    verification_level: graph.verificationLevel,
    steps: graph.steps.map((step) => ({
      id: step.id,
      depends_on: step.dependsOn,
      step_type: step.stepType,
      ...(step.model !== undefined && { model_requirements: { name: step.model } }),
    })),
  };
}
