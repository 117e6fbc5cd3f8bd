import { digestFields, textFields } from './fields.js';
import type { PoseidonHash } from './poseidon.js';

/**
 * The values the batch circuit computes, computed the same way outside it: by workers (the leaf they
 * sign), the coordinator (the commitment it signs into the receipt), the prover (its witness) and the
 * verifier (the step-id commitment). circuits/verity_batch.circom is the other half of this file; a
 * change here is a new circuit version.
 */
const TAG_CONTEXT = 1n;
const TAG_START = 2n;

/** Binds every leaf of an execution to it and to the workflow it ran. */
export function contextHash(h: PoseidonHash, executionId: string, workflowDigest: string): bigint {
  return h([TAG_CONTEXT, ...textFields(executionId), ...digestFields(workflowDigest)]);
}

/** The step leaf a worker signs with its Baby Jubjub key: this execution, this step, this output. */
export function leafMessage(h: PoseidonHash, context: bigint, stepId: string, outputDigest: string): bigint {
  return h([context, ...textFields(stepId), ...digestFields(outputDigest)]);
}

/** A step's leaf from scratch: what a worker signs and the coordinator checks, one step at a time. */
export function stepLeaf(
  h: PoseidonHash,
  step: { executionId: string; workflowDigest: string; stepId: string; outputDigest: string },
): bigint {
  return leafMessage(h, contextHash(h, step.executionId, step.workflowDigest), step.stepId, step.outputDigest);
}

/** Where the commitment chain starts: hidden behind a salt only the coordinator and its prover know. */
export function chainStart(h: PoseidonHash, context: bigint, salt: bigint): bigint {
  return h([TAG_START, context, salt]);
}

export function chainNext(h: PoseidonHash, commitment: bigint, leaf: bigint): bigint {
  return h([commitment, leaf]);
}

/** The step-id chain: public, so a verifier recomputes it from the step ids alone. Starts at 0. */
export function stepIdsNext(h: PoseidonHash, previous: bigint, stepId: string): bigint {
  return h([previous, ...textFields(stepId)]);
}

export function stepIdsCommitment(h: PoseidonHash, stepIds: readonly string[]): bigint {
  return stepIds.reduce((s, id) => stepIdsNext(h, s, id), 0n);
}

export interface ChainedStep {
  stepId: string;
  outputDigest: string;
}

/** The commitment the coordinator signs: the chain over every step's leaf, in the workflow's order. */
export function executionCommitment(
  h: PoseidonHash,
  executionId: string,
  workflowDigest: string,
  salt: bigint,
  steps: readonly ChainedStep[],
): bigint {
  const context = contextHash(h, executionId, workflowDigest);
  return steps.reduce(
    (c, step) => chainNext(h, c, leafMessage(h, context, step.stepId, step.outputDigest)),
    chainStart(h, context, salt),
  );
}
