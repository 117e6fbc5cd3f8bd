import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { startHttpService } from '../../support/http-service.js';
import type { HttpService } from '../../support/http-service.js';

/**
 * `verity run --models-config FILE` with an `http` section: the in-process worker serves builtin/http for
 * the listed endpoints with the headers the file names, `${ENV}` read from its environment; `verity verify`
 * shows what the attestation says was called.
 */
describe('builtin/http from a --models-config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verity-http-steps-'));
  let service: HttpService;
  const env = () => ({ VERITY_DATA_DIR: join(dir, 'data'), VERITY_DATABASE_URL: '', ACME_TOKEN: 'tok-cli-secret' });
  const workflow = join(dir, 'workflow.json');

  beforeAll(async () => {
    service = await startHttpService();
    service.route('/v1/classify', (request) => {
      const { text } = JSON.parse(request.body.toString('utf8')) as { text: string };
      return { body: JSON.stringify({ label: text.includes('great') ? 'positive' : 'negative' }) };
    });
    writeFileSync(
      workflow,
      JSON.stringify({
        id: 'classify-http',
        verification_level: 'full',
        steps: [
          {
            id: 'classify',
            step_type: 'inference',
            model_requirements: { name: 'builtin/http' },
            input_mappings: { url: 'inputs.url', body: "{ 'text': inputs.text }" },
          },
        ],
      }),
    );
  });
  afterAll(async () => {
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs, sends the configured header, and verify shows the attested call', async () => {
    const config = join(dir, 'models.json');
    writeFileSync(
      config,
      JSON.stringify({
        http: { endpoints: [{ url: `${service.url}/v1/`, headers: { authorization: 'Bearer ${ACME_TOKEN}' } }] },
      }),
    );
    const run = await runCli(
      [
        'run',
        workflow,
        '--input',
        JSON.stringify({ url: `${service.url}/v1/classify`, text: 'a great day' }),
        '--models-config',
        config,
        '--json',
      ],
      env(),
    );
    expect(run.code, run.stderr).toBe(0);
    const outcome = JSON.parse(run.stdout) as { executionId: string; status: string; result: unknown };
    expect(outcome.status).toBe('completed');
    expect(JSON.stringify(outcome.result)).toContain('positive');
    expect(service.requests[0]!.headers.authorization).toBe('Bearer tok-cli-secret');
    expect(run.stdout + run.stderr).not.toContain('tok-cli-secret');

    const key = join(dir, 'coordinator.pem');
    writeFileSync(key, (await runCli(['keys', 'show'], env())).stdout);
    const bundle = join(dir, 'bundle.json');
    expect((await runCli(['receipt', outcome.executionId, '--include-data', '-o', bundle], env())).code).toBe(0);
    const verified = await runCli(['verify', bundle, '--trust', key, '--level', 'full'], env());
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toMatch(
      new RegExp(
        `^✓ attestation\\.classify: .*; called POST ${service.url.replace(/\./g, '\\.')}/v1/classify → 200 \\(request sha256 [0-9a-f]{12}…, response sha256 [0-9a-f]{12}…\\)$`,
        'm',
      ),
    );
  });

  it('refuses to start on a bad http section, naming the field, or an unset variable (exit 2)', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ http: { endpoints: [{ url: 'https://user:pw@api.acme.dev/' }] } }));
    const run = await runCli(['run', workflow, '--input', '{}', '--models-config', bad], env());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('http.endpoints.0.url: must not carry a user name or password');

    const unset = join(dir, 'unset.json');
    writeFileSync(
      unset,
      JSON.stringify({
        http: { endpoints: [{ url: 'https://api.acme.dev/', headers: { 'x-key': '${NOT_SET_HERE}' } }] },
      }),
    );
    const missing = await runCli(['run', workflow, '--input', '{}', '--models-config', unset], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      'http.endpoints.0.headers.x-key: the environment variable NOT_SET_HERE is not set',
    );
  });
});
