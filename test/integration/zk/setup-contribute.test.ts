import { describe, expect, it } from 'vitest';
import { jsonDigest } from '../../../src/attest/digest.js';
import { checkArtifacts, readArtifacts } from '../../../src/zk/setup/artifacts.js';
import { contribute } from '../../../src/zk/setup/contribute.js';
import { verifyCeremony } from '../../../src/zk/setup/verify.js';
import { MINUTES, useCachedCeremony } from './setup-support.js';

/** A phase-2 contribution after the ceremony, and the check of the whole chain from the circuit and phase 1. */
const { cache, copyOfCache, setupLogged } = useCachedCeremony();

describe('zk setup (development ceremony)', () => {
  it(
    'contribute appends a phase-2 contribution, changes the verification key, and setup keeps it',
    async () => {
      const zkDir = await copyOfCache();
      const before = (await readArtifacts(zkDir, cache().config)).transcript;
      const lines: string[] = [];
      const result = await contribute({
        zkDir,
        config: cache().config,
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
      const after = await readArtifacts(zkDir, cache().config);
      expect(after.transcript.contributions).toEqual([...before.contributions, result.contribution]);
      expect(after.transcript.verificationKeyDigest).toBe(jsonDigest(after.verificationKey));
      for (const check of await checkArtifacts(zkDir, after.transcript))
        expect(check, check.name).toMatchObject({ ok: true });

      // The chain still checks out from the circuit and phase 1, through all five contributions.
      expect(await verifyCeremony({ zkDir, config: cache().config })).toEqual({ zkey: true });

      const again = await setupLogged(zkDir);
      expect(again.ran).toEqual([]);
      expect(again.transcript.contributions).toHaveLength(5);
    },
    10 * MINUTES,
  );
});
