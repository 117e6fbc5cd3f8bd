import type { BatchProof } from '../attest/zk/proof.js';
import { PUBLIC_SIGNALS } from '../attest/zk/circuit.js';
import { ZkError } from '../attest/zk/errors.js';
import { solidityCallArguments } from '../zk/solidity.js';
import { ChainError } from './errors.js';

type Pair = readonly [bigint, bigint];

/** One batch as `settleWithProofs` takes it: `ZkBatch { a, b, c, signals }`, the verifier's `verifyProof` arguments. */
export interface ZkBatchArgument {
  a: Pair;
  b: readonly [Pair, Pair];
  c: Pair;
  /** The 13 public signals in the circuit's order (PUBLIC_SIGNALS). */
  signals: readonly bigint[];
}

/**
 * A bundle's `zk.proofs` as the escrow's batches: in batch order, one for each index from 0 up, each with the
 * circuit's 13 public signals, the G2 coordinates swapped as the precompile wants (`solidityCallArguments`).
 * Throws ChainError('invalid_value') for a gap, a duplicate or a malformed proof: the contract would refuse it
 * anyway, after the sender paid for the attempt.
 */
export function zkBatches(proofs: readonly BatchProof[]): ZkBatchArgument[] {
  if (proofs.length === 0) throw new ChainError('invalid_value', 'the zk part has no proofs');
  const sorted = [...proofs].sort((x, y) => x.batch - y.batch);
  return sorted.map((proof, i) => {
    if (proof.batch !== i) throw new ChainError('invalid_value', `the zk proofs have no batch ${i} (or it twice)`);
    if (proof.publicSignals.length !== PUBLIC_SIGNALS.length) {
      throw new ChainError(
        'invalid_value',
        `batch ${i} has ${proof.publicSignals.length} public signals, not the circuit's ${PUBLIC_SIGNALS.length}`,
      );
    }
    try {
      const [a, b, c, signals] = solidityCallArguments(proof.proof, proof.publicSignals);
      return { a, b, c, signals };
    } catch (error) {
      if (error instanceof ZkError)
        throw new ChainError('invalid_value', `batch ${i}: ${error.message}`, { cause: error });
      throw error;
    }
  });
}
