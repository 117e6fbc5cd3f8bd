import { z } from 'zod';
import { ExecutorError } from '../executor.js';
import type { AllowedEndpoint, HttpMethod } from './allow-list.js';
import { HTTP_METHODS, ambiguousPath, effectivePort } from './allow-list.js';

/**
 * The `http` section of a worker's `--models-config` file: the endpoints its `builtin/http` steps may call,
 * with the headers (credentials) the worker adds. docs/http-steps.md describes it.
 */

export const HTTP_DEFAULTS = { timeoutMs: 30_000, maxResponseBytes: 10 * 1024 * 1024, methods: ['POST'] } as const;

/** An RFC 9110 token: what a header name may be. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Headers the executor sets itself or that the HTTP client owns: an entry may not override them (the
 * digests are of the exact bytes, so the body's length and encoding are the executor's to fix).
 */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'accept-encoding',
  'content-type',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'expect',
]);
const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

const endpointSchema = z.strictObject({
  /** The scheme, host, port and path prefix steps may call: `https://api.acme.dev/v1/`. */
  url: z
    .string({ error: 'must be an http(s) URL such as https://api.acme.dev/v1/' })
    .min(1)
    .max(2000)
    .superRefine((value, ctx) => {
      const problem = endpointUrlProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  /** The methods steps may use on it. Default: POST. */
  methods: z
    .array(z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` }))
    .min(1, { error: 'list at least one method, for example ["POST"]' })
    .optional(),
  /** Added to every request; `${NAME}` in a value is read from the worker's environment when it starts. */
  headers: z
    .record(
      z
        .string()
        .regex(HEADER_NAME, { error: 'must be a header name' })
        .refine((name) => !RESERVED_HEADERS.has(name.toLowerCase()), {
          error: 'is set by the worker itself and cannot be configured',
        }),
      z.string({ error: 'must be a string' }).max(8192),
    )
    .optional(),
  /** One request, from sending it to the last byte of the response. Default: 30000. */
  timeout_ms: z.int({ error: 'must be an integer number of milliseconds' }).min(1).max(3_600_000).optional(),
  /** A response larger than this fails the step. Default: 10485760 (10 MiB). */
  max_response_bytes: z
    .int({ error: 'must be an integer number of bytes' })
    .min(1)
    .max(1024 * 1024 * 1024)
    .optional(),
});

export const httpConfigSchema = z.strictObject({
  endpoints: z
    .array(endpointSchema, {
      error: 'must be a list of endpoints, for example [{ "url": "https://api.acme.dev/v1/" }]',
    })
    .min(1, { error: 'list at least one endpoint' })
    .max(1000),
});

export type HttpConfigInput = z.input<typeof httpConfigSchema>;

/** The allow-list, resolved: URLs normalized, defaults applied, header values read from the environment. */
export interface ResolvedHttpConfig {
  endpoints: AllowedEndpoint[];
}

/** Why an entry's URL cannot be one: not http(s), credentials, a query or fragment, an ambiguous form. */
function endpointUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL such as https://api.acme.dev/v1/';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username !== '' || url.password !== '')
    return 'must not carry a user name or password: put credentials in headers';
  if (url.search !== '' || url.hash !== '') return 'must not have a query or a fragment: it is a prefix';
  const ambiguous = ambiguousPath(url.pathname);
  return ambiguous === undefined ? undefined : `must have a plain path: ${ambiguous}`;
}

/**
 * Parses and checks the `http` section. Throws an ExecutorError `invalid_config` naming every bad field
 * (as `http.endpoints.0.url`), and naming, never showing, a header whose environment variable is unset.
 */
export function loadHttpConfig(
  json: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedHttpConfig {
  const parsed = httpConfigSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${['http', ...issue.path].join('.')}: ${issue.message}`);
    throw new ExecutorError('invalid_config', `invalid http config: ${problems.join('; ')}`, { retryable: false });
  }
  const problems: string[] = [];
  const endpoints = parsed.data.endpoints.map((entry, index): AllowedEndpoint => {
    const url = new URL(entry.url);
    const headers: Record<string, string> = {};
    for (const [name, template] of Object.entries(entry.headers ?? {})) {
      const field = `http.endpoints.${index}.headers.${name}`;
      const value = template.replace(ENV_REFERENCE, (_, variable: string) => {
        const found = env[variable];
        if (found === undefined || found === '') {
          problems.push(`${field}: the environment variable ${variable} is not set`);
          return '';
        }
        return found;
      });
      // A line break or NUL in a value would let it smuggle another header (or be refused by the client later).
      if (/[\r\n\0]/.test(value)) problems.push(`${field}: the value contains a line break or NUL`);
      headers[name.toLowerCase()] = value;
    }
    return {
      url: url.href,
      protocol: url.protocol as 'http:' | 'https:',
      hostname: url.hostname,
      port: effectivePort(url),
      path: url.pathname,
      methods: [...new Set<HttpMethod>(entry.methods ?? HTTP_DEFAULTS.methods)],
      headers,
      timeoutMs: entry.timeout_ms ?? HTTP_DEFAULTS.timeoutMs,
      maxResponseBytes: entry.max_response_bytes ?? HTTP_DEFAULTS.maxResponseBytes,
    };
  });
  if (problems.length > 0)
    throw new ExecutorError('invalid_config', `invalid http config: ${problems.join('; ')}`, { retryable: false });
  return { endpoints };
}
