import { z } from 'zod';
import { fromUtf8, utf8 } from '../../attest/bytes.js';
import { canonicalJson } from '../../attest/canonical.js';
import { sha256Hex } from '../../attest/digest.js';
import { describeError } from '../../errors.js';
import type { Executor, ExecutorContext, ExecutorJob, ExecutorResult, HttpCallFacts } from '../executor.js';
import { ExecutorError } from '../executor.js';
import type { AllowedEndpoint } from './allow-list.js';
import { HTTP_METHODS, checkUrl, describeUrl } from './allow-list.js';
import type { HttpConfigInput, ResolvedHttpConfig } from './config.js';
import { loadHttpConfig } from './config.js';
import { networkDetail } from '../inference/openai/http.js';

export const HTTP_MODEL = 'builtin/http';

/** How much of an error response is read for the excerpt in the step's error. */
const MAX_ERROR_BODY = 4096;
const EXCERPT_CHARS = 300;
/** The longest URL an attestation records (stepPredicateSchema). */
const MAX_URL_CHARS = 16_384;

const inputSchema = z.strictObject({
  url: z.string({ error: 'must be the URL to call, as a string' }).min(1).max(8192),
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` }))
    .optional(),
  query: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
      error: 'must be an object of names to strings, numbers or booleans',
    })
    .optional(),
  body: z.unknown().optional(),
});

/** Why this module aborted a request itself, told apart from the job's own signal. */
class RequestTimedOut extends Error {}

/**
 * `builtin/http`: calls a URL on the worker's allow-list with the step's input and takes the JSON it answers
 * as the step's output. Everything that could reach a secret or another host stays with the worker: the
 * allow-list, the headers, the timeouts. The definition names only the URL, method, query and JSON body.
 * Redirects are never followed (a listed host could point anywhere). The attestation records the URL,
 * method, status and the SHA-256 of the exact request and response bytes.
 */
export class HttpExecutor implements Executor {
  readonly name = 'http';
  readonly capabilities = { stepTypes: [], models: [HTTP_MODEL] };
  readonly config: ResolvedHttpConfig;

  /** Takes the `http` section as written (checked here) or one `loadHttpConfig` already resolved. */
  constructor(config: HttpConfigInput | ResolvedHttpConfig) {
    this.config = isResolved(config) ? config : loadHttpConfig(config);
  }

  async run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
    const input = parseInput(job.input);
    const method = input.method ?? 'POST';
    const endpoints = this.config.endpoints;
    const check = checkUrl(input.url, endpoints);
    if (!check.ok) {
      throw new ExecutorError(
        'http_not_allowed',
        `${describeUrl(input.url)} is not on this worker's allow-list (${endpoints.length} ${endpoints.length === 1 ? 'entry' : 'entries'}): ${check.reason}`,
        { retryable: false },
      );
    }
    const { url, endpoint } = check;
    if (!endpoint.methods.includes(method)) {
      throw new ExecutorError(
        'http_not_allowed',
        `${method} is not allowed on ${endpoint.url} by this worker's allow-list (it allows ${endpoint.methods.join(', ')})`,
        { retryable: false },
      );
    }
    for (const [name, value] of Object.entries(input.query ?? {})) url.searchParams.append(name, String(value));
    // The attestation records the URL and bounds its length: a longer one could not be attested.
    if (url.href.length > MAX_URL_CHARS)
      throw new ExecutorError('invalid_input', `the URL with its query is longer than ${MAX_URL_CHARS} characters`, {
        retryable: false,
      });
    if (method === 'GET' && input.body !== undefined)
      throw new ExecutorError('invalid_input', 'a GET request has no body: use query, or another method', {
        retryable: false,
      });
    // Canonical JSON: the request digest is then the digest of the body value, which anyone can recompute.
    const body = input.body === undefined ? undefined : utf8(canonicalJson(input.body));
    return call(url, method, body, endpoint, context.signal);
  }
}

function isResolved(config: HttpConfigInput | ResolvedHttpConfig): config is ResolvedHttpConfig {
  // A section as written has no parsed host names; an empty list is left for the schema to refuse.
  return config.endpoints.length > 0 && config.endpoints.every((e) => 'hostname' in e);
}

