import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import { describe, expect, it } from 'vitest';
import { jsonDigest } from '../../../src/attest/digest.js';
import { circuitId } from '../../../src/attest/zk/circuit.js';
import { ZkError } from '../../../src/attest/zk/errors.js';
import { checkArtifacts, readArtifacts } from '../../../src/zk/setup/artifacts.js';
import { contribute } from '../../../src/zk/setup/contribute.js';
import type { CeremonyTranscript } from '../../../src/zk/setup/transcript.js';
import { verifyCeremony } from '../../../src/zk/setup/verify.js';
import { MINUTES, useTinyCeremony } from './setup-support.js';

/**
 * The development ceremony's mechanics, through the same setupCircuit as the real one, on the stand-in
 * circuit (about 300 constraints, 2^9; see setup-support.ts): an imported phase 1 is checked, a finished
 * setup is left alone, an interrupted one redoes only what is missing, and a later contribution extends a
 * chain that still checks out. Each test works on its own copy of one ceremony made before them.
 */
const { tiny, scratch, copyOfTiny, setupLogged } = useTinyCeremony();

describe('zk setup (development ceremony, stand-in circuit)', () => {
  it('the stand-in is set up like the real circuit, on powers of tau 2^9', async () => {
    const { transcript: t, verificationKey } = await readArtifacts(tiny().zkDir, tiny().config);
    expect(t.circuitId).toBe(circuitId(tiny().config));
    expect(t.constraints).toBeGreaterThan(256);
    expect(t.constraints).toBeLessThan(512 - 14);
    expect(t.power).toBe(9);
    expect(t.publicInputs).toBe(13);
    expect(t.phase1).toMatchObject({ source: 'generated', power: 9, file: join('ptau', 'pot9_final.ptau') });
    expect(t.contributions.map((c) => `${c.phase}:${c.type}`)).toEqual([
      '1:random',
      '1:beacon',
      '2:random',
      '2:beacon',
    ]);
    expect(verificationKey).toMatchObject({ protocol: 'groth16', curve: 'bn128', nPublic: 13 });
    for (const check of await checkArtifacts(tiny().zkDir, t)) expect(check, check.name).toMatchObject({ ok: true });
  });

  it(
    'refuses an imported ptau file that is too small, not prepared, or not a ptau file',
    async () => {
      const zkDir = await copyOfTiny();
      const dir = await scratch.dir('verity-zk-ptau-');
      const curve = await snarkjs.curves.getCurveFromName('bn128');
      const small = join(dir, 'pot8.ptau');
      await snarkjs.powersOfTau.newAccumulator(curve, 8, small);
      const unprepared = join(dir, 'pot9.ptau');
      await snarkjs.powersOfTau.newAccumulator(curve, 9, unprepared);

      const refusal = async (ptau: string): Promise<ZkError> => {
        const error = await setupLogged(zkDir, { ptau }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ZkError);
        return error as ZkError;
      };
      const tooSmall = await refusal(small);
      expect(tooSmall.code).toBe('setup_failed');
      expect(tooSmall.message).toMatch(
        /holds powers of tau up to 2\^8, but this circuit has \d+ constraints and needs 2\^9/,
      );
      expect((await refusal(unprepared)).message).toContain('is not prepared for phase 2');
      expect((await refusal(tiny().paths.r1cs)).message).toContain('is not a .ptau file');

      // Nothing was changed by the refusals.
      for (const check of await checkArtifacts(zkDir, (await readArtifacts(zkDir, tiny().config)).transcript))
        expect(check, check.name).toMatchObject({ ok: true });
    },
    2 * MINUTES,
  );

  it(
    'resumes: a finished setup does nothing, and only the missing stages run again',
    async () => {
      const zkDir = await copyOfTiny();
      const before = JSON.parse(
        await readFile(join(zkDir, circuitId(tiny().config), 'transcript.json'), 'utf8'),
      ) as CeremonyTranscript;

      const again = await setupLogged(zkDir);
      expect(again.ran).toEqual([]);
      expect(again.transcript).toEqual(before);
      expect(again.lines.filter((l) => /^\[\d+\/10\] /.test(l)).every((l) => l.includes('skipped'))).toBe(true);

      // The verification key alone: exported again from the same zkey, so the same key.
      await rm(again.paths.verificationKey);
      const vkeyOnly = await setupLogged(zkDir);
      expect(vkeyOnly.ran).toEqual(['verification-key', 'transcript']);
      expect(vkeyOnly.transcript.verificationKeyDigest).toBe(before.verificationKeyDigest);

      // The final stages' outputs: phase 2 runs again (fresh randomness), compile and phase 1 do not.
      await Promise.all([again.paths.zkey, again.paths.verificationKey, again.paths.transcript].map((f) => rm(f)));
      const resumed = await setupLogged(zkDir);
      expect(resumed.ran).toEqual(['zkey-new', 'zkey-contribute', 'zkey-beacon', 'verification-key', 'transcript']);
      expect(resumed.skipped).toEqual(['compile', 'ptau-new', 'ptau-contribute', 'ptau-beacon', 'ptau-prepare']);
      expect(resumed.lines).toContainEqual(expect.stringMatching(/^\[1\/10\] compiling .*: skipped/));
      expect(resumed.lines).toContainEqual(
        expect.stringMatching(
          /^\[5\/10\] preparing phase 2 of powers of tau 2\^9 .*: skipped \(pot9_final\.ptau exists\)$/,
        ),
      );
      expect(resumed.lines).toContainEqual(expect.stringMatching(/^\[6\/10\] starting phase 2 \(zkey\)/));
      expect(resumed.lines).toContainEqual(expect.stringMatching(/^\[10\/10\] done in /));

      const t = resumed.transcript;
      expect(t.contributions.slice(0, 2)).toEqual(before.contributions.slice(0, 2));
      expect(t.contributions[2]?.hash).not.toBe(before.contributions[2]?.hash);
      expect(t.verificationKeyDigest).not.toBe(before.verificationKeyDigest);
      for (const check of await checkArtifacts(zkDir, t)) expect(check, check.name).toMatchObject({ ok: true });
    },
    5 * MINUTES,
  );

  it(
    'contribute appends a phase-2 contribution, changes the verification key, and setup keeps it',
    async () => {
      const zkDir = await copyOfTiny();
      const before = (await readArtifacts(zkDir, tiny().config)).transcript;
      const lines: string[] = [];
      const result = await contribute({
        zkDir,
        config: tiny().config,
        name: 'alice',
        entropy: 'alice types at random',
        log: (l) => lines.push(l),
      });

      expect(result.contribution).toMatchObject({
        phase: 2,
        type: 'random',
        name: 'alice',
        hash: expect.stringMatching(/^[0-9a-f]{128}$/) as unknown,
      });
      expect(result.previousVerificationKeyDigest).toBe(before.verificationKeyDigest);
      expect(result.verificationKeyDigest).not.toBe(before.verificationKeyDigest);
      const after = await readArtifacts(zkDir, tiny().config);
      expect(after.transcript.contributions).toEqual([...before.contributions, result.contribution]);
      expect(after.transcript.verificationKeyDigest).toBe(jsonDigest(after.verificationKey));
      for (const check of await checkArtifacts(zkDir, after.transcript))
        expect(check, check.name).toMatchObject({ ok: true });

      // The chain still checks out from the circuit and phase 1, through all five contributions.
      expect(await verifyCeremony({ zkDir, config: tiny().config })).toEqual({ zkey: true });

      const again = await setupLogged(zkDir);
      expect(again.ran).toEqual([]);
      expect(again.transcript.contributions).toHaveLength(5);
    },
    5 * MINUTES,
  );
});
