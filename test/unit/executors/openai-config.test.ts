import { describe, expect, it } from 'vitest';
import { ExecutorError } from '../../../src/executors/executor.js';
import { loadOpenAiConfig } from '../../../src/executors/inference/openai/config.js';
import { OpenAiExecutor } from '../../../src/executors/inference/openai/openai-executor.js';
import { tokenCost } from '../../../src/executors/inference/openai/pricing.js';
import { errorMessage, retryAfterMs, scrub } from '../../../src/executors/inference/openai/http.js';

function configError(json: unknown, env: Record<string, string> = {}): ExecutorError {
  try {
    loadOpenAiConfig(json, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ExecutorError);
    return error as ExecutorError;
  }
  throw new Error('expected the config to be refused');
}

describe('the OpenAI-compatible model config', () => {
  it('resolves defaults and the API root', () => {
    const config = loadOpenAiConfig({
      baseUrl: 'http://127.0.0.1:8000/',
      models: [{ name: 'llm', upstream: 'qwen2.5:7b' }],
    });
    expect(config).toEqual({
      apiRoot: 'http://127.0.0.1:8000/v1',
      apiKey: undefined,
      models: [{ name: 'llm', upstream: 'qwen2.5:7b' }],
      timeoutMs: 120_000,
      maxRetries: 2,
    });
    expect(loadOpenAiConfig({ baseUrl: 'https://api.openai.com/v1', models: [{ name: 'gpt' }] }).apiRoot).toBe(
      'https://api.openai.com/v1',
    );
  });

  it('reads the key from the environment variable apiKeyEnv names', () => {
    const config = loadOpenAiConfig(
      { baseUrl: 'http://h:1', apiKeyEnv: 'LLM_KEY', models: [{ name: 'llm' }] },
      { LLM_KEY: 'sk-secret' },
    );
    expect(config.apiKey).toBe('sk-secret');
    expect(configError({ baseUrl: 'http://h:1', apiKeyEnv: 'LLM_KEY', models: [{ name: 'llm' }] }).message).toMatch(
      /apiKeyEnv: the environment variable LLM_KEY is not set/,
    );
  });

  it.each([
    [{ models: [{ name: 'llm' }] }, /baseUrl/],
    [{ baseUrl: 'ftp://h', models: [{ name: 'llm' }] }, /baseUrl: must be an http\(s\) URL/],
    [{ baseUrl: 'http://h:1', models: [] }, /models: list at least one model/],
    [{ baseUrl: 'http://h:1', models: [{ name: '' }] }, /models\.0\.name/],
    [{ baseUrl: 'http://h:1', models: [{ name: 'a' }, { name: 'a' }] }, /models: model names must be distinct/],
    [
      { baseUrl: 'http://h:1', models: [{ name: 'a', pricing: { inputPerMillion: 1.5, outputPerMillion: 2 } }] },
      /models\.0\.pricing\.inputPerMillion: must be an integer/,
    ],
    [
      { baseUrl: 'http://h:1', models: [{ name: 'a', pricing: { inputPerMillion: 1 } }] },
      /models\.0\.pricing\.outputPerMillion/,
    ],
    [{ baseUrl: 'http://h:1', models: [{ name: 'a' }], timeoutMs: 0 }, /timeoutMs/],
    [{ baseUrl: 'http://h:1', models: [{ name: 'a' }], maxRetries: -1 }, /maxRetries/],
    [{ baseUrl: 'http://h:1', models: [{ name: 'a' }], apiKye: 'x' }, /apiKye/],
    ['not an object', /\(config\)/],
  ])('refuses %j, naming the bad field', (json, pattern) => {
    const error = configError(json);
    expect(error.code).toBe('invalid_config');
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(pattern);
  });

  it('never repeats the key in a message about the config', () => {
    const error = configError(
      { baseUrl: 'http://h:1', apiKey: 'sk-very-secret', apiKeyEnv: 'K', models: [{ name: 'a' }] },
      { K: 'x' },
    );
    expect(error.message).not.toContain('sk-very-secret');
  });

  it('builds an executor that serves the configured names', () => {
    const executor = new OpenAiExecutor({
      baseUrl: 'http://h:1',
      models: [{ name: 'llm' }, { name: 'embedder', upstream: 'nomic-embed-text' }],
    });
    expect(executor.capabilities).toEqual({ stepTypes: [], models: ['llm', 'embedder'] });
    expect(() => new OpenAiExecutor({ baseUrl: 'nope', models: [{ name: 'llm' }] })).toThrow(/baseUrl/);
  });
});

describe('OpenAI-compatible helpers', () => {
  it('prices tokens in integer micro-units, rounding up', () => {
    expect(tokenCost(undefined, 10, 10)).toBeUndefined();
    expect(tokenCost({ inputPerMillion: 1_000_000, outputPerMillion: 2_000_000 }, 10, 5)).toBe(20);
    expect(tokenCost({ inputPerMillion: 150, outputPerMillion: 600 }, 1000, 1)).toBe(1); // 0.1506 rounds up
    expect(tokenCost({ inputPerMillion: 0, outputPerMillion: 0 }, 1000, 1000)).toBe(0);
  });

  it('reads retry-after as seconds, an HTTP date or retry-after-ms, and backs off without one', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }), 0, now)).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }), 0, now)).toBe(3000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'Tue, 31 Dec 2024 00:00:00 GMT' }), 0, now)).toBe(0);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150', 'retry-after': '9' }), 0, now)).toBe(150);
    expect(retryAfterMs(new Headers(), 0, now)).toBe(500);
    expect(retryAfterMs(new Headers(), 2, now)).toBe(2000);
  });

  it('finds the message of an error body in the shapes servers send', () => {
    expect(errorMessage('{"error":{"message":"bad model","type":"invalid_request_error"}}')).toBe('bad model');
    expect(errorMessage('{"error":"model not found"}')).toBe('model not found');
    expect(errorMessage('{"detail":[{"loc":["body","messages"],"msg":"field required"}]}')).toMatch(/field required/);
    expect(errorMessage('Bad Gateway')).toBe('Bad Gateway');
    expect(errorMessage('')).toBe('(no message)');
  });

  it('scrubs the key from text', () => {
    expect(scrub('Incorrect API key provided: sk-abc. sk-abc!', 'sk-abc')).toBe(
      'Incorrect API key provided: [redacted]. [redacted]!',
    );
    expect(scrub('nothing', undefined)).toBe('nothing');
  });
});
