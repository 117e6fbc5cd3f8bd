import { useCallback, useEffect, useRef, useState } from 'react';
import { VerityApiError } from 'verity/sdk';
import { useApp } from './app-context';

export type Load<T> =
  | { state: 'loading' }
  | { state: 'error'; message: string; status?: number }
  | { state: 'ready'; value: T; refreshing: boolean };

/**
 * Loads a value through the API, optionally polling it, and turns a 401 into a return to sign-in (the key
 * was revoked or mistyped). The previous value stays on screen while a refresh runs.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  options: { pollMs?: number } = {},
): [Load<T>, () => void] {
  const { signOut } = useApp();
  const [result, setResult] = useState<Load<T>>({ state: 'loading' });
  const generation = useRef(0);
  // The caller names what the load depends on, as with useEffect.
  const stableLoad = useCallback(load, deps);

  const run = useCallback(() => {
    const mine = ++generation.current;
    setResult((previous) => (previous.state === 'ready' ? { ...previous, refreshing: true } : { state: 'loading' }));
    stableLoad().then(
      (value) => {
        if (mine === generation.current) setResult({ state: 'ready', value, refreshing: false });
      },
      (error: unknown) => {
        if (mine !== generation.current) return;
        if (error instanceof VerityApiError && error.status === 401) {
          signOut('The server no longer accepts this API key (401). Sign in again.');
          return;
        }
        setResult({
          state: 'error',
          message: error instanceof Error ? error.message : String(error),
          ...(error instanceof VerityApiError && error.status !== undefined && { status: error.status }),
        });
      },
    );
  }, [stableLoad, signOut]);

  useEffect(() => {
    // New dependencies are a different thing to show (another execution, another page of the list): the
    // old value goes rather than standing in for the new one. Polls and retries keep it while they run.
    setResult({ state: 'loading' });
    run();
    if (!options.pollMs) return;
    const timer = setInterval(run, options.pollMs);
    return () => clearInterval(timer);
  }, [run, options.pollMs]);

  return [result, run];
}
