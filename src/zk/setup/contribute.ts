import { rename, rm } from 'node:fs/promises';
import * as snarkjs from 'snarkjs';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import { ZkError } from '../../attest/zk/errors.js';
import { readArtifacts } from './artifacts.js';
import { readR1csHeader, requiredPower } from './binfile.js';
import { circomVersion } from './compile.js';
import { randomHex, sha256File, tempPathFor, writeJsonAtomically } from './files.js';
import { hex } from './phase1.js';
import { formatSeconds, snarkjsLogger } from './progress.js';
import type { LogLine } from './progress.js';
import { readCircuitState, writeCircuitState } from './state.js';
import type { CeremonyTranscript, Contribution } from './transcript.js';
import { buildTranscript } from './write-transcript.js';

export interface ContributeOptions {
  zkDir: string;
  config: ZkConfig;
  /** Who contributes: recorded in the zkey and the transcript. */
  name: string;
  /** Mixed into the contribution's randomness (snarkjs adds 64 random bytes of its own). */
  entropy?: string;
  log?: LogLine;
}

export interface ContributeResult {
  contribution: Contribution;
  transcript: CeremonyTranscript;
  /** The new verification key's digest: every contribution changes the key (its delta), so verifiers must take the new one. */
  verificationKeyDigest: string;
  previousVerificationKeyDigest: string;
}

/**
 * Adds one phase-2 contribution to a finished setup: the final zkey is replaced by one with the
 * contribution applied, the verification key is exported again, and the transcript gains the
 * contribution at the end of its chain. Proofs made with the old zkey no longer verify.
 */
export async function contribute(options: ContributeOptions): Promise<ContributeResult> {
  const name = options.name.trim();
  if (name === '') throw new ZkError('invalid_config', 'a contribution needs a name: who is contributing');
  const log = options.log ?? (() => undefined);
  const artifacts = await readArtifacts(options.zkDir, options.config);
  const { paths } = artifacts;
  const state = await readCircuitState(paths.dir);
  if (!state.phase1)
    throw new ZkError('not_set_up', `${paths.dir} has a transcript but no setup state: run \`verity zk setup\` again`);

  log(`contributing to phase 2 of ${artifacts.circuitId} as "${name}"`);
  const started = performance.now();
  const logger = snarkjsLogger(log, '');
  const zkeyTemp = tempPathFor(paths.zkey);
  try {
    const hash = await snarkjs.zKey.contribute(paths.zkey, zkeyTemp, name, options.entropy || randomHex(32), logger);
    const verificationKey = await snarkjs.zKey.exportVerificationKey(zkeyTemp);
    const contribution: Contribution = {
      phase: 2,
      type: 'random',
      name,
      hash: hex(hash),
      at: new Date().toISOString(),
    };
    // The zkey first: if we stop between the renames, setup finds a vkey that does not match it and re-exports.
    await rename(zkeyTemp, paths.zkey);
    await writeJsonAtomically(paths.verificationKey, verificationKey);
    state.extraContributions.push(contribution);
    state.stages['verification-key'] = {
      seconds: state.stages['verification-key']?.seconds ?? 0,
      at: contribution.at,
      inputs: { zkey: await sha256File(paths.zkey) },
    };
    await writeCircuitState(paths.dir, state);

    const r1cs = await readR1csHeader(paths.r1cs);
    const transcript = await buildTranscript(
      {
        zkDir: options.zkDir,
        config: options.config,
        paths,
        r1cs,
        power: requiredPower(r1cs),
        verificationKey,
        circom: state.circom ?? (await circomVersion()),
      },
      state,
    );
    await writeJsonAtomically(paths.transcript, transcript);
    log(
      `contributed in ${formatSeconds((performance.now() - started) / 1000)}: contribution hash ${contribution.hash}`,
    );
    return {
      contribution,
      transcript,
      verificationKeyDigest: transcript.verificationKeyDigest,
      previousVerificationKeyDigest: artifacts.transcript.verificationKeyDigest,
    };
  } finally {
    await rm(zkeyTemp, { force: true });
  }
}
