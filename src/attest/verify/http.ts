import { canonicalJson } from '../canonical.js';
import { sha256Hex } from '../digest.js';
import type { StepPredicate } from '../statement.js';

export type AttestedHttpCall = NonNullable<StepPredicate['http']>;

/**
 * How the HTTP call an attestation records differs from the call the step's input asked for (empty when it
 * does not): the URL (scheme, host, port, path, and the query as a multiset of pairs, since the order of a
 * query's keys is the input's), the method, and the digest of the body, which is the digest of its
 * canonical JSON. The response digest is not checked: the response bytes are not in a bundle.
 * Pure, and mirrors what builtin/http sends (src/executors/http/http-executor.ts).
 */
export function httpCallProblems(input: unknown, http: AttestedHttpCall): string[] {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return ["the step's input is not an object with a url"];
  // As the executor reads it: null means "not given".
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null)) as Record<string, unknown>;
  if (typeof given.url !== 'string') return ["the step's input has no url"];
  let asked: URL;
  let called: URL;
  try {
    asked = new URL(given.url);
  } catch {
    return [`the step's input url ${JSON.stringify(given.url.slice(0, 200))} is not a URL`];
  }
  try {
    called = new URL(http.url);
  } catch {
    return [`the attested url ${JSON.stringify(http.url.slice(0, 200))} is not a URL`];
  }
  const query = given.query;
  if (query !== undefined) {
    if (query === null || typeof query !== 'object' || Array.isArray(query))
      return ["the step's input query is not an object"];
    for (const [name, value] of Object.entries(query)) asked.searchParams.append(name, String(value));
  }
  const problems: string[] = [];
  const place = (u: URL) => `${u.protocol}//${u.host}${u.pathname}`;
  const pairs = (u: URL) =>
    [...u.searchParams]
      .map(([k, v]) => JSON.stringify([k, v]))
      .sort()
      .join(',');
  if (place(asked) !== place(called) || pairs(asked) !== pairs(called))
    problems.push(
      `the attested url is ${http.url}, the input asks for ${asked.origin}${asked.pathname}${asked.search}`,
    );
  const method = typeof given.method === 'string' ? given.method.toUpperCase() : 'POST';
  if (http.method !== method) problems.push(`the attested method is ${http.method}, the input asks for ${method}`);
  let body: string;
  try {
    body = given.body === undefined ? sha256Hex(new Uint8Array()) : sha256Hex(canonicalJson(given.body));
  } catch (error) {
    return [...problems, `the step's input body is not JSON: ${(error as Error).message}`];
  }
  if (http.requestDigest !== body)
    problems.push(`the attested request digest is ${http.requestDigest}, the input's body hashes to ${body}`);
  return problems;
}
