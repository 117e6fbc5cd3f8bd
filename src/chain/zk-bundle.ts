import { z } from 'zod';
import { ZK_BUNDLE_MEDIA_TYPE } from '../attest/bundle.js';
import { batchProofSchema } from '../attest/zk/proof.js';
import { ChainError } from './errors.js';
import { readZkEnvelope } from './statement-envelope.js';
import { zkBatches } from './zk-batches.js';
import type { ZkBatchArgument } from './zk-batches.js';

/** What a zk settlement takes from a bundle: the execution the proofs are of, its digests, the batches. */
export interface ZkBundleProofs {
  executionId: string;
  revision: number;
  /** The receipt's log leaf the zk statement names (64 hex). */
  receiptDigest: string;
  resultDigest: string;
  workflowDigest: string;
  batches: ZkBatchArgument[];
}

/** Only the `zk` part's statement and proofs are read: the verification key is the verifier contract's business. */
const zkPart = z.object({ statement: z.unknown(), proofs: z.array(batchProofSchema) });

/**
 * The proofs of a zk-only bundle (`verity receipt --zk-only`) or of a full bundle's `zk` part, with the zk
 * statement they are of, checked to be signed by the coordinator's key. Throws ChainError('invalid_value')
 * for a bundle without a zk part and ChainError('untrusted_statement') for a statement the key did not sign.
 */
export async function readZkBundle(bundle: unknown, coordinatorPublicKeyPem: string): Promise<ZkBundleProofs> {
  const object = typeof bundle === 'object' && bundle !== null ? (bundle as Record<string, unknown>) : {};
  const kind = object.mediaType === ZK_BUNDLE_MEDIA_TYPE ? 'the zk-only bundle' : 'the bundle';
  if (object.zk === undefined) {
    throw new ChainError('invalid_value', `${kind} has no zk part: its execution was not proven (yet)`);
  }
  const parsed = zkPart.safeParse(object.zk);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ChainError('invalid_value', `${kind}: zk.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const predicate = await readZkEnvelope(parsed.data.statement, coordinatorPublicKeyPem);
  return {
    executionId: predicate.executionId,
    revision: predicate.revision,
    receiptDigest: predicate.receiptDigest,
    resultDigest: predicate.resultDigest,
    workflowDigest: predicate.workflow.digest,
    batches: zkBatches(parsed.data.proofs),
  };
}
