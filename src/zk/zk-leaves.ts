import { describeError } from '../errors.js';
import { stepLeaf } from '../attest/zk/chain.js';
import { parseField } from '../attest/zk/fields.js';
import type { ReportOutcome, ZkLeafReport } from '../coordinator/protocol.js';
import type { ZkLeafRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ZkPublicKey } from './babyjub.js';
import { babyJubPool } from './babyjub-pool.js';
import type { BabyJubPool } from './babyjub-pool.js';
import { loadPoseidon } from './poseidon.js';

export interface ZkLeavesOptions {
  /** The Baby Jubjub key a worker registered. */
  zkKeyOf: (workerId: string) => Promise<ZkPublicKey | undefined>;
  now?: () => number;
  pool?: BabyJubPool;
}

/**
 * The coordinator's side of leaf signatures at level zk. A step's result is accepted on its Ed25519
 * attestation alone; the worker then sends its Baby Jubjub signature of the step leaf, which is recorded
 * unchecked and checked on a thread, beside the step path: nothing but the proof waits for it. The check
 * reads what it checks from the store (the job, its accepted result, the registered key), so one that a
 * crash interrupted is done again from the stored row (checkStored, called by the prover).
 */
export class ZkLeaves {
  private readonly pool: BabyJubPool;
  private readonly now: () => number;
  /** A leaf was checked (valid or not): the prover may be waiting for it. Set by the node. */
  onChecked: (() => void) | undefined;
  /** A check that failed to run (not a signature that failed it): the prover checks the row again later. */
  onError: ((error: unknown, context: Record<string, unknown>) => void) | undefined;

  constructor(
    private readonly store: Store,
    private readonly options: ZkLeavesOptions,
  ) {
    this.pool = options.pool ?? babyJubPool();
    this.now = options.now ?? Date.now;
  }

  /**
   * A worker's leaf signature for a job whose result was accepted: refused unless it comes from the
   * worker that ran the job, with its nonce, for a result the execution kept, under the key the worker
   * registered. Recorded at once; its check runs after the answer.
   */
  async report(report: ZkLeafReport): Promise<ReportOutcome> {
    const job = await this.store.read.getJob(report.jobId);
    if (!job) return refuse('unknown_job', `no job ${report.jobId}`);
    if (job.workerId !== report.workerId)
      return refuse('not_assigned', `job ${job.id} is not assigned to worker ${report.workerId}`);
    if (job.attempt !== report.attempt) return refuse('stale_attempt', `job ${job.id} is attempt ${job.attempt}`);
    if (job.nonce !== undefined && job.nonce !== report.nonce)
      return refuse('bad_nonce', 'the job nonce does not match');
    if (!job.spec.zkLeaf)
      return refuse('bad_attestation', `job ${job.id} is not at verification level zk: it needs no leaf signature`);
    const [result] = await this.store.read.getStepResults(job.executionId, [job.stepId]);
    if (result?.jobId !== job.id)
      return refuse('already_finished', `the result of step ${job.stepId} kept is not job ${job.id}'s`);
    const registered = await this.options.zkKeyOf(report.workerId);
    if (!registered || registered.x !== report.publicKey?.x || registered.y !== report.publicKey?.y)
      return refuse(
        'bad_attestation',
        'the leaf is signed with a Baby Jubjub key other than the one the worker registered',
      );
    const signature = report.signature as Partial<Record<'r8x' | 'r8y' | 's', unknown>> | undefined;
    try {
      for (const name of ['r8x', 'r8y', 's'] as const) parseField(signature?.[name], `signature.${name}`);
    } catch (error) {
      return refuse('bad_attestation', describeError(error));
    }
    const record: ZkLeafRecord = {
      jobId: job.id,
      executionId: job.executionId,
      stepId: job.stepId,
      workerId: report.workerId,
      keyX: registered.x,
      keyY: registered.y,
      r8x: report.signature.r8x,
      r8y: report.signature.r8y,
      s: report.signature.s,
      status: 'unchecked',
      createdAt: this.now(),
    };
    const recorded = await this.store.transaction((tx) => tx.insertZkLeaf(record));
    // A repeated report (a retry after a lost answer) is answered the same; the first signature stays.
    if (recorded)
      void this.check(record).catch((error: unknown) =>
        this.onError?.(error, { during: 'zk leaf check', jobId: job.id, executionId: job.executionId }),
      );
    return { accepted: true };
  }

  /**
   * Checks a recorded leaf signature against the leaf of the job's accepted result and the key the worker
   * registered, records the verdict (an invalid one with its reason, and an event), and returns the row.
   */
  async check(record: ZkLeafRecord): Promise<ZkLeafRecord> {
    if (record.status !== 'unchecked') return record;
    const problem = await this.problem(record);
    const now = this.now();
    const status = problem === undefined ? 'valid' : 'invalid';
    await this.store.transaction(async (tx) => {
      if (!(await tx.checkedZkLeaf(record.jobId, status, problem, now))) return;
      if (problem !== undefined)
        tx.appendEvents([
          {
            executionId: record.executionId,
            at: now,
            type: 'zk.leaf_invalid',
            stepId: record.stepId,
            jobId: record.jobId,
            actor: 'coordinator',
            data: { workerId: record.workerId, problem },
          },
        ]);
    });
    this.onChecked?.();
    return { ...record, status, ...(problem !== undefined && { problem }), checkedAt: now };
  }

  private async problem(record: ZkLeafRecord): Promise<string | undefined> {
    const job = await this.store.read.getJob(record.jobId);
    const [result] = job ? await this.store.read.getStepResults(job.executionId, [job.stepId]) : [];
    if (!job || result?.jobId !== job.id) return `step ${record.stepId}: the leaf is not of the result kept`;
    const registered = await this.options.zkKeyOf(record.workerId);
    if (!registered || registered.x !== record.keyX || registered.y !== record.keyY)
      return `step ${record.stepId}: the leaf is not signed with the Baby Jubjub key worker ${record.workerId} registered`;
    const h = await loadPoseidon();
    const leaf = stepLeaf(h, {
      executionId: job.executionId,
      workflowDigest: job.spec.workflowDigest,
      stepId: job.stepId,
      outputDigest: result.outputDigest,
    });
    const ok = await this.pool.verify(registered, leaf, { r8x: record.r8x, r8y: record.r8y, s: record.s });
    return ok ? undefined : `step ${record.stepId}: the Baby Jubjub signature does not verify over the step leaf`;
  }
}

function refuse(reason: Exclude<ReportOutcome, { accepted: true }>['reason'], message: string): ReportOutcome {
  return { accepted: false, reason, message };
}
