/**
 * The URLs a worker's `builtin/http` steps may call: an allow-list of endpoints in the worker's own
 * configuration, so that a workflow definition (written by whoever starts an execution) can never make a
 * worker reach a host the worker's operator did not name (no SSRF from a definition).
 *
 * Every comparison is made on the URL as the WHATWG parser normalizes it (lowercase host, IPv4 and IPv6
 * in one canonical form, default ports dropped, `.` and `..` segments resolved, `\` read as `/`), and the
 * request is then sent to exactly that normalized URL: what was checked is what is called.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One allowed endpoint, as the configuration resolved it. */
export interface AllowedEndpoint {
  /** The entry as normalized: `https://api.acme.dev/v1/`. */
  url: string;
  protocol: 'http:' | 'https:';
  /** Lowercase, IPv6 in brackets, as the WHATWG parser writes it. */
  hostname: string;
  /** Always explicit: the scheme's default when the entry gives none. */
  port: string;
  /** A URL's path must equal this or continue it after a `/`. */
  path: string;
  methods: readonly HttpMethod[];
  /** Sent with every request to this endpoint; values already read from the environment. Never in a message. */
  headers: Readonly<Record<string, string>>;
  timeoutMs: number;
  maxResponseBytes: number;
}

export type UrlCheck = { ok: true; url: URL; endpoint: AllowedEndpoint } | { ok: false; reason: string };

/** Each round shortens a segment, so this only bounds the work on a hostile one. */
const MAX_DECODING_ROUNDS = 8;
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/** The port a parsed http(s) URL connects to. */
export function effectivePort(url: URL): string {
  return url.port !== '' ? url.port : (DEFAULT_PORTS[url.protocol] ?? '');
}

/**
 * A URL's path that a server might read differently from the WHATWG parser: a segment that still means
 * `.` or `..` once percent-decoded (any number of times, as chains of servers and proxies may do) or with a `;` parameter
 * cut off (`..;`, as Java servers read it), or a segment hiding a `/`, `\` or NUL in percent-encoding.
 * Returns why, or undefined when the path is plain.
 */
export function ambiguousPath(pathname: string): string | undefined {
  for (const segment of pathname.split('/')) {
    let form = segment;
    // Decoded until it no longer changes, each form checked: no depth of encoding hides a dot segment.
    for (let round = 0; ; round++) {
      if (round > 0 && /[\\/\0]/.test(form)) return `the path segment "${segment}" hides a "/", "\\" or NUL`;
      const base = form.split(';')[0];
      if (base === '.' || base === '..') return `the path segment "${segment}" is a "." or ".." segment`;
      if (round === MAX_DECODING_ROUNDS) return `the path segment "${segment}" is percent-encoded too many times over`;
      let decoded: string;
      try {
        decoded = decodeURIComponent(form);
      } catch {
        return `the path segment "${segment}" is not valid percent-encoding`;
      }
      if (decoded === form) break;
      form = decoded;
    }
  }
  return undefined;
}

/** Whether `pathname` is `prefix` or lies under it at a segment boundary. */
export function pathWithin(pathname: string, prefix: string): boolean {
  if (prefix.endsWith('/')) return pathname.startsWith(prefix);
  return pathname === prefix || pathname.startsWith(`${prefix}/`);
}

/**
 * Checks a URL a step asked for against the allow-list. On success, the parsed URL (without a fragment)
 * to send, and the most specific endpoint it falls under (the longest path). The reason on refusal names
 * the URL's part that did not match, never an entry's headers.
 */
export function checkUrl(raw: string, endpoints: readonly AllowedEndpoint[]): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'it is not an absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { ok: false, reason: `its scheme ${url.protocol.slice(0, -1)} is not http or https` };
  if (url.username !== '' || url.password !== '')
    return { ok: false, reason: 'it carries a user name or password (credentials come from the worker)' };
  const ambiguous = ambiguousPath(url.pathname);
  if (ambiguous !== undefined) return { ok: false, reason: ambiguous };
  url.hash = '';
  const port = effectivePort(url);
  let best: AllowedEndpoint | undefined;
  for (const endpoint of endpoints) {
    if (endpoint.protocol !== url.protocol || endpoint.hostname !== url.hostname || endpoint.port !== port) continue;
    if (!pathWithin(url.pathname, endpoint.path)) continue;
    if (!best || endpoint.path.length > best.path.length) best = endpoint;
  }
  if (!best) return { ok: false, reason: 'no entry has its scheme, host and port with a path it lies under' };
  return { ok: true, url, endpoint: best };
}

/** A URL for a message: the definition's own string, cut short; never anything from the configuration. */
export function describeUrl(raw: string): string {
  return raw.length > 200 ? `${raw.slice(0, 200)}…` : raw;
}
