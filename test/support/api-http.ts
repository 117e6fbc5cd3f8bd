import type { FastifyInstance } from 'fastify';

/**
 * Raw HTTP against a test server, for tests that must see the status and headers the SDK would turn into
 * exceptions, and the app's own route table, so tests that should cover every route cover new ones too.
 */

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface RawRequest {
  /** An API key: sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** Serialized as JSON with `content-type: application/json`. */
  json?: unknown;
  /** Sent as it is (with `headers` saying what it is). */
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export async function call(base: string, method: string, path: string, options: RawRequest = {}): Promise<RawResponse> {
  const headers: Record<string, string> = {
    ...(options.key !== undefined && { authorization: `Bearer ${options.key}` }),
    ...options.headers,
  };
  let body: string | Uint8Array | undefined = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(body !== undefined && { body }),
    signal: options.signal ?? AbortSignal.timeout(30_000),
  });
  // An event stream never ends by itself: read only its headers.
  const streaming = response.headers.get('content-type')?.startsWith('text/event-stream') === true;
  const text = streaming ? '' : await response.text();
  if (streaming) await response.body?.cancel();
  return { status: response.status, headers: response.headers, text, json: parseJson(text) };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The error code of an API error body (`{ error: { code } }`), if it is one. */
export function errorCode(response: RawResponse): string | undefined {
  const error = (response.json as { error?: { code?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' ? error.code : undefined;
}

export interface AppRoute {
  method: string;
  /** Fastify's form: `/v1/executions/:id/cancel`. */
  path: string;
}

/**
 * Every route the app serves (HEAD, which Fastify adds to each GET, left out), read from Fastify's route
 * tree. Fastify has no API that lists routes after they are registered, so this parses `printRoutes`:
 * each line is a tree node, indented four characters a level, with the path segment it adds and, when a
 * route ends there, its methods in parentheses. Parameters that two routes name differently at the same
 * place (`:workflow_id|:execution_id`) keep the first name.
 */
export function appRoutes(app: FastifyInstance): AppRoute[] {
  const routes: AppRoute[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const segment = match[2]!.replaceAll(/(:[A-Za-z_]\w*)(?:\|:[A-Za-z_]\w*)+/g, '$1');
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + segment;
    stack.push(path);
    for (const method of match[3]?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push({ method, path });
    }
  }
  return routes;
}

/** A route's path with each parameter replaced by `value` (URI-encoded). */
export function fillPath(path: string, value: string | ((name: string) => string)): string {
  return path.replaceAll(/:([A-Za-z_]\w*)/g, (_whole, name: string) =>
    encodeURIComponent(typeof value === 'string' ? value : value(name)),
  );
}

/**
 * A path with its parameters unnamed, so a Fastify path (`/v1/executions/:id`) and an OpenAPI one
 * (`/v1/executions/{id}`) compare equal whatever the parameters are called.
 */
export function pathShape(path: string): string {
  return path.replaceAll(/:[A-Za-z_]\w*|\{[^}/]+\}/g, '{}');
}
