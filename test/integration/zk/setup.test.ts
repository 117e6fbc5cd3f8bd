import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonDigest } from '../../../src/attest/digest.js';
import { circuitId } from '../../../src/attest/zk/circuit.js';
import { ZkError } from '../../../src/attest/zk/errors.js';
import { checkArtifacts, readArtifacts } from '../../../src/zk/setup/artifacts.js';
import { readR1csHeader } from '../../../src/zk/setup/binfile.js';
import { sha256File } from '../../../src/zk/setup/files.js';
import { DEVELOPMENT_CAVEAT } from '../../../src/zk/setup/transcript.js';
import type { CeremonyTranscript } from '../../../src/zk/setup/transcript.js';
import { REPO } from '../../support/cli.js';
import { MINUTES, useCachedCeremony } from './setup-support.js';

/**
 * The development ceremony, for real, on the test circuit (6,334 constraints, 2^13): the first run of the
 * suite pays about 5 minutes in ensureTestZkArtifacts, later runs reuse `.zk/test`. Nothing here changes
 * it. The ceremony's mechanics (an imported phase 1, resuming, contributing) are in
 * setup-mechanics.test.ts, on a stand-in circuit (see setup-support.ts).
 */
const { cache } = useCachedCeremony();

describe('zk setup (development ceremony)', () => {
  it('records the ceremony: contributions, beacons, versions, and the digests of the files', async () => {
    const { transcript: t, verificationKey, paths } = await readArtifacts(cache().zkDir, cache().config);
    expect(t.ceremony).toBe('development');
    expect(t.caveat).toBe(DEVELOPMENT_CAVEAT);
    expect(t.circuitId).toBe(circuitId(cache().config));
    expect(t.config).toEqual(cache().config);
    expect(t.constraints).toBe((await readR1csHeader(paths.r1cs)).nConstraints);
    expect(t.constraints).toBeGreaterThan(4096);
    expect(t.power).toBe(13);
    expect(t.publicInputs).toBe(13);

    expect(t.phase1).toMatchObject({ source: 'generated', power: 13, file: join('ptau', 'pot13_final.ptau') });
    expect(t.contributions.map((c) => `${c.phase}:${c.type}`)).toEqual([
      '1:random',
      '1:beacon',
      '2:random',
      '2:beacon',
    ]);
    for (const c of t.contributions) {
      expect(c.hash).toMatch(/^[0-9a-f]{128}$/);
      expect(Number.isNaN(Date.parse(c.at))).toBe(false);
      if (c.type === 'beacon')
        expect(c.beacon).toMatchObject({ hash: expect.stringMatching(/^[0-9a-f]{64}$/) as unknown, iterationsExp: 10 });
    }

    for (const check of await checkArtifacts(cache().zkDir, t)) expect(check, check.name).toMatchObject({ ok: true });
    expect(t.artifacts.zkey.sha256).toBe(await sha256File(paths.zkey));
    expect(t.artifacts.ptau.sha256).toBe(t.phase1.sha256);
    expect(t.verificationKeyDigest).toBe(jsonDigest(verificationKey));
    expect(verificationKey).toMatchObject({ protocol: 'groth16', curve: 'bn128', nPublic: 13 });
    expect(verificationKey.IC).toHaveLength(14);

    expect(t.versions.snarkjs).toBe('0.7.6');
    expect(t.versions.circom).toMatch(/^circom compiler 2\.\d+\.\d+ \(circom2 0\.2\.23, --O2\)$/);
    for (const stage of [
      'compile',
      'ptau-new',
      'ptau-contribute',
      'ptau-beacon',
      'ptau-prepare',
      'zkey-new',
      'zkey-contribute',
      'zkey-beacon',
      'verification-key',
    ] as const) {
      expect(t.timings[stage], stage).toBeTypeOf('number');
    }
  });

  it('says what to run when a configuration is not set up', async () => {
    const error = await readArtifacts(cache().zkDir, { batchSize: 3, registryDepth: 4 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZkError);
    expect((error as ZkError).code).toBe('not_set_up');
    expect((error as ZkError).message).toContain('no zk artifacts for verity-batch-v1-b3-d4 in');
    expect((error as ZkError).message).toContain('run `verity zk setup --batch-size 3 --registry-depth 4`');
  });
});

/** The CLI from source (tsx): these commands need no build, and `npm test` need not have built dist/ first. */
function verity(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const entry =
    "const { main } = await import('./src/cli/main.ts'); process.exitCode = await main(['node', 'verity', ...process.argv.slice(1)]);";
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', entry, ...args], {
    cwd: REPO,
    env: { ...process.env, NO_COLOR: '1', VERITY_ZK_DIR: '', VERITY_DATA_DIR: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('verity zk (CLI)', () => {
  const flags = () => [
    '--zk-dir',
    cache().zkDir,
    '--batch-size',
    String(cache().config.batchSize),
    '--registry-depth',
    String(cache().config.registryDepth),
  ];

  it(
    'info shows the artifacts, the contributions, the caveat and the verification key digest',
    async () => {
      const { transcript } = await readArtifacts(cache().zkDir, cache().config);
      const text = await verity(['zk', 'info', ...flags()]);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain('development ceremony');
      expect(text.stdout).toContain(DEVELOPMENT_CAVEAT);
      expect(text.stdout).toContain(`sha256:${transcript.verificationKeyDigest}`);
      expect(text.stdout).toContain(transcript.artifacts.zkey.sha256);
      for (const c of transcript.contributions) expect(text.stdout).toContain(c.hash);

      const json = await verity(['zk', 'info', '--json', ...flags()]);
      expect(json.code, json.stderr).toBe(0);
      const info = JSON.parse(json.stdout) as CeremonyTranscript & { checks: { ok: boolean }[] };
      expect(info.verificationKeyDigest).toBe(transcript.verificationKeyDigest);
      expect(info.checks.every((c) => c.ok)).toBe(true);
    },
    2 * MINUTES,
  );

  it(
    'export-verification-key prints the key; a missing setup and a bad flag are explained',
    async () => {
      const { verificationKey } = await readArtifacts(cache().zkDir, cache().config);
      const key = await verity(['zk', 'export-verification-key', ...flags()]);
      expect(key.code, key.stderr).toBe(0);
      expect(JSON.parse(key.stdout)).toEqual(verificationKey);

      const missing = await verity([
        'zk',
        'info',
        '--zk-dir',
        cache().zkDir,
        '--batch-size',
        '3',
        '--registry-depth',
        '4',
      ]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('run `verity zk setup --batch-size 3 --registry-depth 4`');

      const bad = await verity(['zk', 'info', '--zk-dir', cache().zkDir, '--batch-size', 'eight']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--batch-size must be an integer from 1 to 32, not "eight"');
    },
    2 * MINUTES,
  );
});
