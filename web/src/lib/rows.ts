/** As much of a row of the executions list as merging the live stream into it reads (ExecutionSummary fits). */
export interface Row {
  executionId: string;
  workflowId: string;
  status: string;
  createdAt: string;
  updatedAt: string;
}

export interface RowFilter {
  /** Any of these; none means every status. */
  status?: readonly string[] | undefined;
  workflow?: string | undefined;
}

/** The execution statuses the list filters by, in the order the chips show them (as the API names them). */
export const EXECUTION_STATUSES = ['running', 'completed', 'failed', 'cancelled', 'timed_out', 'budget_exceeded'];

/**
 * The statuses of the URL's `status=` (comma-separated, as the API's own query takes them): the known ones
 * in chip order, each once, and the rest apart, so the page can say which of a pasted link's it ignores.
 */
export function parseStatuses(param: string | undefined): { known: string[]; unknown: string[] } {
  const asked = new Set(
    (param ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  return {
    known: EXECUTION_STATUSES.filter((s) => asked.has(s)),
    unknown: [...asked].filter((s) => !EXECUTION_STATUSES.includes(s)),
  };
}

/** The chip set after one chip is pressed: that status in or out, the rest as they were. */
export function toggleStatus(current: readonly string[], status: string): string[] {
  const next = new Set(current);
  if (next.has(status)) next.delete(status);
  else next.add(status);
  return EXECUTION_STATUSES.filter((s) => next.has(s));
}

export function matches(row: Row, filter: RowFilter): boolean {
  return (
    (!filter.status?.length || filter.status.includes(row.status)) &&
    (!filter.workflow || row.workflowId === filter.workflow)
  );
}

/**
 * Keeps the newest of each execution's streamed rows, by updatedAt: a resumed stream may repeat a row, and
 * an older one arriving late must not undo a newer one.
 */
export function keepNewest<R extends Row>(known: ReadonlyMap<string, R>, incoming: readonly R[]): Map<string, R> {
  const next = new Map(known);
  for (const row of incoming) {
    const have = next.get(row.executionId);
    if (!have || Date.parse(row.updatedAt) >= Date.parse(have.updatedAt)) next.set(row.executionId, row);
  }
  return next;
}

/**
 * The rows a page of the list shows: the fetched page with every streamed row newer than its own in place
 * of it. On the first page (`newest`), streamed executions the page does not hold yet and that match the
 * filters come in at the top, newest first; a row that no longer matches the status filter stays in place
 * (it would jump away from under the pointer) and shows its new status.
 */
export function mergeRows<R extends Row>(
  page: readonly R[],
  streamed: ReadonlyMap<string, R>,
  filter: RowFilter,
  newest: boolean,
): R[] {
  const inPage = new Set(page.map((r) => r.executionId));
  const rows = page.map((row) => {
    const live = streamed.get(row.executionId);
    return live && Date.parse(live.updatedAt) >= Date.parse(row.updatedAt) ? live : row;
  });
  if (!newest) return rows;
  const oldestShown = page.length > 0 ? page[page.length - 1]!.createdAt : undefined;
  const fresh = [...streamed.values()].filter(
    (r) =>
      !inPage.has(r.executionId) &&
      matches(r, filter) &&
      // Older than the page's oldest row: it belongs to a later page.
      (oldestShown === undefined || r.createdAt >= oldestShown),
  );
  return [...fresh, ...rows].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
}

/** A duration in the largest units that matter: 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function duration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * An execution id short enough for a table: its last 8 characters. Ids are UUIDv7, whose first characters
 * are the creation time, so executions started in the same minute would all share their first 8.
 */
export function shortId(id: string): string {
  return id.length > 8 ? `…${id.slice(-8)}` : id;
}
