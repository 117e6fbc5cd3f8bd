/**
 * A bare Server-Sent Events reader for tests of the events route. Not the SDK's: that one resumes on its
 * own after a dropped connection, which would hide exactly the gaps these tests look for.
 */
export interface SseMessage {
  /** The `id:` field: the cursor to resume from. Absent on `end`. */
  id?: string;
  event: string;
  data: string;
}

export interface SseRead {
  status: number;
  /** The error body when the server refused (not 200). */
  body?: unknown;
  messages: SseMessage[];
  /** The stream closed after an `end` event (rather than being cut by `take`). */
  ended: boolean;
}

export interface SseOptions {
  apiKey: string;
  lastEventId?: string;
  /** Sent as ?after= instead of the header. */
  after?: string;
  /** Hang up after this many events that carry an id (a client that goes away mid-stream). */
  take?: number;
  /** Give up (and fail) after this long. Default: 30 s. */
  timeoutMs?: number;
}

export async function readSse(baseUrl: string, executionId: string, options: SseOptions): Promise<SseRead> {
  const hangUp = new AbortController();
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
  const query = options.after !== undefined ? `?after=${encodeURIComponent(options.after)}` : '';
  const response = await fetch(`${baseUrl}/v1/executions/${encodeURIComponent(executionId)}/events${query}`, {
    headers: {
      authorization: `Bearer ${options.apiKey}`,
      accept: 'text/event-stream',
      ...(options.lastEventId !== undefined && { 'last-event-id': options.lastEventId }),
    },
    signal: AbortSignal.any([hangUp.signal, timeout]),
  });
  if (response.status !== 200)
    return { status: response.status, body: await response.json(), messages: [], ended: false };
  const messages: SseMessage[] = [];
  let withId = 0;
  let buffer = '';
  const decoder = new TextDecoder();
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body!.getReader();
  try {
    for (;;) {
      let chunk: { done: boolean; value?: Uint8Array | undefined };
      try {
        chunk = await reader.read();
      } catch (error) {
        if (timeout.aborted)
          throw new Error(
            `the event stream of ${executionId} did not end within ${options.timeoutMs ?? 30_000} ms; got ${messages.map((m) => m.event).join(', ')}`,
            { cause: error },
          );
        throw error;
      }
      if (chunk.done) return { status: 200, messages, ended: false };
      buffer += decoder.decode(chunk.value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message = parseBlock(block);
        if (!message) continue;
        messages.push(message);
        if (message.event === 'end') return { status: 200, messages, ended: true };
        if (message.id !== undefined && ++withId === options.take) {
          hangUp.abort();
          return { status: 200, messages, ended: false };
        }
      }
    }
  } finally {
    reader.releaseLock();
    await response.body!.cancel().catch(() => undefined);
  }
}

function parseBlock(block: string): SseMessage | undefined {
  const message: SseMessage = { event: 'message', data: '' };
  const data: string[] = [];
  let fields = 0;
  for (const line of block.split('\n')) {
    // Comments (": ping") keep the connection alive and are not messages.
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    fields++;
    if (field === 'id') message.id = value;
    else if (field === 'event') message.event = value;
    else if (field === 'data') data.push(value);
  }
  if (fields === 0) return undefined;
  message.data = data.join('\n');
  return message;
}
