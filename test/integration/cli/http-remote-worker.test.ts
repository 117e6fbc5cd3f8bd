import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../../support/cli.js';
import { startHttpService } from '../../support/http-service.js';
import type { HttpService } from '../../support/http-service.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * builtin/http on a real `verity serve` (no in-process worker) and a real `verity worker` whose
 * --models-config lists one service on 127.0.0.1. The server itself listens on 127.0.0.1 too: a definition
 * that points a step at the server's own port (or the service's other routes) is refused by the worker.
 */
describe('builtin/http on a remote worker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verity-http-remote-'));
  let service: HttpService;
  let server: ServerProcess;
  let worker: ReturnType<typeof spawnCli>;
  let client: Record<string, string>;
  const workflow = join(dir, 'workflow.json');

  beforeAll(async () => {
    service = await startHttpService();
    service.route('/api/sum', (request) => {
      const { values } = JSON.parse(request.body.toString('utf8')) as { values: number[] };
      return { body: JSON.stringify({ sum: values.reduce((a, b) => a + b, 0) }) };
    });
    server = await startServerProcess({ dataDir: join(dir, 'server'), workers: 0 });
    const admin = { VERITY_SERVER: server.url, VERITY_API_KEY: server.adminKey, VERITY_DATA_DIR: join(dir, 'none') };
    const workerKey = (await runCli(['keys', 'create', '--role', 'worker', '--name', 'http-worker'], admin)).stdout;
    const publisherKey = (await runCli(['keys', 'create', '--role', 'publisher', '--name', 'pub'], admin)).stdout;
    client = { ...admin, VERITY_API_KEY: publisherKey.trim(), VERITY_DATABASE_URL: '' };
    const config = join(dir, 'models.json');
    writeFileSync(
      config,
      JSON.stringify({
        http: { endpoints: [{ url: `${service.url}/api/`, headers: { 'x-api-key': '${SUM_KEY}' } }] },
      }),
    );
    writeFileSync(
      workflow,
      JSON.stringify({
        id: 'http-remote',
        verification_level: 'full',
        steps: [
          {
            id: 'sum',
            step_type: 'data_processing',
            model_requirements: { name: 'builtin/http' },
            input_mappings: { url: 'inputs.url', body: "{ 'values': inputs.values }" },
            retry_policy: { max_attempts: 1 },
          },
        ],
      }),
    );
    worker = spawnCli(
      [
        'worker',
        '--server',
        server.url,
        '--key',
        workerKey.trim(),
        '--data-dir',
        join(dir, 'worker'),
        '--models-config',
        config,
      ],
      { SUM_KEY: 'sum-key-42' },
    );
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the worker did not start:\n${stderr}`)), 30_000);
      worker.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        if (/worker \S+ \(key/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await worker.output;
    }
    await server?.stop();
    await service?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (url: string) => {
    const result = await runCli(
      ['run', workflow, '--input', JSON.stringify({ url, values: [1, 2, 39] }), '--json'],
      client,
    );
    return JSON.parse(result.stdout) as {
      executionId: string;
      status: string;
      result: unknown;
      steps: { error?: { code: string; message: string } }[];
    };
  };

  it('runs the step on the worker, which adds its header; the receipt verifies with the call attested', async () => {
    const outcome = await run(`${service.url}/api/sum`);
    expect(outcome.status, JSON.stringify(outcome)).toBe('completed');
    expect(JSON.stringify(outcome.result)).toContain('"sum":42');
    expect(service.requests.at(-1)!.headers['x-api-key']).toBe('sum-key-42');

    const key = join(dir, 'coordinator.pem');
    writeFileSync(key, (await runCli(['keys', 'show'], client)).stdout);
    const bundle = join(dir, 'bundle.json');
    expect((await runCli(['receipt', outcome.executionId, '--include-data', '-o', bundle], client)).code).toBe(0);
    const verified = await runCli(['verify', bundle, '--trust', key, '--level', 'full'], {
      VERITY_SERVER: '',
      VERITY_API_KEY: '',
    });
    expect(verified.code, verified.stdout).toBe(0);
    expect(verified.stdout).toContain(`called POST ${service.url}/api/sum → 200`);
  });

  it("attack: a step aimed at the Verity server's own port on 127.0.0.1 is refused, nothing sent", async () => {
    const before = service.requests.length;
    for (const url of [`${server.url}/v1/keys`, `${server.url}/api/sum`, `${service.url}/admin`]) {
      const outcome = await run(url);
      expect(outcome.status, url).toBe('failed');
      expect(JSON.stringify(outcome), url).toContain('http_not_allowed');
    }
    expect(service.requests.length).toBe(before);
  });
});
