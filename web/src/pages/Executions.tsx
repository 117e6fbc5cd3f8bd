import { useEffect, useState } from 'react';
import type { ExecutionList, ExecutionSummary } from 'verity/sdk';
import { VerityApiError } from 'verity/sdk';
import { Pager, usePages } from '../components/Pager';
import { Loaded, StatusBadge, Time } from '../components';
import { useApp } from '../lib/app-context';
import { href } from '../lib/router';
import { EXECUTION_STATUSES, duration, keepNewest, mergeRows, parseStatuses, shortId, toggleStatus } from '../lib/rows';
import { statusColour } from '../lib/status';
import { units } from '../lib/time';
import { useLoad } from '../lib/use-load';

const PAGE = 25;
/** How long to wait before reopening the list stream once the SDK has given up resuming it. */
const REOPEN_MS = 3000;

/**
 * The rows of the list stream (GET /v1/executions/stream) as they arrive, newest of each execution. The SDK
 * resumes a dropped connection from the last event id; should it give up, the stream is reopened from that
 * id after a pause.
 */
function useExecutionChanges(): Map<string, ExecutionSummary> {
  const { client, signOut } = useApp();
  const [rows, setRows] = useState<Map<string, ExecutionSummary>>(() => new Map());
  useEffect(() => {
    const abort = new AbortController();
    let since: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const open = async () => {
      try {
        for await (const change of client.executionChanges({
          signal: abort.signal,
          ...(since !== undefined && { since }),
        })) {
          since = change.id;
          setRows((known) => keepNewest(known, [change.execution]));
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        if (error instanceof VerityApiError && error.status === 401) {
          signOut('The server no longer accepts this API key (401). Sign in again.');
          return;
        }
      }
      if (!abort.signal.aborted) timer = setTimeout(() => void open(), REOPEN_MS);
    };
    void open();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [client, signOut]);
  return rows;
}

/** The workflow ids this key can read, to offer in the workflow filter; without them the field still takes any id. */
function useWorkflowIds(): string[] {
  const { client } = useApp();
  const [ids, setIds] = useState<string[]>([]);
  useEffect(() => {
    let current = true;
    client.listWorkflows().then(
      (list) => current && setIds([...new Set(list.map((w) => w.workflowId))].sort()),
      // Only a convenience: the list works without it, and a 401 is the list's own load to report.
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [client]);
  return ids;
}

export function Executions({ status, workflow }: { status: string | undefined; workflow: string | undefined }) {
  const { client } = useApp();
  const { known: statuses, unknown } = parseStatuses(status);
  const statusKey = statuses.join(',');
  // `before` is the API's own cursor: the last execution of the page before.
  const pages = usePages();
  const before = pages.cursor;
  const [load, retry] = useLoad<ExecutionList>(
    () =>
      client.listExecutions({
        limit: PAGE,
        ...(statusKey && { status: statusKey.split(',') }),
        ...(workflow && { workflowId: workflow }),
        ...(before !== undefined && { before }),
      }),
    [client, statusKey, workflow, before],
  );
  const streamed = useExecutionChanges();
  const workflowIds = useWorkflowIds();
  const filter = { status: statuses, workflow };

  // The filters live in the URL, so a filtered list can be bookmarked or sent; a new filter starts at the newest page.
  const setFilter = (next: { status?: readonly string[]; workflow?: string | undefined }) => {
    pages.reset();
    const nextStatus = (next.status ?? statuses).join(',');
    const nextWorkflow = 'workflow' in next ? next.workflow : workflow;
    location.hash = href({
      page: 'executions',
      ...(nextStatus && { status: nextStatus }),
      ...(nextWorkflow && { workflow: nextWorkflow }),
    }).slice(1);
  };

  return (
    <section>
      <div className="page-head">
        <h1>Executions</h1>
        <div className="filters">
          <div className="chips" role="group" aria-label="Status">
            <span className="muted small">Status</span>
            {EXECUTION_STATUSES.map((s) => (
              <button
                key={s}
                type="button"
                className="chip"
                data-chip={s}
                aria-pressed={statuses.includes(s)}
                onClick={() => setFilter({ status: toggleStatus(statuses, s) })}
              >
                <span className="dot" style={{ background: statusColour(s) }} aria-hidden="true" />
                {s.replace('_', ' ')}
              </button>
            ))}
          </div>
          <form
            key={workflow ?? ''}
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              const value = new FormData(e.currentTarget).get('workflow');
              setFilter({ workflow: typeof value === 'string' ? value.trim() : undefined });
            }}
          >
            <label>
              Workflow{' '}
              <input
                name="workflow"
                defaultValue={workflow ?? ''}
                placeholder="any"
                size={14}
                list="workflow-ids"
                autoComplete="off"
              />
            </label>
            <datalist id="workflow-ids">
              {workflowIds.map((id) => (
                <option key={id} value={id} />
              ))}
            </datalist>
            <button type="submit">Filter</button>
          </form>
          {(status || workflow) && (
            <a href={href({ page: 'executions' })} onClick={pages.reset}>
              Clear
            </a>
          )}
        </div>
      </div>
      {unknown.length > 0 && (
        <p className="notice" role="status">
          This link asks for {unknown.length === 1 ? 'a status' : 'statuses'} the list does not know (
          <span className="mono">{unknown.join(', ')}</span>): left out. The statuses are{' '}
          {EXECUTION_STATUSES.join(', ')}.
        </p>
      )}
      <Loaded
        load={load}
        retry={retry}
        isEmpty={(list) => mergeRows(list.executions, streamed, filter, before === undefined).length === 0}
        empty={
          <p>
            {statuses.length > 0 || workflow
              ? 'No execution matches these filters.'
              : 'No executions yet. Start one with verity run --server, the SDK or POST /v1/agents/{id}/execute.'}
          </p>
        }
      >
        {(list) => (
          <>
            <p className="muted live-note">
              <span className="dot live-dot" aria-hidden="true" /> Live: rows change as executions start and end.
            </p>
            <div className="table-wrap">
              <table className="list">
                <thead>
                  <tr>
                    <th>Execution</th>
                    <th>Workflow</th>
                    <th>Status</th>
                    <th>Started</th>
                    <th>Duration</th>
                    <th>Steps</th>
                    <th>Cost</th>
                  </tr>
                </thead>
                <tbody>
                  {mergeRows(list.executions, streamed, filter, before === undefined).map((e) => (
                    <tr key={e.executionId} data-execution={e.executionId} data-status={e.status}>
                      <td>
                        <a className="mono" href={href({ page: 'execution', id: e.executionId })} title={e.executionId}>
                          {shortId(e.executionId)}
                        </a>
                      </td>
                      <td>
                        {e.workflowId} <span className="muted">v{e.workflowVersion}</span>
                      </td>
                      <td>
                        <StatusBadge status={e.status} />
                      </td>
                      <td>
                        <Time at={e.startedAt} />
                      </td>
                      <td className="num" title={e.finishedAt ? `ended ${e.finishedAt}` : 'not ended yet'}>
                        {duration(e.durationMs)}
                      </td>
                      <td className="num steps-count" title={stepsTitle(e.steps)}>
                        {e.steps.completed}/{e.steps.total}
                        {e.steps.failed > 0 && <span className="text-bad"> · {e.steps.failed} failed</span>}
                        {e.steps.running > 0 && <span className="muted"> · {e.steps.running} running</span>}
                      </td>
                      <td className="num" title="integer micro-units, shown as units">
                        {units(e.spent)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager pages={pages} next={list.next} />
          </>
        )}
      </Loaded>
    </section>
  );
}

function stepsTitle(steps: ExecutionSummary['steps']): string {
  return `${steps.completed} completed, ${steps.failed} failed, ${steps.running} running, of ${steps.total}`;
}
