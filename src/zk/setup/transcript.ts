import { readFile } from 'node:fs/promises';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import { ZkError } from '../../attest/zk/errors.js';

/** Printed wherever the ceremony is shown: it is what a development ceremony can and cannot promise. */
export const DEVELOPMENT_CAVEAT =
  'a development ceremony run by one party on one machine: whoever ran it could forge proofs; run a multi-party ceremony before relying on it';

export const TRANSCRIPT_FORMAT = 'verity-zk-ceremony/v1';

/** The stages of `setupCircuit`, in order; the phase-1 ones are skipped when a ptau file is imported. */
export const STAGES = [
  'compile',
  'ptau-new',
  'ptau-contribute',
  'ptau-beacon',
  'ptau-prepare',
  'ptau-import',
  'zkey-new',
  'zkey-contribute',
  'zkey-beacon',
  'verification-key',
  'transcript',
] as const;
export type StageName = (typeof STAGES)[number];

export interface Beacon {
  /** The beacon value, hex: random unless given (a real ceremony uses a public future value, e.g. a block hash). */
  hash: string;
  /** snarkjs hashes the beacon 2^iterationsExp times. */
  iterationsExp: number;
}

/** One contribution, in ceremony order. Phase 1 is the powers of tau; phase 2 is this circuit's zkey. */
export interface Contribution {
  phase: 1 | 2;
  type: 'random' | 'beacon';
  name: string;
  /** The blake2b-512 contribution hash, hex: the digits snarkjs prints as 4 rows of 4 words. */
  hash: string;
  /** ISO 8601. */
  at: string;
  beacon?: Beacon;
}

export interface Phase1 {
  /** Generated here, or imported from a ptau file someone else prepared (e.g. a public multi-party ceremony). */
  source: 'generated' | 'imported';
  power: number;
  /** The prepared ptau file, relative to the zk directory. */
  file: string;
  sha256: string;
  /** Where an imported file came from, as given. */
  importedFrom?: string;
}

export interface ArtifactDigest {
  /** Relative to the zk directory. */
  file: string;
  size: number;
  sha256: string;
}

export type ArtifactName = 'r1cs' | 'wasm' | 'zkey' | 'verificationKey' | 'ptau';

export interface CeremonyTranscript {
  format: typeof TRANSCRIPT_FORMAT;
  ceremony: 'development';
  caveat: string;
  circuitId: string;
  config: ZkConfig;
  constraints: number;
  publicInputs: number;
  /** The circuit's domain is 2^power; the phase-1 file may hold more. */
  power: number;
  phase1: Phase1;
  /** Every contribution in order: phase 1 (when generated here), then phase 2, including later `verity zk contribute` ones. */
  contributions: Contribution[];
  artifacts: Record<ArtifactName, ArtifactDigest>;
  /** jsonDigest (SHA-256 of the canonical JSON) of the verification key: what receipts and verifiers pin. */
  verificationKeyDigest: string;
  versions: { snarkjs: string; circom: string; node: string };
  /** Seconds per stage, as each last ran (the phase-1 ones may have run for another circuit). */
  timings: Partial<Record<StageName, number>>;
  createdAt: string;
  updatedAt: string;
}

/** Reads a transcript and checks it is one, for the circuit expected: the file is local but may be stale or edited. */
export async function readTranscript(file: string, expectedCircuitId: string): Promise<CeremonyTranscript> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ZkError('setup_failed', `cannot read the ceremony transcript ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const t = value as Partial<CeremonyTranscript> | null;
  if (
    typeof t !== 'object' ||
    t === null ||
    t.format !== TRANSCRIPT_FORMAT ||
    typeof t.verificationKeyDigest !== 'string' ||
    !Array.isArray(t.contributions) ||
    typeof t.artifacts !== 'object' ||
    typeof t.phase1 !== 'object'
  ) {
    throw new ZkError(
      'setup_failed',
      `${file} is not a ${TRANSCRIPT_FORMAT} transcript: run \`verity zk setup\` again`,
    );
  }
  if (t.circuitId !== expectedCircuitId) {
    throw new ZkError('setup_failed', `${file} is the transcript of ${String(t.circuitId)}, not ${expectedCircuitId}`);
  }
  return t as CeremonyTranscript;
}
