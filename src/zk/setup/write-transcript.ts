import { readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Groth16VerificationKey } from 'snarkjs';
import { jsonDigest } from '../../attest/digest.js';
import { circuitId } from '../../attest/zk/circuit.js';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import type { R1csHeader } from './binfile.js';
import { CIRCOM_FLAGS } from './compile.js';
import { sha256File } from './files.js';
import type { CircuitState } from './state.js';
import { toolchain } from './toolchain.js';
import { DEVELOPMENT_CAVEAT, STAGES, TRANSCRIPT_FORMAT } from './transcript.js';
import type { ArtifactDigest, ArtifactName, CeremonyTranscript, StageName } from './transcript.js';

export interface TranscriptContext {
  zkDir: string;
  config: ZkConfig;
  paths: { r1cs: string; wasm: string; zkey: string; verificationKey: string };
  r1cs: R1csHeader;
  power: number;
  verificationKey: Groth16VerificationKey;
  circom: string;
}

/** The transcript of a circuit's ceremony as its state and files stand now (digests are computed here). */
export async function buildTranscript(context: TranscriptContext, state: CircuitState): Promise<CeremonyTranscript> {
  const { zkDir, paths } = context;
  const phase1 = state.phase1;
  if (!phase1) throw new Error('the transcript needs the phase-1 record: setupCircuit records it before phase 2');
  const { contributions: phase1Contributions, stages: phase1Stages, ...phase1Fields } = phase1;
  const digest = async (file: string): Promise<ArtifactDigest> => ({
    file: relative(zkDir, file),
    size: (await stat(file)).size,
    sha256: await sha256File(file),
  });
  const artifacts: Record<ArtifactName, ArtifactDigest> = {
    r1cs: await digest(paths.r1cs),
    wasm: await digest(paths.wasm),
    zkey: await digest(paths.zkey),
    verificationKey: await digest(paths.verificationKey),
    ptau: await digest(join(zkDir, phase1.file)),
  };
  const phase2 = (['zkey-contribute', 'zkey-beacon'] as const).flatMap((s) => state.stages[s]?.contribution ?? []);
  const timings: Partial<Record<StageName, number>> = {};
  const records = { ...phase1Stages, ...state.stages };
  for (const stage of STAGES) {
    const record = records[stage];
    if (record) timings[stage] = record.seconds;
  }
  const tools = toolchain();
  return {
    format: TRANSCRIPT_FORMAT,
    ceremony: 'development',
    caveat: DEVELOPMENT_CAVEAT,
    circuitId: circuitId(context.config),
    config: { batchSize: context.config.batchSize, registryDepth: context.config.registryDepth },
    constraints: context.r1cs.nConstraints,
    publicInputs: context.r1cs.nPubInputs + context.r1cs.nOutputs,
    power: context.power,
    phase1: phase1Fields,
    contributions: [...phase1Contributions, ...phase2, ...state.extraContributions],
    artifacts,
    verificationKeyDigest: jsonDigest(context.verificationKey),
    versions: {
      snarkjs: tools.snarkjsVersion,
      circom: `${context.circom} (circom2 ${tools.circom2Version}, ${CIRCOM_FLAGS.join(' ')})`,
      node: process.version,
    },
    timings,
    createdAt: state.createdAt,
    updatedAt: new Date().toISOString(),
  };
}

/** Whether the transcript on disk already says what `fresh` says (its times aside). */
export async function transcriptMatchesFiles(file: string, fresh: CeremonyTranscript): Promise<boolean> {
  try {
    const old = JSON.parse(await readFile(file, 'utf8')) as CeremonyTranscript;
    const essence = (t: CeremonyTranscript) => jsonDigest({ ...t, timings: null, createdAt: null, updatedAt: null });
    return essence(old) === essence(fresh);
  } catch {
    return false;
  }
}
