import { describe, expect, it } from 'vitest';
import { SseParser, sseEvents } from '../../../src/executors/inference/openai/sse-lines.js';

async function* bytes(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) {
    await Promise.resolve(); // each chunk arrives on its own turn, as from a socket
    yield typeof part === 'string' ? new TextEncoder().encode(part) : part;
  }
}

async function collect(source: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('the SSE parser', () => {
  it('gives the data of each event, events separated by blank lines', () => {
    const parser = new SseParser();
    expect(parser.push('data: {"a":1}\n\ndata: {"b":2}\n\n')).toEqual(['{"a":1}', '{"b":2}']);
    expect(parser.push('data: [DONE]\n\n')).toEqual(['[DONE]']);
    expect(parser.end()).toEqual([]);
  });

  it('keeps a line cut between chunks until it is whole', () => {
    const parser = new SseParser();
    expect(parser.push('da')).toEqual([]);
    expect(parser.push('ta: {"x"')).toEqual([]);
    expect(parser.push(':1}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual(['{"x":1}']);
  });

  it('accepts \\r\\n and \\r line ends, including a \\r\\n cut between chunks', () => {
    const parser = new SseParser();
    expect(parser.push('data: one\r\n\r\ndata: two\r')).toEqual(['one']);
    expect(parser.push('\n\r\ndata: three\r\r')).toEqual(['two', 'three']);
  });

  it('joins multi-line data with newlines, ignores comments and other fields, and takes "data:" without a space', () => {
    const parser = new SseParser();
    expect(parser.push(': keep-alive\nevent: message\nid: 7\ndata:first\ndata: second\nretry: 10\n\n')).toEqual([
      'first\nsecond',
    ]);
    expect(parser.push(': only a comment\n\n')).toEqual([]);
  });

  it('gives back at the end an event whose closing blank line never came', () => {
    const parser = new SseParser();
    expect(parser.push('data: {"a":1}\n\ndata: tail')).toEqual(['{"a":1}']);
    expect(parser.end()).toEqual(['tail']);
  });

  it('decodes UTF-8 sequences cut between byte chunks', async () => {
    const encoded = new TextEncoder().encode('data: héllo — 世界\n\n');
    const cut = encoded.indexOf(0xe4) + 1; // inside the three bytes of 世
    const events = await collect(sseEvents(bytes(encoded.slice(0, 8), encoded.slice(8, cut), encoded.slice(cut))));
    expect(events).toEqual(['héllo — 世界']);
  });

  it('yields events from a byte stream as they complete', async () => {
    expect(await collect(sseEvents(bytes('data: a\n', '\ndata: b\n\n', 'data: [DONE]\n\n')))).toEqual([
      'a',
      'b',
      '[DONE]',
    ]);
  });
});
