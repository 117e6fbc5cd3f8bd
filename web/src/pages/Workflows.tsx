import { Loaded, Time } from '../components';
import { useApp } from '../lib/app-context';
import { href } from '../lib/router';
import { useLoad } from '../lib/use-load';

export function Workflows() {
  const { client } = useApp();
  const [load, retry] = useLoad(() => client.listWorkflows(), [client]);
  return (
    <section>
      <div className="page-head">
        <h1>Workflows</h1>
        <div className="actions">
          <a href={href({ page: 'check' })}>Check a definition</a>
        </div>
      </div>
      <Loaded
        load={load}
        retry={retry}
        isEmpty={(list) => list.length === 0}
        empty={
          <p>
            No workflows yet. A publisher key publishes one with verity run FILE --server URL, or POST /v1/workflows.
          </p>
        }
      >
        {(list) => (
          <div className="table-wrap">
            <table className="list">
              <thead>
                <tr>
                  <th>Workflow</th>
                  <th>Latest version</th>
                  <th>Steps</th>
                  <th>Owner</th>
                  <th>Published</th>
                  <th>Runs</th>
                </tr>
              </thead>
              <tbody>
                {list.map((w) => (
                  <tr key={w.workflowId} data-workflow={w.workflowId}>
                    <td>
                      <a href={href({ page: 'workflow', id: w.workflowId })}>{w.name || w.workflowId}</a>
                      <div className="muted mono small">{w.workflowId}</div>
                    </td>
                    <td>
                      <a href={href({ page: 'workflow', id: w.workflowId, version: w.version })}>v{w.version}</a>
                    </td>
                    <td>{w.steps}</td>
                    <td>{w.owner}</td>
                    <td>
                      <Time at={w.createdAt} />
                    </td>
                    <td>
                      <a href={href({ page: 'executions', workflow: w.workflowId })}>Executions</a>
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
