import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the service received it. */
export interface ReceivedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** One response: what the service sent back, byte for byte. */
export interface SentResponse {
  status: number;
  body: Buffer;
}

export type Route = (request: ReceivedRequest, hit: number) => Promise<Reply> | Reply;
export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
}

/**
 * A real HTTP service on 127.0.0.1 at a random port, for the tests of builtin/http: routes by path (without
 * the query), and keeps every request it received and every response it sent.
 */
export interface HttpService {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  responses: SentResponse[];
  route(path: string, handler: Route): void;
  close(): Promise<void>;
}

export async function startHttpService(): Promise<HttpService> {
  const routes = new Map<string, Route>();
  const hits = new Map<string, number>();
  const requests: ReceivedRequest[] = [];
  const responses: SentResponse[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request: ReceivedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks),
    };
    requests.push(request);
    const path = new URL(request.url, 'http://x').pathname;
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    const route = routes.get(path);
    const reply: Reply = route ? await route(request, hit) : { status: 404, body: '{"error":"no such route"}' };
    if (reply.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    const body = Buffer.from(reply.body ?? '');
    const status = reply.status ?? 200;
    responses.push({ status, body });
    res.writeHead(status, { 'content-type': 'application/json', ...reply.headers });
    res.end(body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    responses,
    route: (path, handler) => routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
