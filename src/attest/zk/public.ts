import { z } from 'zod';

/**
 * The zero-knowledge level's public values: what the proofs are checked against. The receipt's predicate
 * carries them (`zk`), and so does the zk statement (src/attest/zk/statement.ts).
 */
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const field = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a field element as a decimal string');

export const zkPublicSchema = z.strictObject({
  /** Which circuit (and so which batch size and registry depth) the proofs are for. */
  circuit: z.string().min(1),
  /** SHA-256 of the verification key's canonical JSON: the key the proofs must verify under. */
  verificationKeyDigest: hex64,
  batchSize: z.int().min(1),
  registryDepth: z.int().min(1),
  /** The Poseidon Merkle root over the first `registrySize` registered worker keys. */
  registryRoot: field,
  registrySize: z.int().min(0),
  /** The end of the commitment chain over every completed step's signed leaf, in the workflow's order. */
  commitment: field,
  /** The end of the step-id chain: recomputed by the verifier from the step ids. */
  stepIdsCommitment: field,
});

export type ZkPublic = z.output<typeof zkPublicSchema>;
