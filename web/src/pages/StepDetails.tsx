import { useEffect, useState } from 'react';
import type { StepDetail } from 'verity/sdk';
import { Loaded, StatusBadge, Time } from '../components';
import { useApp } from '../lib/app-context';
import { blobLinksIn, isRasterImage } from '../lib/blob';
import type { BlobLink } from '../lib/blob';
import { units } from '../lib/time';
import { useLoad } from '../lib/use-load';

/**
 * GET /v1/executions/{id}/steps/{stepId}: the step's attempts (worker, times, lease, error, cost), its
 * model, and its resolved input and output. Reloaded when the step's status changes.
 */
export function StepDetails({ executionId, stepId, status }: { executionId: string; stepId: string; status: string }) {
  const { client } = useApp();
  const [load, retry] = useLoad<StepDetail>(
    () => client.getStep(executionId, stepId),
    [client, executionId, stepId, status],
  );
  return (
    <Loaded load={load} retry={retry}>
      {(detail) => (
        <div className="step-details">
          {detail.model && (
            <dl className="facts step-model">
              <dt>Model</dt>
              <dd className="mono">{detail.model.name}</dd>
              {detail.model.version && (
                <>
                  <dt>Version</dt>
                  <dd className="mono">{detail.model.version}</dd>
                </>
              )}
              {detail.model.digest && (
                <>
                  <dt>Digest</dt>
                  <dd className="mono digest" title={detail.model.digest}>
                    {detail.model.digest}
                  </dd>
                </>
              )}
            </dl>
          )}
          {detail.attempts.length > 0 && (
            <div className="attempts">
              <h3 className="small">Attempts</h3>
              <ol>
                {detail.attempts.map((a) => (
                  <li key={a.jobId} data-job={a.jobId} className="attempt">
                    <div>
                      #{a.attempt}
                      {a.replica !== undefined && <span className="muted"> replica {a.replica}</span>}{' '}
                      <StatusBadge status={a.status} />
                    </div>
                    <dl className="facts">
                      <dt>Worker</dt>
                      <dd className="mono worker-id">{a.workerId ?? '—'}</dd>
                      <dt>Queued</dt>
                      <dd>
                        <Time at={a.queuedAt} />
                      </dd>
                      <dt>Started</dt>
                      <dd>
                        <Time at={a.startedAt} />
                      </dd>
                      <dt>Finished</dt>
                      <dd>
                        <Time at={a.finishedAt} />
                      </dd>
                      {a.leaseExpiresAt && !a.finishedAt && (
                        <>
                          <dt>Lease until</dt>
                          <dd>
                            <Time at={a.leaseExpiresAt} />
                          </dd>
                        </>
                      )}
                      <dt>Cost</dt>
                      <dd>{a.cost === undefined ? '—' : units(a.cost)}</dd>
                    </dl>
                    {a.error && (
                      <div className="attempt-error small">
                        <strong className="mono">{a.error.code}</strong> {a.error.message}
                      </div>
                    )}
                  </li>
                ))}
              </ol>
            </div>
          )}
          {detail.input !== undefined && (
            <JsonValue label="Input" className="step-input" value={detail.input} digest={detail.inputDigest} />
          )}
          {detail.output !== undefined && (
            <JsonValue
              label={detail.outputStorage === 'blob' ? 'Output (kept as a blob)' : 'Output'}
              className="step-output"
              value={detail.output}
              digest={detail.outputDigest}
            />
          )}
        </div>
      )}
    </Loaded>
  );
}

function JsonValue({
  label,
  className,
  value,
  digest,
}: {
  label: string;
  className: string;
  value: unknown;
  digest: string | undefined;
}) {
  const blobs = blobLinksIn(value);
  return (
    <div className={className}>
      <h3 className="small">
        {label}{' '}
        {digest && (
          <span className="muted mono" title={digest}>
            {digest.slice(0, 19)}…
          </span>
        )}
      </h3>
      <pre>{JSON.stringify(value, null, 2)}</pre>
      {blobs.map((b) => (
        <BlobView key={b.$blob} blob={b} />
      ))}
    </div>
  );
}

/**
 * A blob the value points at: a raster image is drawn from an object URL of the authenticated download (the
 * key goes in a header, never in a URL); anything else is a link that downloads it the same way.
 */
function BlobView({ blob }: { blob: BlobLink }) {
  const { client } = useApp();
  const [url, setUrl] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const image = isRasterImage(blob.mediaType);

  useEffect(() => {
    if (!image) return;
    let made: string | undefined;
    let live = true;
    client.downloadBlob(blob.$blob).then(
      ({ bytes }) => {
        if (!live) return;
        made = objectUrl(bytes, blob.mediaType);
        setUrl(made);
      },
      (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [client, blob.$blob, blob.mediaType, image]);

  const download = async () => {
    try {
      const { bytes } = await client.downloadBlob(blob.$blob);
      const href = objectUrl(bytes, blob.mediaType);
      const a = document.createElement('a');
      a.href = href;
      a.download = blob.$blob.replace(':', '-');
      a.click();
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <div className="blob" data-blob={blob.$blob}>
      {image && url && <img src={url} alt={`${blob.mediaType} blob ${blob.$blob}`} className="blob-image" />}
      <p className="small">
        <a
          href="#download"
          onClick={(e) => {
            e.preventDefault();
            void download();
          }}
        >
          Download
        </a>{' '}
        <span className="muted">
          {blob.mediaType}, {blob.size.toLocaleString()} bytes
        </span>
      </p>
      {error && (
        <p className="small text-bad" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

/** An object URL of downloaded bytes (copied into a plain ArrayBuffer, which a Blob takes). */
function objectUrl(bytes: Uint8Array, mediaType: string): string {
  return URL.createObjectURL(new Blob([new Uint8Array(bytes)], { type: mediaType }));
}
