import type { Logger } from 'snarkjs';

export type LogLine = (line: string) => void;

/** A snarkjs logger that also remembers the errors it was told, for functions that fail by returning false. */
export interface CapturingLogger extends Logger {
  readonly errors: string[];
}

/**
 * Forwards what snarkjs says while it works, at most one progress line per `intervalMs`: the slow stages
 * log thousands of lines ("applying key tauG1: 4096/32767"), and a line every few seconds is enough to
 * show the work is moving. Warnings and errors always pass.
 */
export function snarkjsLogger(log: LogLine, prefix: string, intervalMs = 5_000): CapturingLogger {
  let last = Date.now();
  const errors: string[] = [];
  const oneLine = (message: string) => String(message).replace(/\s+/g, ' ').trim();
  const progress = (message: string) => {
    const now = Date.now();
    if (now - last < intervalMs) return;
    last = now;
    log(`${prefix}${oneLine(message)}`);
  };
  return {
    errors,
    debug: progress,
    info: progress,
    log: progress,
    warn: (message) => log(`${prefix}warning: ${oneLine(message)}`),
    error: (message) => {
      errors.push(oneLine(message));
      log(`${prefix}error: ${oneLine(message)}`);
    },
  };
}

/** Elapsed time for people: "850 ms", "12.3 s", "4 min 05 s". */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
}
