import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';

/*
 * The zk level from the command line, on a local data directory with the test circuit (one step per
 * proof): run waits for the proofs, receipt --zk-only writes the zk-only bundle, verify --level zk checks
 * it with a pinned verification key, and zk export-solidity writes the on-chain verifier.
 */
let dir: string;
let env: Record<string, string>;
let zkFlags: string[];
let executionId: string;
let runOutput: {
  status: string;
  zk?: { status: string; batchesDone: number; batchesTotal: number; circuit: string };
  result: unknown;
};

beforeAll(async () => {
  const zk = await ensureTestZkArtifacts();
  dir = mkdtempSync(join(tmpdir(), 'verity-zk-cli-'));
  env = {
    VERITY_DATA_DIR: join(dir, 'data'),
    VERITY_DATABASE_URL: '',
    VERITY_ZK_DIR: zk.zkDir,
    VERITY_ZK_BATCH_SIZE: String(zk.config.batchSize),
    VERITY_ZK_REGISTRY_DEPTH: String(zk.config.registryDepth),
  };
  zkFlags = [
    '--zk-dir',
    zk.zkDir,
    '--batch-size',
    String(zk.config.batchSize),
    '--registry-depth',
    String(zk.config.registryDepth),
  ];
  const run = await runCli(
    ['run', 'examples/private-report/workflow.yaml', '--input', '@examples/private-report/input.json', '--json'],
    env,
  );
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  runOutput = JSON.parse(run.stdout) as typeof runOutput;
  executionId = (JSON.parse(run.stdout) as { executionId: string }).executionId;
  writeFileSync(join(dir, 'coordinator.pem'), (await runCli(['keys', 'show'], env)).stdout);
}, 30 * 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verity at verification level zk', () => {
  it('run waits for the proofs and reports them', () => {
    expect(runOutput.status).toBe('completed');
    expect(runOutput.zk).toEqual({
      status: 'completed',
      circuit: 'verity-batch-v1-b1-d2',
      batchesDone: 5,
      batchesTotal: 5,
    });
  });

  it('status shows the proofs', async () => {
    const status = await runCli(['status', executionId], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('zk proofs (verity-batch-v1-b1-d2): completed, 5 of 5 batches');
  });

  it('receipt --zk-only and verify --level zk with a pinned key accept the run; a changed proof is refused', async () => {
    const bundle = join(dir, 'zk.json');
    expect((await runCli(['receipt', executionId, '--zk-only', '-o', bundle], env)).code).toBe(0);
    const key = join(dir, 'vk.json');
    expect((await runCli(['zk', 'export-verification-key', '--out', key, ...zkFlags], env)).code).toBe(0);
    const ok = await runCli(
      ['verify', bundle, '--trust', join(dir, 'coordinator.pem'), '--level', 'zk', '--zk-key', key],
      env,
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('✓ zk.batch.4.proof');
    expect(ok.stdout).toContain(`verified at level zk: execution ${executionId}`);

    const tampered = JSON.parse(readFileSync(bundle, 'utf8')) as { zk: { proofs: { publicSignals: string[] }[] } };
    tampered.zk.proofs[1]!.publicSignals[3] = '1';
    writeFileSync(join(dir, 'tampered.json'), JSON.stringify(tampered));
    const bad = await runCli(
      ['verify', join(dir, 'tampered.json'), '--trust', join(dir, 'coordinator.pem'), '--level', 'zk'],
      env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('✗ zk.batch.1.proof');

    const basic = await runCli(['verify', bundle, '--trust', join(dir, 'coordinator.pem'), '--level', 'basic'], env);
    expect(basic.code).toBe(2);
    expect(basic.stderr).toContain('--level zk');
  });

  it('receipt --zk-only refuses --include-data', async () => {
    const both = await runCli(['receipt', executionId, '--zk-only', '--include-data'], env);
    expect(both.code).toBe(2);
  });

  it('zk export-solidity writes the verifier contract', async () => {
    const out = join(dir, 'Verifier.sol');
    const exported = await runCli(['zk', 'export-solidity', '--out', out, ...zkFlags], env);
    expect(exported.code).toBe(0);
    expect(existsSync(out)).toBe(true);
    const source = readFileSync(out, 'utf8');
    expect(source).toContain('contract VerityBatchVerifier');
    expect(source).toContain('function verifyProof');
  });

  it('a node without a zk setup refuses to start a zk execution and says what to run', async () => {
    const bare = { VERITY_DATA_DIR: join(dir, 'bare'), VERITY_DATABASE_URL: '' };
    const run = await runCli(
      ['run', 'examples/private-report/workflow.yaml', '--input', '@examples/private-report/input.json'],
      bare,
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/cannot run at verification level zk: no zk artifacts .* run `verity zk setup/);
  });
});
