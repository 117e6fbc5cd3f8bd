import { useEffect, useMemo, useState } from 'react';
import { VerityApiError } from 'verity/sdk';
import type { ValidationResult } from 'verity/sdk';
import { DefinitionGraph } from '../components/DefinitionGraph';
import { useApp } from '../lib/app-context';
import { definitionYaml, parseDefinition } from '../lib/definition-text';
import { markOf, placeIssues } from '../lib/issues-on-graph';
import type { PlacedIssue } from '../lib/issues-on-graph';
import { href } from '../lib/router';
import './workflow.css';

const STARTER = `id: my-workflow
name: My workflow
inputs:
  type: object
  required: [n]
  properties:
    n: { type: integer, minimum: 0 }
steps:
  - id: double
    step_type: data_processing
    input_mappings: { n: "inputs.n" }
    expression: "n * 2"
  - id: report
    step_type: data_processing
    depends_on: [double]
    input_mappings: { v: "steps.double.output" }
    expression: "{ 'doubled': v }"
outputs:
  result: "steps.report.output"
`;

interface Checked {
  text: string;
  definition: Record<string, unknown> | undefined;
  result: ValidationResult;
}

/**
 * The definition checker: YAML or JSON in, POST /v1/workflows/validate's errors and warnings out, listed and
 * drawn on the step each is about. A publisher can publish what passes.
 */
export function CheckDefinition({
  workflow,
  version,
}: {
  workflow?: string | undefined;
  version?: number | undefined;
}) {
  const { client, session, signOut } = useApp();
  const [text, setText] = useState(workflow ? '' : STARTER);
  const [loading, setLoading] = useState(workflow !== undefined);
  const [checked, setChecked] = useState<Checked | undefined>();
  const [busy, setBusy] = useState<'check' | 'publish' | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [published, setPublished] = useState<{ id: string; version: number } | undefined>();

  const failed = (e: unknown) => {
    if (e instanceof VerityApiError && e.status === 401) signOut('The server no longer accepts this API key (401).');
    setError(e instanceof Error ? e.message : String(e));
  };

  // Opened from a workflow's page: its definition, as YAML, to edit into the next version.
  useEffect(() => {
    if (!workflow) return;
    let current = true;
    setLoading(true);
    client.getWorkflow(workflow, version).then(
      (detail) => {
        if (!current) return;
        setText(definitionYaml(detail.definition));
        setLoading(false);
      },
      (e: unknown) => {
        if (!current) return;
        failed(e);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
    // `failed` only reads signOut, which is stable.
  }, [client, workflow, version]);

  const check = async () => {
    setBusy('check');
    setError(undefined);
    setPublished(undefined);
    try {
      const result = await client.validateWorkflow(text);
      setChecked({ text, definition: parseDefinition(text), result });
    } catch (e) {
      failed(e);
    } finally {
      setBusy(undefined);
    }
  };

  const publish = async () => {
    setBusy('publish');
    setError(undefined);
    try {
      const detail = await client.publishWorkflow(text);
      setPublished({ id: detail.workflowId, version: detail.version });
    } catch (e) {
      failed(e);
    } finally {
      setBusy(undefined);
    }
  };

  // The issues are placed on the definition they were found in: after an edit, they are stale until rechecked.
  const current = checked?.text === text ? checked : undefined;
  const drawn = useMemo(() => current?.definition ?? parseDefinition(text), [current, text]);
  const placed = useMemo(() => current && placeIssues(current.definition, current.result), [current]);
  const marks = useMemo(
    () => new Map([...(placed?.byStep ?? new Map<string, PlacedIssue[]>())].map(([id, list]) => [id, markOf(list)])),
    [placed],
  );
  const mayPublish = session.role === 'publisher' || session.role === 'admin';

  return (
    <section className="workflow-page checker">
      <div className="page-head">
        <h1>Check a definition</h1>
        <div className="actions">
          <a href={href({ page: 'workflows' })}>All workflows</a>
        </div>
      </div>
      <p className="muted">
        Paste or edit a workflow definition in YAML or JSON. Checking sends it to the server’s validator, which
        publishes nothing; each problem is listed and marked on the step it is about.
      </p>
      <div className="checker-split">
        <div className="card">
          <label htmlFor="definition-text">
            <h2>Definition (YAML or JSON)</h2>
          </label>
          <textarea
            id="definition-text"
            value={loading ? '' : text}
            disabled={loading}
            placeholder={loading ? 'Loading the definition…' : 'id: …\nsteps:\n  - id: …'}
            spellCheck={false}
            wrap="off"
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) void check();
            }}
          />
          <div className="row checker-actions">
            <button
              type="button"
              className="primary"
              disabled={busy !== undefined || loading}
              onClick={() => void check()}
            >
              {busy === 'check' ? 'Checking…' : 'Check'}
            </button>
            {mayPublish && (
              <button
                type="button"
                disabled={busy !== undefined || loading || current?.result.valid !== true}
                title={current?.result.valid === true ? undefined : 'Check it first: only a valid definition publishes'}
                onClick={() => void publish()}
              >
                {busy === 'publish' ? 'Publishing…' : 'Publish'}
              </button>
            )}
            <span className="small muted">Ctrl+Enter checks.</span>
          </div>
          {error && (
            <p className="error-text" role="alert">
              {error}
            </p>
          )}
          {published && (
            <p className="notice" role="status">
              Published as v{published.version}:{' '}
              <a href={href({ page: 'workflow', id: published.id, version: published.version })}>
                open {published.id} v{published.version}
              </a>
            </p>
          )}
        </div>
        <div className="card" aria-label="what the check found">
          <h2>Result</h2>
          {!checked ? (
            <p className="muted">Not checked yet.</p>
          ) : (
            <Verdict checked={checked} stale={current === undefined} />
          )}
          {placed && placed.elsewhere.length > 0 && (
            <>
              <h3 className="small">Not about one step</h3>
              <IssueList issues={placed.elsewhere} label="issues not on a step" />
            </>
          )}
          {drawn ? (
            <DefinitionGraph definition={drawn} marks={marks} label="the definition's steps, with their problems" />
          ) : (
            <p className="state">This text does not parse as YAML or JSON yet; check it to see where.</p>
          )}
          {placed && placed.byStep.size > 0 && (
            <>
              <h3 className="small">On steps</h3>
              <IssueList
                issues={[...placed.byStep].flatMap(([step, list]) => list.map((issue) => ({ ...issue, step })))}
                label="issues on steps"
              />
            </>
          )}
        </div>
      </div>
    </section>
  );
}

