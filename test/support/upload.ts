import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

/** What the server answered an upload, and the digest of what was sent (as far as it was sent). */
export interface UploadResult {
  status: number;
  body: unknown;
  /** `sha256:<hex>` of every byte the client sent. */
  sent: string;
}

/**
 * A blob upload over a raw HTTP/1.1 connection, its bytes generated as they are sent (never held whole by
 * the test either), so the test controls what fetch would hide: whether Content-Length is declared
 * (`declare`), and stopping as soon as the server answers, as a well-behaved client does when refused
 * mid-body. `abortAfter` hangs up after that many bytes instead; `stallAfter` stops sending after that
 * many bytes and waits for the server to give up on the request. `close` sends `Connection: close`
 * on a connection of its own, the case where a server that closes a refused upload's connection with the
 * body unread resets it and the client never reads the answer.
 */
export function streamUpload(
  url: string,
  apiKey: string,
  chunks: Iterable<Buffer>,
  options: {
    declare?: number;
    path?: string;
    mediaType?: string;
    abortAfter?: number;
    stallAfter?: number;
    /** A connection of its own, asking the server to close it after the answer (`Connection: close`). */
    close?: boolean;
  } = {},
): Promise<UploadResult> {
  const hash = createHash('sha256');
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(`${url}${options.path ?? '/v1/blobs'}`, {
      method: 'POST',
      ...(options.close && { agent: false }),
      headers: {
        authorization: `Bearer ${apiKey}`,
        'content-type': options.mediaType ?? 'application/octet-stream',
        ...(options.declare !== undefined && { 'content-length': String(options.declare) }),
      },
    });
    req.on('response', (response) => {
      answered = true;
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: parse(text), sent: `sha256:${hash.digest('hex')}` }),
      );
      response.on('error', reject);
    });
    // Once answered, writes failing (the server may close a refused upload's connection) are no concern.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    void (async () => {
      let sent = 0;
      for (const chunk of chunks) {
        if (answered) return;
        if (options.abortAfter !== undefined && sent + chunk.byteLength > options.abortAfter) {
          req.destroy();
          resolve({ status: 0, body: undefined, sent: `sha256:${hash.digest('hex')}` });
          return;
        }
        if (options.stallAfter !== undefined && sent + chunk.byteLength > options.stallAfter) return;
        hash.update(chunk);
        sent += chunk.byteLength;
        if (!req.write(chunk)) await new Promise<void>((r) => req.once('drain', r));
        // A write the kernel takes at once drains on the next tick, never reaching the poll phase: without
        // this the client would send its whole body before it read an answer that arrived at the start,
        // and pass the server's lingering-close byte limit (then a reset is the right answer).
        await new Promise<void>((r) => setImmediate(r));
      }
      if (!answered) req.end();
    })().catch(reject);
  });
}

/** `count` chunks of `size` bytes, pseudo-random, the first one marked with `seed` so that blobs differ. */
export function* blobChunks(seed: number, count: number, size = 1_000_000): Generator<Buffer> {
  const base = randomBytes(size);
  for (let i = 0; i < count; i++) {
    const chunk = Buffer.from(base);
    chunk.writeUInt32BE(seed, 0);
    chunk.writeUInt32BE(i, 4);
    yield chunk;
  }
}

/** A process's resident memory now and at its peak (VmRSS, VmHWM of /proc/<pid>/status), in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
