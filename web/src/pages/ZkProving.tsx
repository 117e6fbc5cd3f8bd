import { useEffect } from 'react';
import type { EventView, ExecutionView } from 'verity/sdk';
import { duration } from '../lib/timeline';
import { zkInFlight, zkState } from '../lib/zk-state';
import './zk-proving.css';

/** How often the page asks for the proofs' progress while they are made (their batches raise no events). */
const POLL_MS = 2000;

/**
 * The zk proving state of an execution at verification level zk: proofs are made in the background after
 * the receipt is signed, batch by batch; this shows how far they are, and keeps the view fresh until they
 * are done (the event stream has ended with the execution by then).
 */
export function ZkProving({
  view,
  events,
  asksForZk,
  ended,
  refresh,
}: {
  view: ExecutionView;
  events: readonly EventView[];
  asksForZk: boolean;
  ended: boolean;
  refresh: () => void;
}) {
  const zk = zkState(view.zk, events, asksForZk, ended);
  const moving = zkInFlight(zk);
  useEffect(() => {
    if (!moving) return;
    const timer = setInterval(refresh, POLL_MS);
    return () => clearInterval(timer);
  }, [moving, refresh]);

  if (zk.state === 'none') return null;
  return (
    <div className="card zk-proving" data-zk={zk.state}>
      <h2>Zero-knowledge proof</h2>
      <p role="status">
        {zk.state === 'after-end' && (
          <span className="muted">
            The workflow asks for verification level zk: the proofs are made once the execution completes.
          </span>
        )}
        {zk.state === 'unavailable' && (
          <>
            <strong>Not proven</strong>: {zk.reason}
          </>
        )}
        {zk.state === 'queued' && (
          <>
            <strong>Queued</strong>: waiting for a prover
            {zk.done > 0 && ` (${zk.done} of ${zk.total} batches already proven)`}.
          </>
        )}
        {zk.state === 'proving' && (
          <>
            <strong>
              Proving batch {zk.batch} of {zk.total}
            </strong>{' '}
            <span className="muted">({zk.done} done)</span>
          </>
        )}
        {zk.state === 'proved' && (
          <>
            <strong className="text-ok">Proved</strong>: {zk.total} {zk.total === 1 ? 'batch' : 'batches'}
            {zk.ms !== undefined && ` in ${duration(zk.ms)}`}. The zk-only bundle verifies without the data.
          </>
        )}
        {zk.state === 'failed' && (
          <>
            <strong className="text-bad">Proving failed</strong>: <span className="mono">{zk.code}</span> {zk.message}
          </>
        )}
      </p>
      {(zk.state === 'queued' || zk.state === 'proving' || zk.state === 'proved') && (
        <progress
          max={zk.total}
          value={zk.state === 'proved' ? zk.total : zk.done}
          aria-label={`${zk.state === 'proved' ? zk.total : zk.done} of ${zk.total} batches proven`}
        />
      )}
      {'circuit' in zk && <p className="small muted mono">circuit {zk.circuit}</p>}
    </div>
  );
}
