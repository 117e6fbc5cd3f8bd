import { useMemo, useState } from 'react';
import { VerityApiError } from 'verity/sdk';
import type { WorkflowDetail, WorkflowSummary } from 'verity/sdk';
import { Loaded, Time } from '../components';
import { DefinitionGraph } from '../components/DefinitionGraph';
import { InputsForm } from '../components/InputsForm';
import { useApp } from '../lib/app-context';
import { definitionYaml } from '../lib/definition-text';
import { mayAct } from '../lib/role';
import { href } from '../lib/router';
import { useLoad } from '../lib/use-load';
import './workflow.css';

interface WorkflowAndVersions {
  detail: WorkflowDetail;
  versions: WorkflowSummary[];
}

/** One workflow: its versions, the chosen one's definition as YAML and as a graph, and a form to run it. */
export function Workflow({ id, version }: { id: string; version: number | undefined }) {
  const { client } = useApp();
  const [load, retry] = useLoad<WorkflowAndVersions>(async () => {
    const [detail, versions] = await Promise.all([client.getWorkflow(id, version), client.listWorkflowVersions(id)]);
    return { detail, versions };
  }, [client, id, version]);
  return (
    <Loaded load={load} retry={retry}>
      {({ detail, versions }) => <WorkflowView detail={detail} versions={versions} pinned={version !== undefined} />}
    </Loaded>
  );
}

function WorkflowView({
  detail,
  versions,
  pinned,
}: {
  detail: WorkflowDetail;
  versions: WorkflowSummary[];
  pinned: boolean;
}) {
  const { session } = useApp();
  const latest = Math.max(...versions.map((v) => v.version), detail.version);
  const schema = detail.definition['inputs'];
  return (
    <section className="workflow-page">
      <div className="page-head">
        <h1>
          {detail.name || detail.workflowId} <span className="muted">v{detail.version}</span>
        </h1>
        {detail.version < latest && <span className="badge muted">not the latest (v{latest})</span>}
        <div className="actions">
          <a href={href({ page: 'executions', workflow: detail.workflowId })}>Its executions</a>
          <a href={href({ page: 'check', workflow: detail.workflowId, version: detail.version })}>
            Open in the checker
          </a>
        </div>
      </div>
      {detail.description && <p className="muted">{detail.description}</p>}
      <dl className="facts">
        <dt>Workflow</dt>
        <dd className="mono">{detail.workflowId}</dd>
        <dt>Version</dt>
        <dd>
          v{detail.version}
          {!pinned && <span className="muted"> (the latest)</span>}
        </dd>
        <dt>Digest</dt>
        <dd className="mono digest-full" title="the SHA-256 of the normalized definition: what receipts name">
          {detail.digest}
        </dd>
        <dt>Owner</dt>
        <dd>{detail.owner}</dd>
        <dt>Published</dt>
        <dd>
          <Time at={detail.createdAt} />
        </dd>
        <dt>Steps</dt>
        <dd>{detail.steps}</dd>
      </dl>
      <div className="split">
        <div className="card">
          <h2>Steps</h2>
          <DefinitionGraph definition={detail.definition} />
        </div>
        <aside className="card" aria-label="run this version">
          <h2>Run v{detail.version}</h2>
          {mayAct(session.role) ? (
            <RunForm
              workflowId={detail.workflowId}
              version={detail.version}
              schema={isObject(schema) ? schema : undefined}
            />
          ) : (
            <p className="muted">This key’s role cannot run workflows.</p>
          )}
        </aside>
      </div>
      <DefinitionYaml definition={detail.definition} />
      <Versions versions={versions} current={detail.version} />
    </section>
  );
}

function RunForm({
  workflowId,
  version,
  schema,
}: {
  workflowId: string;
  version: number;
  schema: Record<string, unknown> | undefined;
}) {
  const { client, signOut } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const run = async (inputs: Record<string, unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      const started = await client.execute(workflowId, { inputs, version });
      location.hash = href({ page: 'execution', id: started.executionId });
    } catch (e) {
      if (e instanceof VerityApiError && e.status === 401) signOut('The server no longer accepts this API key (401).');
      // The server's refusal names the field it objects to (inputs.x: …): shown as it is.
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };
  return (
    <>
      <InputsForm schema={schema} onSubmit={(inputs) => void run(inputs)} submitLabel={`Run v${version}`} busy={busy} />
      {error && (
        <p className="error-text run-error" role="alert">
          The server refused to run it: {error}
        </p>
      )}
    </>
  );
}

function DefinitionYaml({ definition }: { definition: Record<string, unknown> }) {
  const yaml = useMemo(() => definitionYaml(definition), [definition]);
  const [copied, setCopied] = useState<'yes' | 'failed' | undefined>();
  const copy = () => {
    navigator.clipboard.writeText(yaml).then(
      () => setCopied('yes'),
      // The clipboard is refused outside a secure context or without permission: the text can still be selected.
      () => setCopied('failed'),
    );
  };
  return (
    <div className="card">
      <div className="page-head">
        <h2>Definition (YAML)</h2>
        <div className="actions">
          <span className="small muted" role="status">
            {copied === 'yes'
              ? 'Copied.'
              : copied === 'failed'
                ? 'The browser refused the clipboard; select the text.'
                : ''}
          </span>
          <button type="button" onClick={copy}>
            Copy
          </button>
        </div>
      </div>
      <p className="small muted">As the server keeps it: every default filled in. The digest is of this form.</p>
      <pre className="definition-yaml" tabIndex={0} aria-label="the definition as YAML">
        {yaml}
      </pre>
    </div>
  );
}

function Versions({ versions, current }: { versions: WorkflowSummary[]; current: number }) {
  const newestFirst = [...versions].sort((a, b) => b.version - a.version);
  return (
    <div className="card">
      <h2>Versions ({versions.length})</h2>
      <div className="table-wrap">
        <table className="list">
          <thead>
            <tr>
              <th>Version</th>
              <th>Published</th>
              <th>Steps</th>
              <th>Digest</th>
            </tr>
          </thead>
          <tbody>
            {newestFirst.map((v) => (
              <tr key={v.version} data-version={v.version}>
                <td>
                  <a
                    href={href({ page: 'workflow', id: v.workflowId, version: v.version })}
                    aria-current={v.version === current ? 'page' : undefined}
                  >
                    v{v.version}
                  </a>
                  {v.version === current && <span className="muted"> (shown)</span>}
                </td>
                <td>
                  <Time at={v.createdAt} />
                </td>
                <td>{v.steps}</td>
                <td className="mono small" title={v.digest}>
                  {v.digest.slice(0, 19)}…
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
