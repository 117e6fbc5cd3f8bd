import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../../errors.js';
import { EXECUTION_PREDICATE_TYPE, executionPredicateSchema, readStatement } from '../../attest/statement.js';
import type { ErrorInfo, ZkProofRecord } from '../../store/records.js';
import type { Store } from '../../store/store.js';
import { ZkError } from '../../attest/zk/errors.js';
import { decimal } from '../../attest/zk/fields.js';
import type { PoseidonHash } from '../../attest/zk/poseidon.js';
import { loadPoseidon } from '../poseidon.js';
import type { BatchProof } from '../../attest/zk/proof.js';
import { batchInputs } from '../witness.js';
import type { ProvenStep } from '../witness.js';
import type { ZkIssuer } from '../zk-issuer.js';
import type { ProverPool } from './prover-pool.js';
import type { ZkLeaves } from '../zk-leaves.js';

/** An unchecked leaf signature younger than this is being checked by the node it came to. */
const CHECK_IN_FLIGHT_MS = 10_000;

export interface ProvingOptions {
  /** Who holds a claim: this node's name, unique among the replicas. */
  nodeId: string;
  /** How long a claim holds without progress before another node may take the execution over. Default: 10 min. */
  leaseMs: number;
  /** How often to look for receipts waiting for proofs made by other nodes. Default: 1 s. */
  pollMs: number;
  /**
   * How long after its receipt a proof waits for leaf signatures that have not come (workers send them
   * after their results); then it fails, naming the steps. Default: 5 min.
   */
  leafWaitMs: number;
  now: () => number;
  onError: (error: unknown, context: Record<string, unknown>) => void;
}

/**
 * Makes the proofs of zk receipts, in the background: it claims a pending receipt revision (a lease, so
 * replicas share the work and a crashed node's claim runs out), rebuilds the witness from the store (the
 * salt, the signed leaves in the attestations, the registry as of the receipt), hands every batch to the
 * prover processes and records each proof as it comes. A batch proven before a crash is not proven again.
 */
