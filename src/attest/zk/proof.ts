import { z } from 'zod';

/** A Groth16 proof as snarkjs writes it (projective coordinates, decimal strings). */
const decimalString = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a decimal string');
export const groth16ProofSchema = z.strictObject({
  pi_a: z.array(decimalString).length(3),
  pi_b: z.array(z.array(decimalString).length(2)).length(3),
  pi_c: z.array(decimalString).length(3),
  protocol: z.literal('groth16'),
  curve: z.literal('bn128'),
});
export type Groth16Proof = z.output<typeof groth16ProofSchema>;

/** One batch's proof with its public signals, in PUBLIC_SIGNALS order. */
export const batchProofSchema = z.strictObject({
  batch: z.int().min(0),
  proof: groth16ProofSchema,
  publicSignals: z.array(decimalString),
});
export type BatchProof = z.output<typeof batchProofSchema>;

/** A Groth16 verification key as snarkjs exports it; only its shape is checked here, the curve math checks the rest. */
export const verificationKeySchema = z.looseObject({
  protocol: z.literal('groth16'),
  curve: z.literal('bn128'),
  nPublic: z.int().min(1),
  vk_alpha_1: z.array(z.string()),
  vk_beta_2: z.array(z.array(z.string())),
  vk_gamma_2: z.array(z.array(z.string())),
  vk_delta_2: z.array(z.array(z.string())),
  IC: z.array(z.array(z.string())),
});
export type VerificationKey = z.output<typeof verificationKeySchema>;
