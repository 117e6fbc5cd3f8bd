import { describe, expect, it } from 'vitest';
import { configuredExecutors } from '../../../src/cli/models-config.js';
import { ExecutorError } from '../../../src/executors/executor.js';
import { loadHttpConfig } from '../../../src/executors/http/config.js';
import { HttpExecutor } from '../../../src/executors/http/http-executor.js';
import { OpenAiExecutor } from '../../../src/executors/inference/openai/openai-executor.js';

function configError(json: unknown, env: Record<string, string> = {}): string {
  try {
    loadHttpConfig(json, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ExecutorError);
    expect((error as ExecutorError).code).toBe('invalid_config');
    return (error as ExecutorError).message;
  }
  throw new Error('expected the config to be refused');
}

describe('the http section of a models config', () => {
  it('resolves defaults, normalizes the URLs and reads ${ENV} in header values', () => {
    const config = loadHttpConfig(
      {
        endpoints: [
          { url: 'HTTPS://API.Acme.dev:443/v1/', headers: { Authorization: 'Bearer ${ACME_TOKEN}', 'X-Team': 'a$b' } },
          { url: 'http://127.0.0.1:8080', methods: ['GET', 'POST', 'GET'], timeout_ms: 500, max_response_bytes: 100 },
        ],
      },
      { ACME_TOKEN: 'tok-123' },
    );
    expect(config.endpoints).toEqual([
      {
        url: 'https://api.acme.dev/v1/',
        protocol: 'https:',
        hostname: 'api.acme.dev',
        port: '443',
        path: '/v1/',
        methods: ['POST'],
        headers: { authorization: 'Bearer tok-123', 'x-team': 'a$b' },
        timeoutMs: 30_000,
        maxResponseBytes: 10 * 1024 * 1024,
      },
      {
        url: 'http://127.0.0.1:8080/',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: '8080',
        path: '/',
        methods: ['GET', 'POST'],
        headers: {},
        timeoutMs: 500,
        maxResponseBytes: 100,
      },
    ]);
  });

  it('names every bad field', () => {
    const message = configError({
      endpoints: [
        { url: 'ftp://x/' },
        { url: 'https://u:p@x/' },
        { url: 'https://x/?a=1' },
        { url: 'https://x/a/..%2f' },
        { url: 'not a url' },
        { url: 'https://x/', methods: ['TRACE'] },
        { url: 'https://x/', headers: { 'bad name': 'v', Host: 'evil', 'Content-Length': '1' } },
        { url: 'https://x/', timeout_ms: 0, max_response_bytes: 1.5 },
        { url: 'https://x/', proxy: 'http://p' },
      ],
    });
    for (const fragment of [
      'http.endpoints.0.url: must be an http or https URL',
      'http.endpoints.1.url: must not carry a user name or password',
      'http.endpoints.2.url: must not have a query',
      'http.endpoints.3.url: must have a plain path',
      'http.endpoints.4.url: must be an absolute',
      'http.endpoints.5.methods.0: must be one of GET, POST, PUT, PATCH, DELETE',
      'http.endpoints.6.headers.bad name',
      'http.endpoints.6.headers.Host',
      'http.endpoints.6.headers.Content-Length',
      'http.endpoints.7.timeout_ms',
      'http.endpoints.7.max_response_bytes',
      'http.endpoints.8',
    ])
      expect(message).toContain(fragment);
    expect(message).toContain('proxy');
    expect(configError({ endpoints: [] })).toContain('http.endpoints: list at least one endpoint');
    expect(configError({})).toContain('http.endpoints');
    expect(configError('https://x/')).toContain('http');
  });

  it('names a header whose environment variable is unset, never showing the value it would have', () => {
    const message = configError(
      { endpoints: [{ url: 'https://x/', headers: { authorization: 'Bearer ${MISSING_TOKEN}', 'x-ok': '${SET}' } }] },
      { SET: 'visible-secret' },
    );
    expect(message).toBe(
      'invalid http config: http.endpoints.0.headers.authorization: the environment variable MISSING_TOKEN is not set',
    );
    expect(configError({ endpoints: [{ url: 'https://x/', headers: { a: '${EMPTY}' } }] }, { EMPTY: '' })).toContain(
      'EMPTY is not set',
    );
    const smuggled = configError({ endpoints: [{ url: 'https://x/', headers: { a: '${V}' } }] }, { V: 'x\r\nHost: y' });
    expect(smuggled).toContain('http.endpoints.0.headers.a: the value contains a line break');
    expect(smuggled).not.toContain('Host: y');
  });

  it('a models config with an http section serves builtin/http, with or without a model server', () => {
    const only = configuredExecutors({ http: { endpoints: [{ url: 'https://x/' }] } }, {});
    expect(only).toHaveLength(1);
    expect(only[0]).toBeInstanceOf(HttpExecutor);
    expect(only[0]!.capabilities.models).toEqual(['builtin/http']);
    const both = configuredExecutors(
      { baseUrl: 'http://127.0.0.1:8000', models: [{ name: 'llm' }], http: { endpoints: [{ url: 'https://x/' }] } },
      {},
    );
    expect(both.map((e) => e.constructor)).toEqual([HttpExecutor, OpenAiExecutor]);
    // Without an http section, no worker serves builtin/http by surprise.
    const models = configuredExecutors({ baseUrl: 'http://127.0.0.1:8000', models: [{ name: 'llm' }] }, {});
    expect(models.flatMap((e) => e.capabilities.models)).not.toContain('builtin/http');
    expect(() => configuredExecutors({ http: { endpoints: [{ url: 'file:///x' }] } }, {})).toThrow(
      /http\.endpoints\.0\.url/,
    );
  });
});
