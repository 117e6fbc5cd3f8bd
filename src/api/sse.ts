import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal } from '../engine/engine.js';
import { eventView } from '../engine/view.js';
import type { ExecutionRecord } from '../store/records.js';
import type { ApiContext } from './server.js';

export { eventView } from '../engine/view.js';

const POLL_MS = 250;
const PING_MS = 15_000;

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
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let closed = false;
  let wake: (() => void) | undefined;
  const onChange = (changed: ExecutionRecord) => {
    if (changed.id === execution.id) wake?.();
  };
  const stop = () => {
    closed = true;
    wake?.();
  };
  node.engine.events.on('change', onChange);
  request.raw.on('close', stop);
  context.closing.addEventListener('abort', stop, { once: true });
  let lastWrite = Date.now();
  try {
    for (let endedAt: number | undefined; !closed;) {
      for (const { event, cursor: next } of page) {
        raw.write(`id: ${next}\nevent: ${event.type}\ndata: ${JSON.stringify(eventView(event))}\n\n`);
        cursor = next;
        lastWrite = Date.now();
      }
      const current = await node.store.read.getExecution(execution.id);
      if (current && isTerminal(current)) {
        // The events of the transaction that ended it commit with it; give a lagging replica a moment.
        endedAt ??= Date.now();
        if (page.length === 0 && Date.now() - endedAt > POLL_MS) {
          raw.write(`event: end\ndata: ${JSON.stringify({ status: current.status })}\n\n`);
          break;
        }
      }
      if (page.length === 0) {
        if (Date.now() - lastWrite >= PING_MS) {
          raw.write(': ping\n\n');
          lastWrite = Date.now();
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      if (!closed) page = await node.store.read.readEvents(execution.id, cursor, 500);
    }
  } finally {
    node.engine.events.off('change', onChange);
    context.closing.removeEventListener('abort', stop);
    raw.end();
  }
}
