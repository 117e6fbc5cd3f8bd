import { useState } from 'react';
import type { ExecutionList } from 'verity/sdk';
import { Loaded, StatusBadge, Time } from '../components';
import { useApp } from '../lib/app-context';
import { href } from '../lib/router';
import { useLoad } from '../lib/use-load';

const STATUSES = ['running', 'completed', 'failed', 'cancelled', 'timed_out', 'budget_exceeded'];
const PAGE = 25;
/** Until the API streams the list, it is polled. */
const POLL_MS = 3000;

export function Executions({ status, workflow }: { status: string | undefined; workflow: string | undefined }) {
  const { client } = useApp();
  // The cursors of the pages before this one, so "Newer" goes back; `before` is the API's own cursor.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const [load, retry] = useLoad<ExecutionList>(
    () =>
      client.listExecutions({
        limit: PAGE,
        ...(status && { status: [status] }),
        ...(workflow && { workflowId: workflow }),
        ...(before !== undefined && { before }),
      }),
    [client, status, workflow, before],
    { pollMs: POLL_MS },
  );

  const setFilter = (next: { status?: string | undefined; workflow?: string | undefined }) => {
    setCursors([undefined]);
    const nextStatus = 'status' in next ? next.status : status;
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
          <label>
            Status{' '}
            <select
              value={status ?? ''}
              onChange={(e) => {
                setCursors([undefined]);
                location.hash = href({
                  page: 'executions',
                  ...(e.target.value && { status: e.target.value }),
                  ...(workflow && { workflow }),
                }).slice(1);
              }}
            >
              <option value="">any</option>
              {STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const value = new FormData(e.currentTarget).get('workflow');
              setFilter({ workflow: typeof value === 'string' ? value.trim() : undefined });
            }}
          >
            <label>
              Workflow <input name="workflow" defaultValue={workflow ?? ''} placeholder="id" size={14} />
            </label>{' '}
            <button type="submit">Filter</button>
          </form>
          {(status || workflow) && (
            <a href={href({ page: 'executions' })} onClick={() => setCursors([undefined])}>
              Clear
            </a>
          )}
        </div>
      </div>
      <Loaded
        load={load}
        retry={retry}
        isEmpty={(list) => list.executions.length === 0}
        empty={
          <p>
            {status || workflow
              ? 'No execution matches these filters.'
              : 'No executions yet. Start one with verity run --server, the SDK or POST /v1/agents/{id}/execute.'}
          </p>
        }
      >
        {(list) => (
          <>
            <div className="table-wrap">
              <table className="list">
                <thead>
                  <tr>
                    <th>Execution</th>
                    <th>Workflow</th>
                    <th>Status</th>
                    <th>Started</th>
                    <th>Finished</th>
                  </tr>
                </thead>
                <tbody>
                  {list.executions.map((e) => (
                    <tr key={e.executionId}>
                      <td>
                        <a className="mono" href={href({ page: 'execution', id: e.executionId })}>
                          {e.executionId.slice(0, 8)}
                        </a>
                      </td>
                      <td>
                        {e.workflowId} <span className="muted">v{e.workflowVersion}</span>
                      </td>
                      <td>
                        <StatusBadge status={e.status} />
                      </td>
                      <td>
                        <Time at={e.createdAt} />
                      </td>
                      <td>
                        <Time at={e.finishedAt} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <div className="pager">
              <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
                ← Newer
              </button>
              <button
                type="button"
                disabled={list.next === undefined}
                onClick={() => setCursors((c) => [...c, list.next])}
              >
                Older →
              </button>
            </div>
          </>
        )}
      </Loaded>
    </section>
  );
}
