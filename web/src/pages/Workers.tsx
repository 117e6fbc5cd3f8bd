import type { WorkerView } from 'verity/sdk';
import { Loaded, StatusBadge, Time } from '../components';
import { useApp } from '../lib/app-context';
import { href } from '../lib/router';
import { useLoad } from '../lib/use-load';

/** The API has no stream of workers: the page asks again this often. */
const POLL_MS = 3000;

/** GET /v1/workers (admin): each worker's status, capabilities and the jobs it holds under a lease now. */
export function Workers() {
  const { client, session } = useApp();
  const admin = session.role === 'admin';
  const [load, retry] = useLoad<WorkerView[]>(
    () => (admin ? client.listWorkers() : Promise.resolve([])),
    [client, admin],
    { pollMs: POLL_MS },
  );
  if (!admin)
    return (
      <div className="state empty">
        <p>The workers page is for admin keys.</p>
      </div>
    );
  return (
    <section>
      <div className="page-head">
        <h1>Workers</h1>
      </div>
      <Loaded
        load={load}
        retry={retry}
        isEmpty={(list) => list.length === 0}
        empty={<p>No worker has registered. Start one with verity worker, or serve with in-process workers.</p>}
      >
        {(list) => (
          <div className="table-wrap">
            <table className="list workers">
              <thead>
                <tr>
                  <th>Worker</th>
                  <th>Status</th>
                  <th>Capabilities</th>
                  <th>Jobs</th>
                  <th>Last seen</th>
                </tr>
              </thead>
              <tbody>
                {list.map((w) => (
                  <tr key={w.id} data-worker={w.id} data-kind={w.kind}>
                    <td>
                      <strong>{w.name}</strong> <span className="muted">{w.kind}</span>
                      <div className="mono small worker-id">{w.id}</div>
                      {w.principal && <div className="small muted">{w.principal}</div>}
                    </td>
                    <td>
                      {/* A killed remote worker cannot say it stopped: it stays active, silent. */}
                      <StatusBadge status={w.status === 'active' && !w.responsive ? 'unresponsive' : w.status} />
                      <div className="small muted">concurrency {w.concurrency}</div>
                    </td>
                    <td className="small">
                      <div>{w.capabilities.stepTypes.join(', ')}</div>
                      <ul className="models">
                        {w.capabilities.models.map((m) => {
                          const digest = w.capabilities.modelDigests?.[m];
                          return (
                            <li key={m}>
                              <span className="mono">{m}</span>
                              {digest && (
                                <span className="muted mono" title={digest}>
                                  {' '}
                                  {digest.slice(0, 12)}…
                                </span>
                              )}
                            </li>
                          );
                        })}
                      </ul>
                    </td>
                    <td className="small jobs">
                      {w.jobs.length === 0 ? (
                        <span className="muted">idle</span>
                      ) : (
                        <ul>
                          {w.jobs.map((j) => (
                            <li key={j.jobId} data-job={j.jobId}>
                              <a
                                href={href({ page: 'execution', id: j.executionId })}
                                className="mono"
                                title={j.executionId}
                              >
                                {j.executionId.slice(0, 8)}
                              </a>{' '}
                              {j.stepId} <span className="muted">#{j.attempt}</span> {j.status}
                              {j.leaseExpiresAt && (
                                <span className="muted">
                                  {' '}
                                  · lease until <Time at={j.leaseExpiresAt} />
                                </span>
                              )}
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td>
                      <Time at={w.lastSeenAt} />
                      {w.status === 'active' && !w.responsive && (
                        <div className="small muted">
                          no ping for over 30 s; its jobs return to the queue when their leases end
                        </div>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Loaded>
    </section>
  );
}
