import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Groth16VerificationKey } from 'snarkjs';
import { checkZkConfig, circuitId } from '../../attest/zk/circuit.js';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import { artifactPaths } from '../config.js';
import { ZkError } from '../../attest/zk/errors.js';
import { exists, sha256File } from './files.js';
import { readTranscript } from './transcript.js';
import type { ArtifactName, CeremonyTranscript } from './transcript.js';

export interface ZkArtifacts {
  circuitId: string;
  config: ZkConfig;
  paths: ReturnType<typeof artifactPaths>;
  /** The prepared phase-1 file the zkey was made from. */
  ptau: string;
  transcript: CeremonyTranscript;
  verificationKey: Groth16VerificationKey;
}

/**
 * The artifacts of a finished setup. Throws ZkError('not_set_up') naming the command to run when any is
 * missing: the transcript is written last, so its presence means the setup finished.
 */
export async function readArtifacts(zkDir: string, config: ZkConfig): Promise<ZkArtifacts> {
  const id = circuitId(checkZkConfig(config));
  const paths = artifactPaths(zkDir, config);
  for (const file of [paths.transcript, paths.verificationKey, paths.zkey, paths.wasm]) {
    if (!(await exists(file))) {
      throw new ZkError(
        'not_set_up',
        `no zk artifacts for ${id} in ${paths.dir}: run \`verity zk setup --batch-size ${config.batchSize} --registry-depth ${config.registryDepth}\``,
        { context: { circuitId: id, missing: file } },
      );
    }
  }
  const transcript = await readTranscript(paths.transcript, id);
  const verificationKey = JSON.parse(await readFile(paths.verificationKey, 'utf8')) as Groth16VerificationKey;
  return { circuitId: id, config, paths, ptau: join(zkDir, transcript.phase1.file), transcript, verificationKey };
}

export interface ArtifactCheck {
  name: ArtifactName;
  path: string;
  /** Undefined when the file is missing. */
  size?: number;
  sha256?: string;
  /** What the transcript recorded. */
  expected: string;
  ok: boolean;
}

/** Hashes every artifact the transcript names and compares: a mismatch means a file changed after setup. */
export async function checkArtifacts(zkDir: string, transcript: CeremonyTranscript): Promise<ArtifactCheck[]> {
  const checks: ArtifactCheck[] = [];
  for (const [name, recorded] of Object.entries(transcript.artifacts) as [
    ArtifactName,
    CeremonyTranscript['artifacts'][ArtifactName],
  ][]) {
    const path = join(zkDir, recorded.file);
    if (!(await exists(path))) {
      checks.push({ name, path, expected: recorded.sha256, ok: false });
      continue;
    }
    const sha256 = await sha256File(path);
    checks.push({
      name,
      path,
      size: (await stat(path)).size,
      sha256,
      expected: recorded.sha256,
      ok: sha256 === recorded.sha256,
    });
  }
  return checks;
}