function parseInput(input: unknown): z.output<typeof inputSchema> {
  // Input mappings yield null for what a workflow leaves out: null means "not given" here.
  const record =
    input !== null && typeof input === 'object' && !Array.isArray(input)
      ? Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null))
      : input;
  if (record !== null && typeof record === 'object' && 'headers' in record) {
    throw new ExecutorError(
      'invalid_input',
      'builtin/http takes no headers from a step: the worker adds them from its configuration (http.endpoints[].headers), so secrets never live in a definition',
      { retryable: false },
    );
  }
  const parsed = inputSchema.safeParse(record);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'input'}: ${i.message}`)
    .join('; ');
  throw new ExecutorError('invalid_input', `builtin/http needs input { url, method?, query?, body? } (${problems})`, {
    retryable: false,
  });
}

async function call(
  url: URL,
  method: string,
  body: Uint8Array | undefined,
  endpoint: AllowedEndpoint,
  signal: AbortSignal,
): Promise<ExecutorResult> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new RequestTimedOut()), endpoint.timeoutMs);
  const href = url.href;
  // A server may echo a whole header value or only its token (`Bearer <token>`): both are kept out of errors.
  const secrets = [...new Set(Object.values(endpoint.headers).flatMap((v) => [v, ...v.split(/\s+/)]))].filter(
    (v) => v.length >= 8,
  );
  try {
    let response: Response;
    try {
      response = await fetch(href, {
        method,
        headers: {
          accept: 'application/json',
          // The response digest is of the bytes on the wire: no transparent decompression in between.
          'accept-encoding': 'identity',
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...endpoint.headers,
        },
        ...(body !== undefined && { body }),
        // A listed host could redirect anywhere, unlisted hosts included: a redirect is the step's answer.
        redirect: 'manual',
        signal: controller.signal,
      });
    } catch (error) {
      throw failure(error, controller, endpoint, href, secrets);
    }
    const status = response.status;
    if (status >= 300 && status < 400) {
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get('location');
      throw new ExecutorError(
        `http_${status}`,
        `${href} answered ${status}, a redirect to ${location === null ? '(no Location)' : describeUrl(scrub(location, secrets))}, which is not followed: list the final URL and call it`,
        { retryable: false, context: { status } },
      );
    }
    if (status < 200 || status >= 300) {
      const excerpt = await readExcerpt(response).catch(() => '');
      const shown = excerpt === '' ? '' : `: ${scrub(excerpt, secrets)}`;
      // 429 and 5xx may pass: the engine's retry policy schedules another attempt, with its own backoff.
      const retryable = status === 429 || (status >= 500 && status < 600);
      throw new ExecutorError(`http_${status}`, `${href} answered ${status}${shown}`, {
        retryable,
        context: { status },
      });
    }
    let bytes: Uint8Array | undefined;
    try {
      bytes = await readLimited(response, endpoint.maxResponseBytes);
    } catch (error) {
      throw failure(error, controller, endpoint, href, secrets);
    }
    if (bytes === undefined) {
      controller.abort();
      throw new ExecutorError(
        'http_response_too_large',
        `${href} answered more than ${endpoint.maxResponseBytes} bytes (max_response_bytes of its allow-list entry)`,
        { retryable: false, context: { status } },
      );
    }
    const http: HttpCallFacts = {
      url: href,
      method,
      status,
      requestDigest: sha256Hex(body ?? new Uint8Array()),
      responseDigest: sha256Hex(bytes),
    };
    return { output: parseJson(bytes, response.headers.get('content-type'), href, status), http };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** A failure of the exchange itself: the entry's timeout, the job's end, or the network. */
function failure(
  error: unknown,
  controller: AbortController,
  endpoint: AllowedEndpoint,
  href: string,
  secrets: readonly string[],
): ExecutorError {
  if (error instanceof ExecutorError) return error;
  if (controller.signal.aborted) {
    const ours = controller.signal.reason instanceof RequestTimedOut;
    return new ExecutorError(
      'http_timeout',
      ours
        ? `${href} did not answer within ${endpoint.timeoutMs} ms (timeout_ms of its allow-list entry)`
        : `the request to ${href} was abandoned: ${describeError(controller.signal.reason)}`,
      { retryable: true },
    );
  }
  return new ExecutorError('http_unreachable', `cannot reach ${href}: ${scrub(networkDetail(error), secrets)}`, {
    retryable: true,
    cause: error,
  });
}

/** The body, or undefined as soon as it passes `limit` bytes (reading stops there). */
async function readLimited(response: Response, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) return undefined; // leaving the loop cancels the rest of the stream
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

async function readExcerpt(response: Response): Promise<string> {
  if (!response.body) return '';
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    if (text.length >= MAX_ERROR_BODY) break;
  }
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

/** The response as JSON: an empty body is null; anything else must parse, whatever its content type says. */
function parseJson(bytes: Uint8Array, contentType: string | null, href: string, status: number): unknown {
  if (bytes.byteLength === 0) return null;
  try {
    return JSON.parse(fromUtf8(bytes)) as unknown;
  } catch (error) {
    throw new ExecutorError(
      'http_not_json',
      `${href} answered ${status} with a body that is not JSON (content-type ${contentType ?? 'none'}): ${describeError(error)}`,
      { retryable: false, context: { status } },
    );
  }
}

/** A server may echo a request's headers back: their values never reach a step's error. */
function scrub(text: string, secrets: readonly string[]): string {
  return secrets.reduce((t, secret) => t.split(secret).join('[redacted]'), text);
}
