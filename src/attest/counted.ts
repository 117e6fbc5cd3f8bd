import { COMPUTE_ACCOUNT } from './settlement/accounts.js';
import { stepLeaves } from './leaves.js';

/**
 * Which of the attestations a receipt commits to are paid for ("counted"), and what they cost, in one
 * place: the issuer sums them into the receipt's `totalCost`, the verifier checks that sum, and a
 * settlement recomputes the compute cost C and each worker's share from them, offline, from the receipt.
 *
 * - A step that ran once counts its one attestation.
 * - A redundant step counts the replicas that agreed: those whose `outputDigest` is the step's. A redundant
 *   step without an output (it failed: no quorum agreed) counts none, and neither do dissenting replicas.
 *
 * Pure and total: no I/O, never throws.
 */

/** What counting reads of a receipt step (ReceiptStep satisfies it). */
export interface CountedStep {
  stepId: string;
  outputDigest: string | null;
  attestationDigest: string | null;
  cost?: number | null | undefined;
  principal?: string | null | undefined;
  redundancy?:
    | {
        replicas: readonly {
          replica: number;
          outputDigest: string;
          attestationDigest: string;
          principal: string;
          cost?: number | undefined;
        }[];
      }
    | undefined;
}

export interface CountedStepAttestation {
  stepId: string;
  /** The replica whose attestation this is, for a redundant step; null for a step that ran once. */
  replica: number | null;
  attestationDigest: string;
  /** The attested cost the receipt states (integer micro-units); null in a receipt from before per-step costs. */
  cost: number | null;
  /** Whom the worker speaks for, as the coordinator recorded it; null in a receipt from before per-step costs. */
  principal: string | null;
}

/** The counted attestations of a receipt, in its Merkle leaf order (src/attest/leaves.ts). */
export function countedAttestations(predicate: { steps: readonly CountedStep[] }): CountedStepAttestation[] {
  const byStep = new Map(predicate.steps.map((s) => [s.stepId, s]));
  return stepLeaves(predicate.steps).flatMap((leaf): CountedStepAttestation[] => {
    const step = byStep.get(leaf.stepId)!;
    if (leaf.replica === null) {
      return [{ ...leaf, cost: step.cost ?? null, principal: step.principal ?? null }];
    }
    const replica = step.redundancy?.replicas.find(
      (r) => r.replica === leaf.replica && r.attestationDigest === leaf.attestationDigest,
    );
    if (!replica || step.outputDigest === null || replica.outputDigest !== step.outputDigest) return [];
    return [{ ...leaf, cost: replica.cost ?? null, principal: replica.principal }];
  });
}

/** A counted attestation of a receipt that commits to its cost and principal. */
export type PaidAttestation = CountedStepAttestation & { cost: number; principal: string };

/**
 * What a settlement is recomputed from: the counted attestations, each with the cost it is paid and the
 * principal it is paid to; undefined when the receipt does not commit to both for every one of them (it was
 * issued before per-step costs), so that nothing is ever paid on a cost nobody signed.
 */
export function paidAttestations(predicate: { steps: readonly CountedStep[] }): PaidAttestation[] | undefined {
  const counted = countedAttestations(predicate);
  const paid = counted.filter((c): c is PaidAttestation => c.cost !== null && c.principal !== null);
  return paid.length === counted.length ? paid : undefined;
}

/**
 * C: the sum of the counted attestations' costs, as a BigInt (thousands of steps of up to 2^53 − 1 each
 * can pass what a number holds exactly). Undefined when a counted attestation has no cost in the receipt
 * (issued before per-step costs): such a receipt's compute cost is not known from what was signed.
 */
export function countedCost(predicate: { steps: readonly CountedStep[] }): bigint | undefined {
  let sum = 0n;
  for (const counted of countedAttestations(predicate)) {
    if (counted.cost === null) return undefined;
    sum += BigInt(counted.cost);
  }
  return sum;
}

/**
 * The ledger account a counted attestation's cost is paid to: the principal that registered the remote
 * worker, or `sys:compute` for a node's in-process workers (principals `node:…`), whose compute the operator
 * already owns. Principal names never hold a ':' (src/auth/principal.ts), so any name with one is the
 * coordinator's own (`node:…`, or the `worker:…` stand-in of rows from before principals were recorded) and
 * can never be mistaken for, or pose as, an API key's principal.
 */
export function workerAccount(principal: string): string {
  return principal.includes(':') ? COMPUTE_ACCOUNT : principal;
}
