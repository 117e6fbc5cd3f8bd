import type { ReactNode } from 'react';
import { localTime } from './lib/time';
import { statusColour } from './lib/status';
import type { Load } from './lib/use-load';

/** A time in the viewer's zone, the exact value on hover. */
export function Time({ at }: { at: string | undefined }) {
  if (!at) return <span className="muted">—</span>;
  return (
    <time dateTime={at} title={at}>
      {localTime(at)}
    </time>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className="badge" style={{ borderColor: statusColour(status), color: statusColour(status) }}>
      <span className="dot" style={{ background: statusColour(status) }} aria-hidden="true" />
      {status}
    </span>
  );
}

/** The three states every view has besides its content: loading, error (with a retry) and empty. */
export function Loaded<T>({
  load,
  retry,
  empty,
  isEmpty,
  children,
}: {
  load: Load<T>;
  retry: () => void;
  empty?: ReactNode;
  isEmpty?: (value: T) => boolean;
  children: (value: T) => ReactNode;
}) {
  if (load.state === 'loading')
    return (
      <p className="state" role="status">
        Loading…
      </p>
    );
  if (load.state === 'error')
    return (
      <div className="state error" role="alert">
        <p>{load.message}</p>
        <button type="button" onClick={retry}>
          Try again
        </button>
      </div>
    );
  if (isEmpty?.(load.value)) return <div className="state empty">{empty}</div>;
  return <>{children(load.value)}</>;
}
