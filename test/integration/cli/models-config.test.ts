import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { startOpenAiServer } from '../../support/openai-server.js';
import type { OpenAiTestServer } from '../../support/openai-server.js';

/**
 * `verity run --models-config FILE`: the in-process worker serves the hosted models the file names, so the
 * llm-summary example runs against any OpenAI-compatible server (here the protocol server of the tests).
 */
describe('hosted models from a --models-config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verity-models-config-'));
  let llm: OpenAiTestServer;
  beforeAll(async () => {
    llm = await startOpenAiServer({ apiKey: 'sk-test-secret' });
  });
  afterAll(async () => {
    await llm?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({ VERITY_DATA_DIR: join(dir, 'data'), VERITY_DATABASE_URL: '', LLM_KEY: 'sk-test-secret' });

  it('runs the llm-summary example against the configured server, never printing the key', async () => {
    const config = join(dir, 'models.json');
    writeFileSync(
      config,
      JSON.stringify({ baseUrl: llm.url, apiKeyEnv: 'LLM_KEY', models: [{ name: 'llm', upstream: 'tiny-chat' }] }),
    );
    const run = await runCli(
      [
        'run',
        'examples/llm-summary/workflow.yaml',
        '--input',
        '@examples/llm-summary/input.json',
        '--models-config',
        config,
        '--json',
      ],
      env(),
    );
    expect(run.code, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout) as { status: string; result: { summary: string; tokens: unknown } };
    expect(outcome.status).toBe('completed');
    expect(outcome.result.summary).toMatch(/^summary: /);
    expect(llm.requests.some((r) => r.headers.authorization === 'Bearer sk-test-secret')).toBe(true);
    expect(run.stdout + run.stderr).not.toContain('sk-test-secret');
  });

  it('refuses a config with a bad field, naming it (exit 2)', async () => {
    const config = join(dir, 'bad.json');
    writeFileSync(
      config,
      JSON.stringify({
        baseUrl: llm.url,
        models: [{ name: 'llm', pricing: { inputPerMillion: 1.5, outputPerMillion: 1 } }],
      }),
    );
    const run = await runCli(
      [
        'run',
        'examples/llm-summary/workflow.yaml',
        '--input',
        '@examples/llm-summary/input.json',
        '--models-config',
        config,
      ],
      env(),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('inputPerMillion');
  });
});
