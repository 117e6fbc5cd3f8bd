import { randomBytes } from 'node:crypto';
import { jsonDigest, sha256Hex } from '../attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../attest/dsse.js';
import type { Signer } from '../attest/keys.js';
import type { ExecutionPredicate } from '../attest/statement.js';
import { statementBytes } from '../attest/statement.js';
import type { ZkPublic } from '../attest/zk/public.js';
import { zkStatement } from '../attest/zk/statement.js';
import type { ZkProofRecord } from '../store/records.js';
import type { StoreReads, StoreTx } from '../store/store.js';
import { executionCommitment, stepIdsCommitment } from '../attest/zk/chain.js';
import { FIELD_MODULUS, decimal } from '../attest/zk/fields.js';
import { loadPoseidon } from './poseidon.js';
import { RegistryTree, registryLeaf } from './registry-tree.js';
import type { ZkArtifacts } from './setup/artifacts.js';

/** What the zk section of a receipt needs that the receipt does not say: the salt, kept private. */
export interface ZkSection {
  zk: ZkPublic;
  salt: bigint;
}

/**
 * The coordinator's side of the zk level, at receipt time: the worker registry's root, a fresh salt, the
 * commitment over the signed step leaves, and the zk statement, signed; then a pending proof record that
 * a prover (src/zk/prover/proving-service.ts) picks up. Only completed executions whose result is their
 * last step's output can be proven; the others get a receipt without a zk section and an event saying why.
 */
export class ZkIssuer {
  private tree: { size: number; tree: RegistryTree } | undefined;
  /** Called after a transaction that recorded proofs to make commits: wakes this node's prover. */
  onPending: (() => void) | undefined;

  readonly verificationKeyDigest: string;

  constructor(
    private readonly signer: Signer,
    readonly artifacts: ZkArtifacts,
  ) {
    this.verificationKeyDigest = jsonDigest(artifacts.verificationKey);
  }

  /** The zk values for a receipt, or why it cannot have them. */
  async section(tx: StoreTx, predicate: Omit<ExecutionPredicate, 'zk'>): Promise<ZkSection | { unavailable: string }> {
    if (predicate.status !== 'completed')
      return { unavailable: `the execution ${predicate.status}: only a completed execution is proven` };
    const completed = predicate.steps.filter((s) => s.status === 'completed' && s.outputDigest !== null);
    const last = completed.at(-1);
    if (!last) return { unavailable: 'no step completed: there is nothing to prove' };
    if (last.outputDigest !== predicate.resultDigest)
      return {
        unavailable: `the result is not the output of the last completed step (${last.stepId}), so no proof can bind it`,
      };
    const { config, circuitId } = this.artifacts;
    // Poseidon (circomlibjs) loads with the first zk receipt, not when the node starts.
    const h = await loadPoseidon();
    let registry: RegistryTree;
    try {
      registry = await this.registry(tx);
    } catch (error) {
      return { unavailable: (error as Error).message };
    }
    // A uniformly random field element: the chain's start is a hash of it, so commitments reveal nothing.
    const salt = BigInt(`0x${randomBytes(32).toString('hex')}`) % FIELD_MODULUS;
    const steps = completed.map((s) => ({ stepId: s.stepId, outputDigest: s.outputDigest! }));
    return {
      salt,
      zk: {
        circuit: circuitId,
        verificationKeyDigest: this.verificationKeyDigest,
        batchSize: config.batchSize,
        registryDepth: config.registryDepth,
        registryRoot: decimal(registry.root),
        registrySize: registry.size,
        commitment: decimal(executionCommitment(h, predicate.executionId, predicate.workflow.digest, salt, steps)),
        stepIdsCommitment: decimal(
          stepIdsCommitment(
            h,
            steps.map((s) => s.stepId),
          ),
        ),
      },
    };
  }

  /** Signs the zk statement for a signed receipt and records the proofs to make, in the receipt's transaction. */
  async record(
    tx: StoreTx,
    predicate: ExecutionPredicate & { zk: ZkPublic },
    receiptPayload: Uint8Array,
    salt: bigint,
    now: number,
  ): Promise<ZkProofRecord> {
    const steps = predicate.steps.filter((s) => s.status === 'completed').map((s) => s.stepId);
    const statement = zkStatement({
      executionId: predicate.executionId,
      revision: predicate.revision,
      workflow: predicate.workflow,
      receiptDigest: sha256Hex(receiptPayload),
      resultDigest: predicate.resultDigest,
      completedAt: predicate.completedAt,
      steps,
      zk: predicate.zk,
    });
    const record: ZkProofRecord = {
      executionId: predicate.executionId,
      revision: predicate.revision,
      circuitId: predicate.zk.circuit,
      salt: decimal(salt),
      commitment: predicate.zk.commitment,
      registryRoot: predicate.zk.registryRoot,
      registrySize: predicate.zk.registrySize,
      statement: signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement), this.signer),
      status: 'pending',
      batchesTotal: Math.ceil(steps.length / predicate.zk.batchSize),
      batchesDone: 0,
      proofs: [],
      createdAt: now,
      updatedAt: now,
    };
    await tx.insertZkProof(record);
    tx.afterCommit(() => this.onPending?.());
    return record;
  }

  /** The registry tree as of now; rebuilt only when keys were added (by this node or another). */
  async registry(reads: StoreReads, size?: number): Promise<RegistryTree> {
    const records = await reads.listZkRegistry(size);
    const count = size ?? (records.length === 0 ? 0 : records.at(-1)!.leafIndex + 1);
    if (size === undefined && this.tree?.size === count) return this.tree.tree;
    const h = await loadPoseidon();
    const leaves = Array.from({ length: count }, () => 0n);
    // An index lost to a registration race stays a zero leaf: nobody can sign as it.
    for (const r of records) leaves[r.leafIndex] = registryLeaf(h, { x: r.keyX, y: r.keyY });
    const tree = new RegistryTree(h, this.artifacts.config.registryDepth, leaves);
    if (size === undefined) this.tree = { size: count, tree };
    return tree;
  }
}
