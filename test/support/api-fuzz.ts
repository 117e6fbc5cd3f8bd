import fc from 'fast-check';
import type { AppRoute } from './api-http.js';

/**
 * Arbitrary HTTP requests for one route of the API: its own method and path most of the time (so the
 * request gets past routing into validation and the handler), with parameters, query, headers and body
 * drawn from values that break parsers: wrong types, huge and empty strings, unicode, bad percent-escapes,
 * deep nesting, wrong content types. Real ids are mixed in so handlers get past their lookups too.
 */

export interface FuzzRequest {
  method: string;
  /** Path and query, already encoded (possibly wrongly, on purpose). */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** The little of JSON Schema the generators read. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
}

/** What the OpenAPI document says a route takes, so some requests come close to valid and reach the handler. */
export interface RouteSchemas {
  body?: JsonSchema;
  query: { name: string; schema: JsonSchema }[];
  /** Resolves `#/components/schemas/…`. */
  resolve(ref: string): JsonSchema | undefined;
}

export interface FuzzPools {
  /** Real ids that a path parameter or an id field may take (per parameter or field name, or `*` for any). */
  ids: Record<string, readonly string[]>;
  /** API keys to send (undefined: no Authorization header). */
  keys: readonly (string | undefined)[];
  /** The server's body limit: bodies around it are drawn too. */
  bodyLimit: number;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;

/** Field and query names the API knows, so generated objects hit real fields with wrong values. */
const FIELDS = [
  'inputs',
  'version',
  'verification_level',
  'budget',
  'principal',
  'role',
  'workerId',
  'waitMs',
  'attempt',
  'nonce',
  'output',
  'attestation',
  'error',
  'cost',
  'bundle',
  'level',
  'trustedKeys',
  'name',
  'publicKeyPem',
  'capabilities',
  'concurrency',
  'challenge',
  'signature',
  'id',
  'steps',
  'outputs',
  'payload',
  'payloadType',
  'signatures',
  'code',
  'message',
  'retryable',
  'stepTypes',
  'models',
  '__proto__',
  'constructor',
] as const;
const QUERY = [
  'limit',
  'status',
  'workflow_id',
  'before',
  'after',
  'data',
  'index',
  'size',
  'from',
  'to',
  'version',
] as const;

const TRICKY = [
  '',
  ' ',
  '.',
  '..',
  '../..',
  '/',
  '//',
  '\\',
  '%',
  'null',
  'undefined',
  'true',
  '-1',
  '0',
  '1.5',
  '1e309',
  '9007199254740993',
  'NaN',
  'Infinity',
  '__proto__',
  'constructor',
  'toString',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '${7*7}',
  '{{7*7}}',
  '\u0000',
  '\uFEFF',
  '\u202E',
  '\uD800',
  'é',
  '𝕍𝕖𝕣𝕚𝕥𝕪',
  '🙂'.repeat(20),
  'a'.repeat(65),
  'a'.repeat(101),
  'completed,running',
  'queued,,',
  'vrt_0000000000000000_' + 'A'.repeat(43),
];
/** Escapes that are malformed or decode to something a router or parser may trip on. */
const RAW_SEGMENTS = [
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AF',
  '%00',
  '%2e%2e',
  '..%2f..',
  '%2F',
  '%252F',
  '%u0041',
  '%FF%FE',
  ';',
  '?',
  '#',
];

/**
 * Strings for paths, queries and headers: long enough to pass every limit of the API (ids are at most 100
 * characters), short enough to stay under Node's 16 KiB of request head, which only tests Node's parser.
 */
const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string() },
  { weight: 2, arbitrary: fc.string({ unit: 'binary' }) },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 50, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 2_000 }).map((n) => 'x'.repeat(n)) },
);

/** Strings for bodies: the same, and huge ones. */
const bigText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 1, arbitrary: fc.integer({ min: 2_000, max: 60_000 }).map((n) => 'x'.repeat(n)) },
);

const number: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, -1, 1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e308, 0.5),
);

/** Every byte that is not unreserved, percent-encoded: works for any string (even lone surrogates). */
export function encode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A header value fetch will send: printable Latin-1 only (fetch refuses the rest before it leaves). */
function headerValue(value: string): string {
  return value
    .replaceAll(/[^\x20-\x7E\xA0-\xFF]/g, '?')
    .trim()
    .slice(0, 4000);
}

/** An id for a field or parameter of this name: mostly a real one when there is one of that name. */
function idFor(pools: FuzzPools, name: string): fc.Arbitrary<string> {
  const named = pools.ids[name] ?? [];
  const any = pools.ids['*'] ?? [];
  return fc.oneof(
    { weight: named.length > 0 ? 6 : 0, arbitrary: named.length > 0 ? fc.constantFrom(...named) : text },
    { weight: any.length > 0 ? 2 : 0, arbitrary: any.length > 0 ? fc.constantFrom(...any) : text },
    { weight: 3, arbitrary: text },
  );
}

