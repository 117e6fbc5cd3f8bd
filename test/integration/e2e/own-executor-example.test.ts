import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { runCli, runExampleScript } from '../../support/cli.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * examples/own-executor/walkthrough.sh, run as a user would against a real `verity serve`: it starts
 * `verity worker --executors examples/own-executor/executors.js`, runs the workflow whose middle step
 * names acme/word-stats, and verifies the receipt at level full. The test then checks what it left: the
 * bundle verifies here too, and the stats step was signed by that worker with the executor's digest.
 * The script, the server and the worker run the built code (dist/): `npm run build` first.
 */

describe('examples/own-executor: the walkthrough against a real server', () => {
  const root = mkdtempSync(join(tmpdir(), 'verity-own-executor-example-'));
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    // In-process workers too: they run the JSONata steps, never acme/word-stats.
    server = await startServerProcess({ dataDir: join(root, 'data'), workers: 2 });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('a remote worker loads the module, runs the step, and the receipt verifies at level full', async () => {
    const out = join(root, 'out');
    const result = await runExampleScript('examples/own-executor/walkthrough.sh', {
      VERITY_SERVER: server!.url,
      VERITY_ADMIN_KEY: server!.adminKey,
      VERITY_EXAMPLE_DIR: out,
      RUN_SUFFIX: 'test',
      VERITY_DATA_DIR: join(root, 'nowhere'),
      VERITY_DATABASE_URL: '',
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('result 15 words, 10 distinct; most frequent: the, dog');
    expect(result.stdout).toContain('verified at level full');
    expect(result.stdout).toContain('worker stopped');

    const bundle = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8')) as Bundle;
    const trusted = readFileSync(join(out, 'coordinator.pem'), 'utf8');
    const report = await verifyBundle(bundle, { trustedKeys: [trusted], level: 'full' });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    const workerKey = readFileSync(join(out, 'worker', 'keys', 'worker.pub'), 'utf8');
    const stats = bundle.attestations
      .map(
        (e) => JSON.parse(Buffer.from(e.payload, 'base64').toString('utf8')) as { predicate: Record<string, unknown> },
      )
      .find((s) => s.predicate.stepId === 'stats')!;
    expect(stats.predicate).toMatchObject({ executor: 'acme/word-stats@1', cost: 15, usage: { words: 15 } });
    expect((stats.predicate.model as { digest: string }).digest).toMatch(/^[0-9a-f]{64}$/);
    expect(bundle.keys.some((k) => k.publicKeyPem === workerKey && k.keyid === stats.predicate.workerKeyId)).toBe(true);
  }, 120_000);

  it('verity worker --executors refuses a module without executors, and one that takes a built-in name', async () => {
    const env = { VERITY_DATA_DIR: join(root, 'nowhere'), VERITY_DATABASE_URL: '' };
    const key = ['--server', server!.url, '--key', server!.adminKey, '--data-dir', join(root, 'w')];
    const none = await runCli(['worker', ...key, '--executors', 'examples/own-executor/input.json'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--executors examples/own-executor/input.json');
    // An executor object of its own making (defineExecutor refuses the built-ins' namespaces outright).
    const clash = join(root, 'clash.mjs');
    writeFileSync(
      clash,
      "export default { name: 'mine', capabilities: { stepTypes: [], models: ['builtin/echo'] }, run: async () => ({ output: 1 }) };",
    );
    const taken = await runCli(['worker', ...key, '--executors', clash], env);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toMatch(/both serve builtin\/echo/);
  });
});
