import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { runCli, spawnCli } from '../../support/cli.js';

let dir: string;
let env: Record<string, string>;
let key: string;
let bundleFile: string;
let executionId: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verity-receipts-cli-'));
  env = { VERITY_DATA_DIR: join(dir, 'data'), VERITY_DATABASE_URL: '' };
  const run = await runCli(
    ['run', 'examples/linear/workflow.yaml', '--input', '@examples/linear/input.json', '--json'],
    env,
  );
  executionId = (JSON.parse(run.stdout) as { executionId: string }).executionId;
  key = join(dir, 'coordinator.pem');
  writeFileSync(key, (await runCli(['keys', 'show'], env)).stdout);
  bundleFile = join(dir, 'bundle.json');
  await runCli(['receipt', executionId, '--include-data', '-o', bundleFile], env);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verity keys, receipt, verify, log', () => {
  it('keys show prints the coordinator public key, the same every time, and its keyid on stderr', async () => {
    const shown = await runCli(['keys', 'show'], env);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe(readFileSync(key, 'utf8'));
    expect(shown.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n$/);
    expect(shown.stderr).toMatch(/^keyid [0-9a-f]{64}\n$/);
  });

  it('receipt writes the bundle to stdout without -o', async () => {
    const printed = await runCli(['receipt', executionId.slice(0, 20)], env);
    expect(printed.code).toBe(0);
    const bundle = JSON.parse(printed.stdout) as { mediaType: string; data?: unknown; attestations: unknown[] };
    expect(bundle.mediaType).toBe('application/vnd.verity.bundle.v1+json');
    expect(bundle.data).toBeUndefined();
    expect(bundle.attestations).toHaveLength(5);
  });

  it('verify prints each check and exits 0 for a good bundle; --json prints the report', async () => {
    const verified = await runCli(['verify', bundleFile, '--trust', key, '--level', 'full'], env);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^✓ receipt\.signature: signed by trusted coordinator key [0-9a-f]{64}$/m);
    expect(verified.stdout).toMatch(/^✓ lineage\.report: its input follows from its upstream outputs$/m);
    const json = await runCli(['verify', bundleFile, '--trust', key, '--json'], env);
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      level: string;
      executionId: string;
      checks: { name: string; ok: boolean }[];
    };
    expect(report).toMatchObject({ ok: true, level: 'basic', executionId });
    expect(report.checks.map((c) => c.name)).toContain('tlog.inclusion');
  });

  it('verify exits 1 and names the failing check for a tampered bundle or an untrusted key', async () => {
    const bundle = JSON.parse(readFileSync(bundleFile, 'utf8')) as {
      tlog: { logIndex: number };
      data: { inputs: { title: string } };
    };
    bundle.data.inputs.title = 'Forged';
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(bundle));
    const failed = await runCli(['verify', tampered, '--trust', key, '--level', 'full'], env);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^✗ data\.inputs: the inputs hash to [0-9a-f]{64}, the receipt says [0-9a-f]{64}$/m);
    expect(failed.stdout).toMatch(/NOT verified: \d+ checks? failed/);
    // The same bundle passes the basic level, which does not look at data.
    expect((await runCli(['verify', tampered, '--trust', key], env)).code).toBe(0);

    const stranger = join(dir, 'stranger.pem');
    writeFileSync(stranger, LocalSigner.generate().publicKeyPem);
    const untrusted = await runCli(['verify', bundleFile, '--trust', stranger], env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stdout).toMatch(
      /^✗ receipt\.signature: the receipt is signed by keyid [0-9a-f]{64}, which is not a trusted coordinator key$/m,
    );
  });

  it('verify exits 2 on unusable input: no trusted key, not JSON, not a bundle', async () => {
    const noTrust = await runCli(['verify', bundleFile], env);
    expect(noTrust.code).toBe(2);
    expect(noTrust.stderr).toMatch(/give the coordinator public key to trust: --trust KEY\.pem/);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{ nope');
    expect((await runCli(['verify', notJson, '--trust', key], env)).code).toBe(2);
    const notBundle = join(dir, 'other.json');
    writeFileSync(notBundle, '{"hello": 1}');
    const result = await runCli(['verify', notBundle, '--trust', key], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not a Verity bundle/);
  });

  it('receipt refuses an execution that has not ended', async () => {
    const slow = join(dir, 'slow.yaml');
    writeFileSync(
      slow,
      'id: slow\nsteps:\n  - { id: s, step_type: inference, model_requirements: { name: builtin/sleep }, input_mappings: { ms: "30000" } }\n',
    );
    const running = spawnCli(['run', slow], env);
    let id = '';
    for (let i = 0; i < 100 && !id; i++) {
      await new Promise((r) => setTimeout(r, 50));
      id =
        (
          JSON.parse((await runCli(['list', '--json', '--status', 'running'], env)).stdout) as { executionId: string }[]
        )[0]?.executionId ?? '';
    }
    const refused = await runCli(['receipt', id], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`error: execution ${id} is still running; its receipt is issued when it ends\n`);
    // Long enough that a loaded machine cannot finish it first; cancelling ends the run in the other process.
    expect((await runCli(['cancel', id], env)).code).toBe(0);
    expect((await running.output).code).toBe(1);
  });

  it('log checkpoint prints a signed C2SP checkpoint; log consistency proves growth', async () => {
    const checkpoint = await runCli(['log', 'checkpoint'], env);
    expect(checkpoint.code).toBe(0);
    expect(checkpoint.stdout).toMatch(
      /^verity\.local\/log\/[0-9a-f]{12}\n\d+\n[A-Za-z0-9+/]{43}=\n\n— verity\.local\/log\/[0-9a-f]{12} [A-Za-z0-9+/=]+\n$/,
    );
    const proof = JSON.parse((await runCli(['log', 'consistency', '1'], env)).stdout) as {
      size1: number;
      size2: number;
      proof: string[];
    };
    expect(proof.size1).toBe(1);
    expect(proof.size2).toBeGreaterThanOrEqual(1);
  });
});
