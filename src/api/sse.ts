import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal } from '../engine/engine.js';
import { eventView } from '../engine/view.js';
import type { ExecutionRecord } from '../store/records.js';
import type { ExecutionChangeKey, ExecutionSummary } from '../store/store.js';
import { ApiError } from './errors.js';
import type { ApiContext } from './server.js';

export { eventView } from '../engine/view.js';

const POLL_MS = 250;
const PING_MS = 15_000;

/**
 * What every event stream shares: the response headers, wake-ups (a change committed in this process wakes
 * the stream at once; changes by other replicas are found by polling), keep-alive pings, and the cleanup.
 */
class LiveStream {
  closed = false;
  private wake: (() => void) | undefined;
  private lastWrite = Date.now();
  private readonly onChange: (changed: ExecutionRecord) => void;
  private readonly stop = () => {
    this.closed = true;
    this.wake?.();
  };

  constructor(
    request: FastifyRequest,
    private readonly reply: FastifyReply,
    private readonly context: ApiContext,
    wants: (changed: ExecutionRecord) => boolean,
    private readonly pollMs: number,
  ) {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // Node holds the headers until the first write; a quiet stream (a list with nothing changing) would not
    // look open to its client until the first ping.
    reply.raw.flushHeaders();
    this.onChange = (changed) => {
      if (wants(changed)) this.wake?.();
    };
    context.node.engine.events.on('change', this.onChange);
    request.raw.on('close', this.stop);
    context.closing.addEventListener('abort', this.stop, { once: true });
  }

  write(text: string): void {
    this.reply.raw.write(text);
    this.lastWrite = Date.now();
  }

  /** Waits for a change (or the poll interval), pinging first if the stream has been quiet a while. */
  async idle(): Promise<void> {
    if (Date.now() - this.lastWrite >= PING_MS) this.write(': ping\n\n');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.pollMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  end(): void {
    this.context.node.engine.events.off('change', this.onChange);
    this.context.closing.removeEventListener('abort', this.stop);
    this.reply.raw.end();
  }
}

/**
 * Server-Sent Events for one execution: every event after `after` (the Last-Event-ID a client resumes
 * from), in commit order, then each new one as it commits, until the execution has ended and its last
 * events are sent (an `end` event closes the stream). Changes made in this process wake the stream at once;
 * changes made by other replicas are found by polling.
 */
export async function streamExecutionEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  context: ApiContext,
  execution: ExecutionRecord,
  after: string | undefined,
): Promise<void> {
  const { node } = context;
  // Read the first page before answering, so a bad cursor is a 400, not a broken stream.
  let page = await node.store.read.readEvents(execution.id, after, 500);
  let cursor = after;
  const stream = new LiveStream(request, reply, context, (changed) => changed.id === execution.id, POLL_MS);
  try {
    for (let endedAt: number | undefined; !stream.closed;) {
      for (const { event, cursor: next } of page) {
        stream.write(`id: ${next}\nevent: ${event.type}\ndata: ${JSON.stringify(eventView(event))}\n\n`);
        cursor = next;
      }
      const current = await node.store.read.getExecution(execution.id);
      if (current && isTerminal(current)) {
        // The events of the transaction that ended it commit with it; give a lagging replica a moment.
        endedAt ??= Date.now();
        if (page.length === 0 && Date.now() - endedAt > POLL_MS) {
          stream.write(`event: end\ndata: ${JSON.stringify({ status: current.status })}\n\n`);
          break;
        }
      }
      if (page.length === 0) await stream.idle();
      if (!stream.closed) page = await node.store.read.readEvents(execution.id, cursor, 500);
    }
  } finally {
    stream.end();
  }
}

/** Polling a list is costlier than one execution's events; changes in this process still wake it at once. */
const LIST_POLL_MS = 1_000;
/**
 * How far back each read of changed executions looks before its cursor: a transaction stamps updated_at when
 * it starts and becomes visible when it commits, so a row can appear behind rows already sent. A row is
 * sent again only if it changed again; a resumed stream may repeat the rows of this window (at least once).
 */
const CHANGE_LAG_MS = 2_000;
const CHANGE_PAGE = 200;

/** An event id of the list stream: where a reader resumes from. */
export function changeCursor(row: Pick<ExecutionSummary, 'updatedAt' | 'id'>): string {
  return `${row.updatedAt}_${row.id}`;
}

export function parseChangeCursor(text: string): ExecutionChangeKey {
  const match = /^(\d{1,16})_(.{1,64})$/.exec(text);
  if (!match) throw new ApiError('validation', `query.since: not an event id of this stream: ${text.slice(0, 80)}`);
  return { updatedAt: Number(match[1]), id: match[2]! };
}

/**
 * Server-Sent Events for a list of executions (one client's, or all of them for an admin): an `execution`
 * event with the row as the list shows it whenever one is created or its row changes (status, spend, steps
 * done), oldest change first. Resumes after `since` (an event id); without it, starts from the changes of
 * the last moments, so a client that has just read the list misses nothing between the two.
 */
export async function streamExecutionChanges(
  request: FastifyRequest,
  reply: FastifyReply,
  context: ApiContext,
  clientId: string | undefined,
  since: ExecutionChangeKey | undefined,
  view: (row: ExecutionSummary) => object,
): Promise<void> {
  const { store } = context.node;
  let cursor: ExecutionChangeKey = since ?? { updatedAt: Date.now() - CHANGE_LAG_MS, id: '' };
  // What was sent within the lag window, by execution id: a row read again unchanged is not sent twice.
  const sent = new Map<string, number>();
  const stream = new LiveStream(
    request,
    reply,
    context,
    (changed) => clientId === undefined || changed.clientId === clientId,
    LIST_POLL_MS,
  );
  try {
    while (!stream.closed) {
      let from: ExecutionChangeKey = { updatedAt: cursor.updatedAt - CHANGE_LAG_MS, id: '' };
      for (;;) {
        const rows = await store.read.listExecutionChanges({
          ...(clientId !== undefined && { clientId }),
          after: from,
          limit: CHANGE_PAGE,
        });
        for (const row of rows) {
          if (sent.get(row.id) !== row.updatedAt) {
            sent.set(row.id, row.updatedAt);
            stream.write(`id: ${changeCursor(row)}\nevent: execution\ndata: ${JSON.stringify(view(row))}\n\n`);
          }
          if (row.updatedAt > cursor.updatedAt || (row.updatedAt === cursor.updatedAt && row.id > cursor.id))
            cursor = { updatedAt: row.updatedAt, id: row.id };
        }
        if (rows.length < CHANGE_PAGE || stream.closed) break;
        from = { updatedAt: rows.at(-1)!.updatedAt, id: rows.at(-1)!.id };
      }
      for (const [id, at] of sent) if (at < cursor.updatedAt - CHANGE_LAG_MS) sent.delete(id);
      if (!stream.closed) await stream.idle();
    }
  } finally {
    stream.end();
  }
}
