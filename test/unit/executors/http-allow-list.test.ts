import { describe, expect, it } from 'vitest';
import { ambiguousPath, checkUrl, pathWithin } from '../../../src/executors/http/allow-list.js';
import { loadHttpConfig } from '../../../src/executors/http/config.js';

const { endpoints } = loadHttpConfig({
  endpoints: [
    { url: 'https://api.acme.dev/v1/' },
    { url: 'http://127.0.0.1:8080/hook', methods: ['POST', 'GET'] },
    { url: 'http://[::1]:9000/' },
    { url: 'https://API.Other.dev:8443/a/b' },
  ],
});

const allowed = (url: string) => checkUrl(url, endpoints);
const refused = (url: string) => {
  const check = checkUrl(url, endpoints);
  return check.ok ? `allowed as ${check.url.href}` : check.reason;
};

describe('the allow-list of builtin/http', () => {
  it('allows URLs under an entry, by the most specific entry, and sends their normalized form', () => {
    for (const [url, sent] of [
      ['https://api.acme.dev/v1/', 'https://api.acme.dev/v1/'],
      ['https://api.acme.dev/v1/users?id=1', 'https://api.acme.dev/v1/users?id=1'],
      ['HTTPS://API.ACME.DEV:443/v1/x', 'https://api.acme.dev/v1/x'],
      ['https://api.acme.dev/v1/x#fragment', 'https://api.acme.dev/v1/x'],
      ['https://api.acme.dev/v1/a/../b', 'https://api.acme.dev/v1/b'],
      ['http://127.0.0.1:8080/hook', 'http://127.0.0.1:8080/hook'],
      ['http://127.0.0.1:8080/hook/deeper', 'http://127.0.0.1:8080/hook/deeper'],
      ['http://127.1:8080/hook', 'http://127.0.0.1:8080/hook'],
      ['http://[0:0:0:0:0:0:0:1]:9000/x', 'http://[::1]:9000/x'],
      ['https://api.other.dev:8443/a/b/c', 'https://api.other.dev:8443/a/b/c'],
    ] as const) {
      const check = allowed(url);
      expect(check.ok, url).toBe(true);
      if (check.ok) expect(check.url.href).toBe(sent);
    }
  });

  it('refuses other hosts, and host names that only look alike', () => {
    for (const url of [
      'https://evil.com/v1/',
      'https://api.acme.dev.evil.com/v1/',
      'https://evilapi.acme.dev/v1/',
      'https://acme.dev/v1/',
      'https://x.api.acme.dev/v1/',
      'https://api.acme.dev./v1/',
      'https://api.acme.dev%2eevil.com/v1/',
      'https://api.acme.dev@evil.com/v1/',
      'https://evil.com#@api.acme.dev/v1/',
      'https://evil.com?@api.acme.dev/v1/',
      'https://evil.com\\@api.acme.dev/v1/',
    ])
      expect(refused(url), url).not.toMatch(/^allowed/);
  });

  it('refuses user names and passwords, even on a listed host', () => {
    for (const url of [
      'https://user@api.acme.dev/v1/',
      'https://user:pass@api.acme.dev/v1/',
      'https://:pass@api.acme.dev/v1/',
    ])
      expect(refused(url), url).toMatch(/user name or password/);
  });

  it('refuses other ports and schemes on a listed host', () => {
    for (const url of [
      'https://api.acme.dev:8443/v1/',
      'http://api.acme.dev/v1/',
      'http://127.0.0.1:8081/hook',
      'http://127.0.0.1/hook',
      'https://127.0.0.1:8080/hook',
      'http://127.0.0.1:08080x/hook',
      'https://api.other.dev/a/b',
    ])
      expect(refused(url), url).not.toMatch(/^allowed/);
    for (const url of [
      'ftp://api.acme.dev/v1/',
      'file:///etc/passwd',
      'ws://api.acme.dev/v1/',
      'data:application/json,{}',
      'javascript:alert(1)',
      'gopher://127.0.0.1:8080/hook',
    ])
      expect(refused(url), url).toMatch(/scheme|not an absolute/);
    for (const url of ['/v1/x', 'api.acme.dev/v1/', '', '//api.acme.dev/v1/'])
      expect(refused(url), url).toMatch(/not an absolute URL/);
  });

  it('refuses paths outside the prefix, and prefixes not at a segment boundary', () => {
    for (const url of [
      'https://api.acme.dev/',
      'https://api.acme.dev/v1',
      'https://api.acme.dev/v10/',
      'https://api.acme.dev/v2/x',
      'http://127.0.0.1:8080/hooks',
      'http://127.0.0.1:8080/hook.json',
      'http://127.0.0.1:8080/',
      'https://api.other.dev:8443/a/bc',
      'https://api.other.dev:8443/a',
    ])
      expect(refused(url), url).toMatch(/no entry/);
  });

  it('refuses dot segments in every encoding, and encoded separators', () => {
    // Resolved by the parser, and then outside the prefix:
    for (const url of [
      'https://api.acme.dev/v1/../admin',
      'https://api.acme.dev/v1/%2e%2e/admin',
      'https://api.acme.dev/v1/.%2E/admin',
      'https://api.acme.dev/v1/%2E./admin',
      'https://api.acme.dev/v1\\..\\admin',
      'http://127.0.0.1:8080/hook/../../etc',
    ])
      expect(refused(url), url).toMatch(/no entry/);
    // Left alone by the parser, read as a separator or a dot segment by some servers: refused outright.
    for (const url of [
      'https://api.acme.dev/v1/..%2fadmin',
      'https://api.acme.dev/v1/..%2Fadmin',
      'https://api.acme.dev/v1/..%5cadmin',
      'https://api.acme.dev/v1/%252e%252e/admin',
      'https://api.acme.dev/v1/%25252e%25252e/admin',
      'https://api.acme.dev/v1/..;/admin',
      'https://api.acme.dev/v1/..;jsessionid=x/admin',
      'https://api.acme.dev/v1/x%00y',
      'https://api.acme.dev/v1/' + '%25'.repeat(9) + '2e',
      'https://api.acme.dev/v1/%E0%A4%A',
    ])
      expect(refused(url), url).toMatch(/segment/);
  });

  it('refuses IPv4 and IPv6 forms of hosts that are not listed', () => {
    for (const url of [
      'http://127.0.0.2:8080/hook',
      'http://0.0.0.0:8080/hook',
      'http://localhost:8080/hook',
      'http://[::1]:8080/hook',
      'http://[::ffff:127.0.0.1]:8080/hook',
      'http://[::ffff:7f00:1]:8080/hook',
      'http://2130706433:9000/',
      'http://127.0.0.1:9000/',
      'http://[::2]:9000/',
      'http://[fe80::1%25eth0]:9000/',
    ])
      expect(refused(url), url).not.toMatch(/^allowed/);
    // The same address in other IPv4 notations is the same host: allowed (it is what was listed).
    expect(allowed('http://0x7f.0.0.1:8080/hook').ok).toBe(true);
    expect(allowed('http://2130706433:8080/hook').ok).toBe(true);
  });

  it('refuses everything with an empty list', () => {
    expect(checkUrl('https://api.acme.dev/v1/', []).ok).toBe(false);
  });

  it('pathWithin and ambiguousPath', () => {
    expect(pathWithin('/v1/x', '/v1/')).toBe(true);
    expect(pathWithin('/v1', '/v1/')).toBe(false);
    expect(pathWithin('/v1', '/v1')).toBe(true);
    expect(pathWithin('/v1x', '/v1')).toBe(false);
    expect(pathWithin('/anything', '/')).toBe(true);
    expect(ambiguousPath('/v1/a%20b/c')).toBeUndefined();
    expect(ambiguousPath('/v1/a.b/..c/c..')).toBeUndefined();
    expect(ambiguousPath('/v1/%2e%2e')).toMatch(/segment/);
  });
});
