/** A step's or an execution's status, as a CSS variable name (the palette lives in styles.css, light and dark). */
export function statusColour(status: string): string {
  switch (status) {
    case 'completed':
    case 'active':
      return 'var(--ok)';
    case 'failed':
    case 'dead':
    case 'timed_out':
    case 'budget_exceeded':
      return 'var(--bad)';
    case 'running':
    case 'assigned':
      return 'var(--running)';
    case 'queued':
    case 'ready':
    case 'unresponsive':
      return 'var(--queued)';
    case 'cancelled':
    case 'skipped':
    case 'stopped':
      return 'var(--muted)';
    default:
      return 'var(--pending)';
  }
}

/** Whether an execution has ended: nothing more will happen to it unless it is retried. */
export function isTerminal(status: string): boolean {
  return status !== 'running';
}