/** JSON-ish values, real ids included, nested a little. */
function value(pools: FuzzPools): fc.Arbitrary<unknown> {
  const leaf: fc.Arbitrary<unknown> = fc.oneof(bigText, number, fc.boolean(), fc.constant(null), idFor(pools, '*'));
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: fc.array(leaf, { maxLength: 5 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string()), leaf, { maxKeys: 5 }) },
  );
}

/** An object with the API's own field names (and others), holding values of any type. */
function object(pools: FuzzPools): fc.Arbitrary<Record<string, unknown>> {
  return fc.dictionary(
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.string() }),
    value(pools),
    { maxKeys: 8 },
  );
}

/**
 * Values that mostly fit a schema (required fields present, the right types, enum members, real ids for
 * fields named like a pool), with a wrong value or a missing field now and then: requests that get past
 * validation to the handler, and requests that fail validation a field at a time.
 */
function fromSchema(
  schema: JsonSchema,
  pools: FuzzPools,
  schemas: RouteSchemas,
  name: string,
  depth = 0,
): fc.Arbitrary<unknown> {
  const resolved = schema.$ref ? schemas.resolve(schema.$ref) : schema;
  if (!resolved || depth > 4) return value(pools);
  const wrong = value(pools);
  const fitting = ((): fc.Arbitrary<unknown> => {
    const alternatives = resolved.anyOf ?? resolved.oneOf;
    if (alternatives) return fc.oneof(...alternatives.map((a) => fromSchema(a, pools, schemas, name, depth + 1)));
    if (resolved.const !== undefined) return fc.constant(resolved.const);
    if (resolved.enum) return fc.constantFrom(...resolved.enum);
    const type = Array.isArray(resolved.type) ? resolved.type[0] : resolved.type;
    switch (type) {
      case 'object': {
        const properties = resolved.properties ?? {};
        const required = new Set(resolved.required ?? []);
        const fields = Object.entries(properties).map(([key, sub]) =>
          fc.tuple(fc.constant(key), fromSchema(sub, pools, schemas, key, depth + 1), fc.boolean(), fc.nat(19)),
        );
        return fc
          .tuple(...fields)
          .map((entries) =>
            Object.fromEntries(
              entries
                .filter(([key, , include, drop]) => (required.has(key) ? drop !== 0 : include))
                .map(([key, v]) => [key, v]),
            ),
          );
      }
      case 'array':
        return fc.array(resolved.items ? fromSchema(resolved.items, pools, schemas, name, depth + 1) : value(pools), {
          maxLength: 3,
        });
      case 'integer': {
        const min = Math.max(resolved.minimum ?? -5, -1_000_000);
        const max = Math.min(resolved.maximum ?? 1_000, 1_000_000);
        return fc.oneof(
          fc.integer({ min, max: Math.max(min, Math.min(max, min + 5)) }),
          fc.integer({ min, max: Math.max(min, max) }),
        );
      }
      case 'number':
        return fc.double({ noNaN: true, noDefaultInfinity: true });
      case 'boolean':
        return fc.boolean();
      case 'string':
        return idFor(pools, name);
      default:
        return value(pools);
    }
  })();
  return fc.oneof({ weight: 12, arbitrary: fitting }, { weight: 1, arbitrary: wrong });
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/yaml',
  'text/yaml',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'text/html',
  'garbage',
  '',
] as const;

interface Body {
  body?: string;
  contentType?: string;
}