export class ProvingService {
  private readonly options: ProvingOptions;
  private stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly issuer: ZkIssuer,
    private readonly pool: ProverPool,
    private readonly leaves: ZkLeaves,
    options: Partial<ProvingOptions> & Pick<ProvingOptions, 'nodeId'>,
  ) {
    this.options = {
      leaseMs: 10 * 60_000,
      pollMs: 1000,
      leafWaitMs: 5 * 60_000,
      now: Date.now,
      onError: () => undefined,
      ...options,
    };
  }

  start(): void {
    if (this.loop) return;
    this.stopping = new AbortController();
    this.loop = this.run();
  }

  /** A receipt was issued here: look now rather than at the next poll. */
  poke(): void {
    this.wake?.();
  }

  /**
   * Stops proving: the prover processes are stopped, and a receipt being proven is handed back (pending,
   * its finished batches kept) so that this node, when it starts again, or another takes it up at once.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.pool.close();
    await this.loop;
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    const h = await loadPoseidon();
    while (!this.stopping.signal.aborted) {
      let worked = false;
      try {
        // Several: the oldest may be waiting for leaf signatures while a younger one has them all.
        for (const next of await this.store.read.listZkProofsToProve(this.options.now(), 20)) {
          worked = await this.prove(h, next.executionId, next.revision);
          if (worked) break;
        }
      } catch (error) {
        this.options.onError(error, { during: 'zk proving' });
      }
      if (!worked && !this.stopping.signal.aborted) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          sleep(this.options.pollMs, undefined, { signal: this.stopping.signal }).then(resolve, resolve);
        });
        this.wake = undefined;
      }
    }
  }

  /**
   * Proves one receipt revision; false when another node claimed it first, or when leaf signatures it
   * needs have not come yet (nor has the time to wait for them run out).
   */
  async prove(h: PoseidonHash, executionId: string, revision: number): Promise<boolean> {
    const { nodeId, leaseMs } = this.options;
    const now = this.options.now();
    if (!(await this.leavesReady(executionId, revision, now))) return false;
    const claimed = await this.store.transaction(async (tx) => {
      const ok = await tx.updateZkProof(
        executionId,
        revision,
        { status: 'proving', leaseOwner: nodeId, leaseExpiresAt: now + leaseMs, updatedAt: now },
        { claimableAt: now },
      );
      if (ok)
        tx.appendEvents([{ executionId, at: now, type: 'zk.proving', actor: `prover:${nodeId}`, data: { revision } }]);
      return ok;
    });
    if (!claimed) return false;
    const record = (await this.store.read.getZkProof(executionId, revision))!;
    const started = performance.now();
    try {
      const { proofs, batchMs } = await this.proveBatches(h, record);
      const at = this.options.now();
      await this.store.transaction(async (tx) => {
        const ok = await tx.updateZkProof(
          executionId,
          revision,
          { status: 'completed', proofs, batchesDone: proofs.length, leaseExpiresAt: undefined, updatedAt: at },
          { leaseOwner: nodeId, status: ['proving'] },
        );
        if (ok)
          tx.appendEvents([
            {
              executionId,
              at,
              type: 'zk.proved',
              actor: `prover:${nodeId}`,
              data: { revision, batches: proofs.length, ms: Math.round(performance.now() - started), batchMs },
            },
          ]);
      });
    } catch (error) {
      const at = this.options.now();
      if (this.stopping.signal.aborted) {
        await this.store.transaction(async (tx) => {
          const ok = await tx.updateZkProof(
            executionId,
            revision,
            { status: 'pending', leaseOwner: undefined, leaseExpiresAt: undefined, updatedAt: at },
            { leaseOwner: nodeId, status: ['proving'] },
          );
          if (ok)
            tx.appendEvents([
              {
                executionId,
                at,
                type: 'zk.released',
                actor: `prover:${nodeId}`,
                data: { revision, reason: 'the node stopped' },
              },
            ]);
        });
        return true;
      }
      const info: ErrorInfo = {
        code: error instanceof ZkError ? error.code : 'proving_failed',
        message: describeError(error),
      };
      await this.store.transaction(async (tx) => {
        const ok = await tx.updateZkProof(
          executionId,
          revision,
          { status: 'failed', error: info, leaseExpiresAt: undefined, updatedAt: at },
          { leaseOwner: nodeId, status: ['proving'] },
        );
        if (ok)
          tx.appendEvents([
            { executionId, at, type: 'zk.failed', actor: `prover:${nodeId}`, data: { revision, error: info } },
          ]);
      });
    }
    return true;
  }

  /**
   * Whether every step the receipt commits to has its leaf signature, and none is being checked now (a
   * fresh unchecked one: its check is on its way). An unchecked one older than that lost its check to a
   * crash, and the proof checks it. Past the wait, it is ready to fail.
   */
  private async leavesReady(executionId: string, revision: number, now: number): Promise<boolean> {
    const record = await this.store.read.getZkProof(executionId, revision);
    if (!record || now >= record.createdAt + this.options.leafWaitMs) return true;
    const receipt = (await this.store.read.listReceipts(executionId)).find((r) => r.revision === revision);
    // Without its receipt the proof cannot be made: proving says so.
    if (!receipt) return true;
    const steps = new Set(
      readStatement(receipt.envelope, EXECUTION_PREDICATE_TYPE, executionPredicateSchema)
        .predicate.steps.filter((s) => s.status === 'completed')
        .map((s) => s.stepId),
    );
    const [results, leaves] = await Promise.all([
      this.store.read.getStepResults(executionId),
      this.store.read.listZkLeaves(executionId),
    ]);
    const byJob = new Map(leaves.map((l) => [l.jobId, l]));
    return results
      .filter((r) => steps.has(r.stepId))
      .every((r) => {
        const leaf = byJob.get(r.jobId);
        return leaf !== undefined && (leaf.status !== 'unchecked' || now - leaf.createdAt > CHECK_IN_FLIGHT_MS);
      });
  }

  /** The proofs of every batch, and how long each one proven now took (witness and proof, in its process). */
  private async proveBatches(
    h: PoseidonHash,
    record: ZkProofRecord,
  ): Promise<{ proofs: BatchProof[]; batchMs: number[] }> {
    const { executionId, revision } = record;
    const receipt = (await this.store.read.listReceipts(executionId)).find((r) => r.revision === revision);
    if (!receipt) throw new ZkError('not_provable', `execution ${executionId} has no receipt revision ${revision}`);
    const predicate = readStatement(receipt.envelope, EXECUTION_PREDICATE_TYPE, executionPredicateSchema).predicate;
    if (!predicate.zk)
      throw new ZkError('not_provable', `receipt revision ${revision} of ${executionId} has no zk section`);
    const artifacts = this.issuer.artifacts;
    if (predicate.zk.circuit !== artifacts.circuitId) {
      throw new ZkError(
        'not_set_up',
        `the receipt names circuit ${predicate.zk.circuit}; this node has ${artifacts.circuitId}: set up that circuit to prove it`,
      );
    }
    const registry = await this.issuer.registry(this.store.read, record.registrySize);
    if (decimal(registry.root) !== record.registryRoot)
      throw new ZkError('not_provable', 'the registry no longer has the root the receipt signed');
    const results = new Map((await this.store.read.getStepResults(executionId)).map((r) => [r.stepId, r]));
    const leaves = new Map((await this.store.read.listZkLeaves(executionId)).map((l) => [l.jobId, l]));
    const completed = predicate.steps.filter((s) => s.status === 'completed');
    const missing = completed.filter((s) => !leaves.has(results.get(s.stepId)?.jobId ?? '')).map((s) => s.stepId);
    if (missing.length > 0)
      throw new ZkError(
        'not_provable',
        `no Baby Jubjub leaf signature came for step ${missing.join(', ')} within ${Math.round(this.options.leafWaitMs / 1000)} s of the receipt: the workers that ran them did not send one`,
      );
    // Leaf signatures are checked when they arrive; one a crash left unchecked is checked now, in the pool.
    const checked = await Promise.all(
      completed.map((s) => this.leaves.check(leaves.get(results.get(s.stepId)!.jobId)!)),
    );
    const invalid = checked.find((l) => l.status === 'invalid');
    if (invalid)
      throw new ZkError('invalid_signature', invalid.problem ?? `step ${invalid.stepId}: invalid leaf signature`);
    const steps: ProvenStep[] = [];
    for (const [i, step] of completed.entries()) {
      const leaf = checked[i]!;
      const entry = await this.store.read.findZkRegistryKey(leaf.keyX, leaf.keyY);
      if (!entry || entry.leafIndex >= record.registrySize)
        throw new ZkError(
          'unregistered_key',
          `step ${step.stepId} was signed by a key outside the registry the receipt names`,
        );
      steps.push({
        stepId: step.stepId,
        outputDigest: step.outputDigest!,
        publicKey: { x: leaf.keyX, y: leaf.keyY },
        signature: { r8x: leaf.r8x, r8y: leaf.r8y, s: leaf.s },
        registryIndex: entry.leafIndex,
        verified: true,
      });
    }
    const inputs = await batchInputs(h, {
      config: artifacts.config,
      executionId,
      workflowDigest: predicate.workflow.digest,
      resultDigest: predicate.resultDigest,
      salt: BigInt(record.salt),
      registry,
      steps,
    });
    // Proofs recorded before a restart are kept; only the missing batches are proven.
    const proofs = new Map(record.proofs.map((p) => [p.batch, p]));
    const batchMs: number[] = [];
    let saving = Promise.resolve();
    await Promise.all(
      inputs.map(async (input, batch) => {
        if (proofs.has(batch)) return;
        const proved = await this.pool.prove(input, artifacts.paths.wasm, artifacts.paths.zkey);
        proofs.set(batch, { batch, proof: proved.proof, publicSignals: proved.publicSignals });
        batchMs.push(Math.round(proved.ms));
        // One write at a time, each with every proof so far, renewing the claim.
        saving = saving.then(() =>
          this.saveProgress(
            record,
            [...proofs.values()].sort((a, b) => a.batch - b.batch),
          ),
        );
        await saving;
      }),
    );
    return { proofs: [...proofs.values()].sort((a, b) => a.batch - b.batch), batchMs };
  }

  private async saveProgress(record: ZkProofRecord, proofs: BatchProof[]): Promise<void> {
    const now = this.options.now();
    await this.store.transaction((tx) =>
      tx.updateZkProof(
        record.executionId,
        record.revision,
        { proofs, batchesDone: proofs.length, leaseExpiresAt: now + this.options.leaseMs, updatedAt: now },
        { leaseOwner: this.options.nodeId, status: ['proving'] },
      ),
    );
  }
}
