import { useState } from 'react';
import type { VerificationReport } from 'verity/verify';
import { ReportView } from '../report';
import { pinKey, pinnedKey, sameKey } from '../lib/pins';
import { fingerprint, verifyHere } from '../lib/verify-run';
import type { Level } from '../lib/verify-run';

/** Verify a bundle file against a pasted key, entirely in this page: no server call. */
export function Verify() {
  const [fileName, setFileName] = useState<string | undefined>();
  const [bundle, setBundle] = useState<unknown>();
  const [pem, setPem] = useState(() => pinnedKey() ?? '');
  const [level, setLevel] = useState<Level>('full');
  const [report, setReport] = useState<VerificationReport | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);

  const readFile = async (file: File) => {
    setReport(undefined);
    setError(undefined);
    setFileName(file.name);
    try {
      setBundle(JSON.parse(await file.text()));
    } catch {
      setBundle(undefined);
      setError(`${file.name} is not JSON: a bundle is the JSON file verity receipt writes.`);
    }
  };

  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setReport(await verifyHere(bundle, pem, level));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const [pin, setPin] = useState(pinnedKey);
  const keyId = pem.trim() ? fingerprint(pem) : undefined;
  return (
    <section>
      <div className="page-head">
        <h1>Verify a bundle</h1>
      </div>
      <p className="muted">
        Checked in this page with the same verifier as <code>verity verify</code>; nothing is sent anywhere.
      </p>
      <div className="card verify-form">
        <label
          className={dragging ? 'drop dragging' : 'drop'}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            const file = e.dataTransfer.files[0];
            if (file) void readFile(file);
          }}
        >
          <span>{fileName ? `Bundle: ${fileName}` : 'Drop a bundle here, or choose a file'}</span>
          <input
            type="file"
            accept=".json,application/json"
            data-testid="bundle-file"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void readFile(file);
            }}
          />
        </label>
        <label htmlFor="trusted-key">Coordinator public key (PEM)</label>
        <textarea
          id="trusted-key"
          rows={4}
          spellCheck={false}
          value={pem}
          onChange={(e) => setPem(e.target.value)}
          placeholder="-----BEGIN PUBLIC KEY-----"
        />
        <p className="small muted">
          {pem.trim() === '' ? (
            'Paste the key you trust (verity keys show on the server, or the one pinned on the execution page).'
          ) : keyId ? (
            <>
              fingerprint <span className="mono fingerprint">{keyId}</span>
              {pin !== undefined && sameKey(pin, pem) ? (
                ' (the key pinned in this browser)'
              ) : (
                <>
                  {' '}
                  <button
                    type="button"
                    onClick={() => {
                      // A pasted key becomes the pin the execution pages verify against.
                      pinKey(pem);
                      setPin(pem.trim());
                    }}
                  >
                    Pin this key
                  </button>
                </>
              )}
            </>
          ) : (
            <span className="error-text">This is not an Ed25519 public key in PEM form.</span>
          )}
        </p>
        <div className="row">
          <label>
            Level{' '}
            <select value={level} onChange={(e) => setLevel(e.target.value === 'basic' ? 'basic' : 'full')}>
              <option value="basic">basic</option>
              <option value="full">full</option>
            </select>
          </label>
          <button
            type="button"
            className="primary"
            disabled={busy || bundle === undefined || !keyId}
            onClick={() => void run()}
          >
            {busy ? 'Verifying…' : 'Verify'}
          </button>
        </div>
        {error && (
          <p className="error-text" role="alert">
            {error}
          </p>
        )}
      </div>
      {report && <ReportView report={report} />}
    </section>
  );
}
