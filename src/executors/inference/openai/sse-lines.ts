/**
 * Server-sent events, as far as OpenAI-compatible servers use them: `data:` lines grouped into events
 * by blank lines. Chunks arrive cut anywhere (in a line, in a `\r\n`, in a UTF-8 sequence), so the
 * parser keeps what it has not finished and gives back only whole events.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  /** The last chunk ended in `\r`: a `\n` starting the next one belongs to the same line end. */
  private pendingCr = false;

  /** Feeds text; returns the data of every event it completed, in order. */
  push(text: string): string[] {
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const events: string[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (ch !== '\n' && ch !== '\r') continue;
      this.line(this.buffer.slice(start, i), events);
      if (ch === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[i + 1] === '\n') i++;
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /**
   * The stream ended. An event its blank line never closed is given back all the same (browsers drop
   * it): some servers omit the last blank line, and `[DONE]`, not the framing, says whether a stream
   * was whole.
   */
  end(): string[] {
    const events: string[] = [];
    if (this.buffer !== '') this.line(this.buffer, events);
    this.buffer = '';
    if (this.data.length > 0) events.push(this.data.join('\n'));
    this.data = [];
    return events;
  }

  private line(line: string, events: string[]): void {
    if (line === '') {
      if (this.data.length > 0) events.push(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return; // a comment, used as a keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    // `event`, `id` and `retry` mean nothing in this protocol.
  }
}

/** The data of each event of a byte stream, decoded as UTF-8. */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  for await (const chunk of body) yield* parser.push(decoder.decode(chunk, { stream: true }));
  yield* parser.push(decoder.decode());
  yield* parser.end();
}
