/** An event of an execution's stream, as much of it as the page reads (the SDK's EventView fits). */
export interface StreamEvent {
  seq: number;
  type: string;
  stepId?: string;
  at: string;
}

/**
 * What an event says about a step's status, before the page refetches the execution's view (which is the
 * authority): the graph turns at once, and the next fetch confirms it. Events that say nothing about a
 * step's status answer undefined.
 */
export function stepStatusAfter(event: StreamEvent): string | undefined {
  if (event.stepId === undefined) return undefined;
  switch (event.type) {
    case 'job.queued':
    case 'step.retry_scheduled':
      return 'queued';
    case 'job.assigned':
    case 'job.started':
      return 'running';
    case 'step.completed':
      return 'completed';
    case 'step.failed':
      return 'failed';
    case 'step.skipped':
      return 'skipped';
    case 'job.cancelled':
      return 'cancelled';
    default:
      return undefined;
  }
}

/** Step statuses after a batch of events, applied in order over the known ones. */
export function applyEvents(
  statuses: Readonly<Record<string, string>>,
  events: readonly StreamEvent[],
): Record<string, string> {
  const next = { ...statuses };
  for (const event of events) {
    const status = stepStatusAfter(event);
    if (status !== undefined && event.stepId !== undefined) next[event.stepId] = status;
  }
  return next;
}

/**
 * Appends newly streamed events to the list the page shows, once each and in order: a stream resumed after
 * a dropped connection (from Last-Event-ID) may repeat the last one, and the history page and the stream
 * may overlap.
 */
export function mergeEvents<E extends StreamEvent>(known: readonly E[], incoming: readonly E[]): E[] {
  const seen = new Set(known.map((e) => e.seq));
  const merged = [...known];
  for (const event of incoming) {
    if (seen.has(event.seq)) continue;
    seen.add(event.seq);
    merged.push(event);
  }
  return merged.sort((a, b) => a.seq - b.seq);
}
