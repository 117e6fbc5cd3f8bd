import type { VerificationReport } from 'verity/verify';

/** Every named check of a report, ✓ or ✗ (or – when the rule did not apply), with what it found. */
export function ReportView({ report }: { report: VerificationReport }) {
  const failed = report.checks.filter((c) => !c.ok);
  return (
    <div className="report" data-ok={report.ok}>
      <p className={report.ok ? 'verdict ok' : 'verdict bad'} role="status">
        {report.ok
          ? `✓ Verified at level ${report.level}: all ${report.checks.length} checks passed`
          : report.unusable
            ? `✗ Unusable: ${report.unusable}`
            : `✗ Verification failed at level ${report.level}: ${failed.length} of ${report.checks.length} checks failed (${failed.map((c) => c.name).join(', ')})`}
      </p>
      {report.executionId && (
        <p className="muted small">
          execution <span className="mono">{report.executionId}</span>
          {report.workflow && (
            <>
              {' '}
              · workflow {report.workflow.id} v{report.workflow.version}
            </>
          )}
          {report.status && <> · {report.status}</>}
        </p>
      )}
      <ul className="checks">
        {report.checks.map((check, i) => (
          <li key={`${check.name}-${i}`} className={check.ok ? 'ok' : 'bad'} data-check={check.name}>
            <span className="mark" aria-label={check.ok ? (check.skipped ? 'skipped' : 'passed') : 'failed'}>
              {check.ok ? (check.skipped ? '–' : '✓') : '✗'}
            </span>
            <span className="mono">{check.name}</span>
            <span className="muted">{check.message}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
