import { fromHex, toHex } from './bytes.js';
import { leafHash, merkleRoot } from './merkle.js';

/**
 * The leaves of a receipt's `stepsRoot`, in one place: the issuer builds the root with it, the bundle orders
 * its attestations by it, and the verifier recomputes both with it. A leaf is one attestation digest:
 *
 * - in the order of the receipt's steps (the workflow's order);
 * - for a step whose entry carries `redundancy`: the attestation digest of each listed replica, in the
 *   order listed (replica order); the step's own `attestationDigest` is one of them and is not repeated;
 * - for any other step: its `attestationDigest`, when it has one.
 */

/** What the leaf order reads of a receipt step (ReceiptStep satisfies it). */
export interface LeafStep {
  stepId: string;
  attestationDigest: string | null;
  redundancy?: { replicas: readonly { replica: number; attestationDigest: string }[] } | undefined;
}

export interface StepLeaf {
  stepId: string;
  /** The replica whose attestation this is, for a step with `redundancy`; null for a step that ran once. */
  replica: number | null;
  attestationDigest: string;
}

/** The attestations a receipt commits to, in Merkle leaf order. */
export function stepLeaves(steps: readonly LeafStep[]): StepLeaf[] {
  return steps.flatMap((step): StepLeaf[] => {
    if (step.redundancy !== undefined) {
      return step.redundancy.replicas.map((r) => ({
        stepId: step.stepId,
        replica: r.replica,
        attestationDigest: r.attestationDigest,
      }));
    }
    return step.attestationDigest === null
      ? []
      : [{ stepId: step.stepId, replica: null, attestationDigest: step.attestationDigest }];
  });
}

/** `stepsRoot`: the RFC 6962 tree hash over the leaf-ordered attestation digests (32 raw bytes each). */
export function stepsRootOf(steps: readonly LeafStep[]): string {
  return toHex(merkleRoot(stepLeaves(steps).map((leaf) => leafHash(fromHex(leaf.attestationDigest)))));
}
