import { z } from 'zod';
import type { Statement } from '../statement.js';
import { MAX_RECEIPT_STEPS, STATEMENT_TYPE, executionSubjectName } from '../statement.js';
import { zkPublicSchema } from './public.js';
export type { ZkPublic } from './public.js';

/**
 * The zero-knowledge level's public values, and the coordinator's statement of them. The receipt carries
 * the same `zk` object in its own predicate; the zk statement repeats it with only what a zk-only verifier
 * needs (no step digests, no worker keys), bound to the receipt by the receipt's payload digest.
 * docs/receipts.md describes both; circuits/verity_batch.circom is what the proofs prove.
 */
export const ZK_PREDICATE_TYPE = 'https://verity.dev/attestation/execution-zk/v1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

export const zkPredicateSchema = z.strictObject({
  executionId: z.string().min(1),
  revision: z.int().min(1),
  workflow: z.strictObject({ id: z.string().min(1), version: z.int().min(1), digest: hex64 }),
  /** SHA-256 of the receipt's payload: the transparency log's leaf, and what ties this statement to the receipt. */
  receiptDigest: hex64,
  resultDigest: hex64,
  completedAt: z.iso.datetime({ offset: false }),
  /** The completed steps, in the workflow's order: public anyway in the workflow, and what the proofs cover. */
  steps: z.array(z.string().min(1).max(64)).min(1).max(MAX_RECEIPT_STEPS),
  zk: zkPublicSchema,
});

export type ZkPredicate = z.output<typeof zkPredicateSchema>;

export function zkStatement(predicate: ZkPredicate): Statement<ZkPredicate> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: executionSubjectName(predicate.executionId), digest: { sha256: predicate.resultDigest } }],
    predicateType: ZK_PREDICATE_TYPE,
    predicate,
  };
}