function Verdict({ checked, stale }: { checked: Checked; stale: boolean }) {
  const { result } = checked;
  return (
    <div role="status">
      {result.valid ? (
        <p className="verdict-line ok">
          ✓ Valid
          {result.summary &&
            `: ${result.summary.steps} steps, ${result.summary.depth} deep, up to ${result.summary.width} at once`}
          {result.warnings.length > 0 &&
            ` · ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}`}
        </p>
      ) : (
        <p className="verdict-line bad">
          ✗ {result.errors.length} error{result.errors.length === 1 ? '' : 's'}
          {result.warnings.length > 0 &&
            `, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}`}
        </p>
      )}
      {result.summary && (
        <p className="small muted">
          Digest <span className="mono digest-full">{result.summary.digest}</span>
        </p>
      )}
      {stale && <p className="small muted">Edited since this check: check again to update the marks.</p>}
    </div>
  );
}

function IssueList({ issues, label }: { issues: (PlacedIssue & { step?: string })[]; label: string }) {
  return (
    <ul className="issues" aria-label={label}>
      {issues.map((issue, index) => (
        <li key={index} className={issue.severity} data-path={issue.path}>
          <span className="mono small">
            {issue.severity === 'error' ? '✗' : '!'} {issue.step !== undefined && <strong>{issue.step} · </strong>}
            {issue.path || '(the definition)'}
            {issue.line !== undefined && ` · line ${issue.line}${issue.column !== undefined ? `:${issue.column}` : ''}`}
          </span>
          <div>{issue.message}</div>
        </li>
      ))}
    </ul>
  );
}