function body(pools: FuzzPools, schemas: RouteSchemas): fc.Arbitrary<Body> {
  const contentType = fc.option(fc.constantFrom<string>(...CONTENT_TYPES), { nil: undefined });
  const fitting: fc.Arbitrary<Body> = schemas.body
    ? fc.record({
        body: fromSchema(schemas.body, pools, schemas, 'body').map((v) => JSON.stringify(v) ?? 'null'),
        contentType: fc.constant('application/json'),
      })
    : fc.constant({});
  const raw: fc.Arbitrary<string> = fc.oneof(
    { weight: 4, arbitrary: object(pools).map((o) => JSON.stringify(o)) },
    { weight: 2, arbitrary: value(pools).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: bigText },
    // Truncated or otherwise broken JSON.
    {
      weight: 1,
      arbitrary: object(pools).chain((o) =>
        fc.nat().map((n) => JSON.stringify(o).slice(0, n % (JSON.stringify(o).length + 1))),
      ),
    },
    // Deep nesting, as arrays and as objects.
    { weight: 1, arbitrary: fc.integer({ min: 50, max: 20_000 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 50, max: 5_000 }).map((d) => `${'{"inputs":'.repeat(d)}1${'}'.repeat(d)}`),
    },
    // YAML that is hard on a parser: anchors and aliases, tags, odd scalars.
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'a: &a [1, 2]\nb: [*a, *a, *a]\n',
        '!!js/function "x"',
        '? [a]\n: b\n',
        'id: x\nsteps: !!set {a}\n',
        '---\n---\n',
        'a: *missing\n',
      ),
    },
    // Right at and just over the body limit.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(pools.bodyLimit - 10, pools.bodyLimit + 1)
        .map((n) => `"${'y'.repeat(Math.max(0, n - 2))}"`),
    },
  );
  const arbitrary: fc.Arbitrary<Body> = fc
    .record({ body: raw, contentType }, { requiredKeys: ['body'] })
    .map((b) => ({ body: b.body, ...(b.contentType !== undefined && { contentType: b.contentType }) }));
  const none: fc.Arbitrary<Body> = fc.constant({});
  return fc.oneof({ weight: 1, arbitrary: none }, { weight: 4, arbitrary: fitting }, { weight: 4, arbitrary });
}

function query(pools: FuzzPools, schemas: RouteSchemas): fc.Arbitrary<string> {
  const pair = fc.tuple(
    fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...QUERY) }, { weight: 1, arbitrary: text }),
    fc.oneof(text, number.map(String)),
  );
  const fitting = fc
    .tuple(
      ...schemas.query.map((q) =>
        fc.option(
          fromSchema(q.schema, pools, schemas, q.name).map(
            (v) => `${encode(q.name)}=${encode(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}`,
          ),
          { nil: undefined },
        ),
      ),
    )
    .map((pairs) => {
      const present = pairs.filter((p) => p !== undefined);
      return present.length === 0 ? '' : `?${present.join('&')}`.slice(0, 6_000);
    });
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant('') },
    { weight: schemas.query.length > 0 ? 4 : 0, arbitrary: fitting },
    // Cut to stay under Node's limit on the request head (a cut may leave a broken %-escape: fine too).
    {
      weight: 4,
      arbitrary: fc
        .array(pair, { maxLength: 4 })
        .map((pairs) =>
          pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')}`.slice(0, 6_000),
        ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '?',
        '?&&',
        '?=',
        '?limit',
        '?limit=1&limit=2',
        '?status[]=x',
        '?a[b][c]=1',
        `?q=${RAW_SEGMENTS.join('')}`,
      ),
    },
  );
}

function headers(pools: FuzzPools): fc.Arbitrary<Record<string, string>> {
  const auth = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .constantFrom(...pools.keys)
        .map((key) => (key === undefined ? {} : { authorization: `Bearer ${key}` })),
    },
    { weight: 1, arbitrary: text.map((t) => ({ authorization: headerValue(t) })) },
  );
  const extra = fc.dictionary(
    fc.constantFrom(
      'idempotency-key',
      'last-event-id',
      'accept',
      'accept-encoding',
      'x-forwarded-for',
      'origin',
      'if-none-match',
      'range',
    ),
    text.map(headerValue),
    { maxKeys: 3 },
  );
  return fc.tuple(auth, extra).map(([a, e]) => ({ ...e, ...a }));
}

/** Requests aimed at one route (of which the OpenAPI document may say what it takes). */
export function requestsFor(
  route: AppRoute,
  pools: FuzzPools,
  schemas: RouteSchemas = { query: [], resolve: () => undefined },
): fc.Arbitrary<FuzzRequest> {
  const names = [...route.path.matchAll(/:([A-Za-z_]\w*)/g)].map((m) => m[1]!);
  const param = (name: string) =>
    fc.oneof(
      { weight: 6, arbitrary: idFor(pools, name).map(encode) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
    );
  const path = fc.tuple(...names.map(param)).map((values) => {
    let i = 0;
    return route.path.replaceAll(/:[A-Za-z_]\w*/g, () => values[i++] ?? '');
  });
  const method = fc.oneof(
    { weight: 9, arbitrary: fc.constant(route.method) },
    { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
  );
  return fc
    .record({ method, path, query: query(pools, schemas), headers: headers(pools), body: body(pools, schemas) })
    .map((r) => {
      const h: Record<string, string> = { ...r.headers };
      // A body on GET or HEAD is something fetch will not send.
      const sendsBody = r.method !== 'GET' && r.method !== 'HEAD' && r.body.body !== undefined;
      if (sendsBody && r.body.contentType !== undefined) h['content-type'] = r.body.contentType;
      return { method: r.method, url: `${r.path}${r.query}`, headers: h, ...(sendsBody && { body: r.body.body }) };
    });
}
