import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { circuitId } from '../../../src/attest/zk/circuit.js';
import { checkArtifacts } from '../../../src/zk/setup/artifacts.js';
import type { CeremonyTranscript } from '../../../src/zk/setup/transcript.js';
import { MINUTES, useCachedCeremony } from './setup-support.js';

/** Resuming the development ceremony: a finished setup is left alone, an interrupted one redoes only what is missing. */
const { cache, copyOfCache, setupLogged } = useCachedCeremony();

describe('zk setup (development ceremony)', () => {
  it(
    'resumes: a finished setup does nothing, and only the missing stages run again',
    async () => {
      const zkDir = await copyOfCache();
      const before = JSON.parse(
        await readFile(join(zkDir, circuitId(cache().config), 'transcript.json'), 'utf8'),
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
          /^\[5\/10\] preparing phase 2 of powers of tau 2\^14 .*: skipped \(pot14_final\.ptau exists\)$/,
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
    10 * MINUTES,
  );
});
