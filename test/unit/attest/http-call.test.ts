import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/attest/canonical.js';
import { sha256Hex } from '../../../src/attest/digest.js';
import { httpCallProblems } from '../../../src/attest/verify/http.js';

const NONE = sha256Hex(new Uint8Array());
const call = (extra: Partial<Parameters<typeof httpCallProblems>[1]> = {}) => ({
  url: 'https://api.acme.dev/v1/score?b=2&a=1',
  method: 'POST',
  status: 200,
  requestDigest: sha256Hex(canonicalJson({ text: 'hi' })),
  responseDigest: NONE,
  ...extra,
});

describe('the attested HTTP call against the step input (level full)', () => {
  it('agrees with the input it mirrors: default method, query pairs in any order, null as not given', () => {
    const input = {
      url: 'https://api.acme.dev/v1/score#frag',
      query: { a: 1, b: '2' },
      body: { text: 'hi' },
      method: null,
    };
    expect(httpCallProblems(input, call())).toEqual([]);
    expect(
      httpCallProblems(
        { url: 'https://API.acme.dev:443/v1/score?a=1', query: { b: 2 }, method: 'get', body: null },
        call({ method: 'GET', requestDigest: NONE }),
      ),
    ).toEqual([]);
  });

  it('names each difference', () => {
    const input = { url: 'https://api.acme.dev/v1/score', query: { a: 1, b: 2 }, body: { text: 'hi' } };
    expect(httpCallProblems(input, call({ url: 'https://api.acme.dev/v1/other?a=1&b=2' }))).toEqual([
      expect.stringMatching(/the attested url is .*other/),
    ]);
    expect(httpCallProblems(input, call({ url: 'https://api.acme.dev/v1/score?a=1&b=3' }))[0]).toMatch(/attested url/);
    expect(httpCallProblems(input, call({ method: 'PUT' }))).toEqual([
      'the attested method is PUT, the input asks for POST',
    ]);
    expect(httpCallProblems({ ...input, body: { text: 'other' } }, call())[0]).toMatch(/request digest/);
    expect(httpCallProblems({ ...input, body: undefined }, call())[0]).toMatch(/request digest/);
  });

  it('an input that cannot have made the call', () => {
    expect(httpCallProblems('text', call())).toEqual(["the step's input is not an object with a url"]);
    expect(httpCallProblems({}, call())).toEqual(["the step's input has no url"]);
    expect(httpCallProblems({ url: 'nope' }, call())[0]).toMatch(/is not a URL/);
    expect(httpCallProblems({ url: 'https://x/', query: [1] }, call())).toEqual([
      "the step's input query is not an object",
    ]);
    expect(httpCallProblems({ url: 'https://api.acme.dev/v1/score' }, call({ url: 'not a url' }))[0]).toMatch(
      /attested url/,
    );
  });
});
