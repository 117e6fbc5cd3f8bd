import { fromHex } from '../attest/bytes.js';
import { jsonDigest, sha256Hex } from '../attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../attest/dsse.js';
import type { Signer } from '../attest/keys.js';
import { countedCost } from '../attest/counted.js';
import { stepsRootOf } from '../attest/leaves.js';
import { executionStatement, statementBytes } from '../attest/statement.js';
import type { ExecutionPredicate, ReceiptReplica, ReceiptStep } from '../attest/statement.js';
import type { ExecutionRecord, ReceiptRecord, ReplicaResultRecord, StepRecord } from '../store/records.js';
import type { StepResultSummary, StoreTx } from '../store/store.js';
import type { TransparencyLog } from '../tlog/log.js';
import type { WorkflowDefinition } from '../workflow/types.js';
import type { ZkIssuer, ZkSection } from '../zk/zk-issuer.js';
import { ReceiptError } from './errors.js';

/**
 * Issues the coordinator's receipt when an execution ends: the signed statement of what ran, committed to
 * the attestations of its steps by a Merkle root, and appended to the transparency log, all in the
 * transaction that ends the execution. A retried execution that ends again gets a new revision.
 */
export class ReceiptIssuer {
  constructor(
    private readonly signer: Signer,
    private readonly log: TransparencyLog,
    /** Makes the zk section of receipts at level zk; without it (no `verity zk setup`), they have none. */
    private readonly zk?: ZkIssuer,
  ) {}

  get keyId(): string {
    return this.signer.keyId;
  }

  async issue(
    tx: StoreTx,
    execution: ExecutionRecord,
    definition: WorkflowDefinition,
    workflowDigest: string,
    now: number,
  ): Promise<ReceiptRecord> {
    const steps = new Map((await tx.listSteps(execution.id)).map((s) => [s.stepId, s]));
    const results = new Map((await tx.listStepResultSummaries(execution.id)).map((r) => [r.stepId, r]));
    const replicas = definition.steps.some((d) => d.redundancy !== undefined)
      ? await tx.listReplicaResults(execution.id)
      : [];
    const receiptSteps = definition.steps.map((d) => {
      const entry = receiptStep(steps.get(d.id), results.get(d.id), d.id);
      return d.redundancy ? withRedundancy(entry, d.redundancy.quorum, replicas) : entry;
    });
    const previous = await tx.listReceipts(execution.id);
    const revision = (previous[0]?.revision ?? 0) + 1;
    if (execution.status === 'running') throw new Error(`execution ${execution.id} is still running`);
    const base: ExecutionPredicate = {
      executionId: execution.id,
      revision,
      workflow: { id: definition.id, version: definition.version, digest: workflowDigest },
      clientId: execution.clientId,
      inputDigest: execution.inputDigest,
      resultDigest: execution.resultDigest ?? jsonDigest(null),
      status: execution.status,
      startedAt: iso(execution.startedAt),
      completedAt: iso(execution.finishedAt ?? now),
      // What the workers signed for the attestations that count, not the engine's `spent` (which also
      // holds the costs of failed attempts and dissenting replicas, that no attestation here carries).
      totalCost: totalCostOf(receiptSteps, execution.id),
      budget: execution.budget,
      verificationLevel: execution.verificationLevel ?? definition.verification_level,
      error: execution.error ? { code: execution.error.code, message: execution.error.message } : null,
      steps: receiptSteps,
      stepsRoot: stepsRootOf(receiptSteps),
    };
    const zk = base.verificationLevel === 'zk' ? await this.zkSection(tx, base, now) : undefined;
    const predicate: ExecutionPredicate = zk ? { ...base, zk: zk.zk } : base;
    const payload = statementBytes(executionStatement(predicate));
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, this.signer);
    const payloadDigest = sha256Hex(payload);
    const logIndex = await this.log.append(tx, fromHex(payloadDigest));
    const record: ReceiptRecord = {
      executionId: execution.id,
      revision,
      status: execution.status,
      envelope,
      payloadDigest,
      logIndex,
      createdAt: now,
    };
    await tx.insertReceipt(record);
    tx.appendEvents([
      {
        executionId: execution.id,
        at: now,
        type: 'receipt.issued',
        actor: 'coordinator',
        data: { revision, logIndex, payloadDigest, stepsRoot: predicate.stepsRoot },
      },
    ]);
    if (zk && this.zk) {
      const proof = await this.zk.record(tx, { ...predicate, zk: zk.zk }, payload, zk.salt, now);
      tx.appendEvents([
        {
          executionId: execution.id,
          at: now,
          type: 'zk.pending',
          actor: 'coordinator',
          data: { revision, circuit: proof.circuitId, batches: proof.batchesTotal },
        },
      ]);
    }
    return record;
  }

  /** The zk values of a receipt at level zk, or undefined with an event saying why it has none. */
  private async zkSection(tx: StoreTx, predicate: ExecutionPredicate, now: number): Promise<ZkSection | undefined> {
    const section = this.zk
      ? await this.zk.section(tx, predicate)
      : { unavailable: 'this coordinator has no zk setup: run `verity zk setup`' };
    if ('unavailable' in section) {
      tx.appendEvents([
        {
          executionId: predicate.executionId,
          at: now,
          type: 'zk.unavailable',
          actor: 'coordinator',
          data: { reason: section.unavailable },
        },
      ]);
      return undefined;
    }
    return section;
  }
}

function receiptStep(step: StepRecord | undefined, result: StepResultSummary | undefined, stepId: string): ReceiptStep {
  if (result) {
    const attested = result.attestationDigest !== undefined;
    return {
      stepId,
      status: 'completed',
      attempt: result.attempt,
      jobId: result.jobId,
      inputDigest: step?.inputDigest ?? null,
      outputDigest: result.outputDigest,
      attestationDigest: result.attestationDigest ?? null,
      workerKeyId: result.workerKeyId ?? null,
      // A step that ran once was charged exactly what its attestation states (the coordinator takes the
      // attested cost, and a result over the budget is refused rather than stored); a redundant step's entry
      // is its primary replica's (withRedundancy), as its stored cost sums every replica.
      cost: attested ? result.cost : null,
      principal: attested ? (result.principal ?? `worker:${result.workerId}`) : null,
    };
  }
  const status = step?.status;
  return {
    stepId,
    status: status === 'skipped' || status === 'failed' || status === 'cancelled' ? status : 'not_run',
    attempt: step?.attempts ?? 0,
    jobId: step?.currentJobId ?? null,
    inputDigest: step?.inputDigest ?? null,
    outputDigest: null,
    attestationDigest: null,
    workerKeyId: null,
    cost: null,
    principal: null,
  };
}

/**
 * A redundant step's entry lists every attested replica result of its final attempt (the entry's `attempt`),
 * in replica order; with none (the step never ran, or no replica reported) the entry stays as it is.
 */
function withRedundancy(entry: ReceiptStep, quorum: number, results: readonly ReplicaResultRecord[]): ReceiptStep {
  const replicas = results
    .filter((r) => r.stepId === entry.stepId && r.attempt === entry.attempt)
    .sort((a, b) => a.replica - b.replica)
    .flatMap((r): ReceiptReplica[] =>
      // Results are attested whenever receipts are issued; one without is not committed to (not a leaf).
      !r.attestationDigest || !r.workerKeyId
        ? []
        : [
            {
              replica: r.replica,
              jobId: r.jobId,
              workerKeyId: r.workerKeyId,
              principal: principalOf(r),
              outputDigest: r.outputDigest,
              attestationDigest: r.attestationDigest,
              cost: r.cost,
            },
          ],
    );
  if (replicas.length === 0) return entry;
  // The step's result is its primary replica's, so are its cost and principal.
  const primary = replicas.find((r) => r.attestationDigest === entry.attestationDigest);
  return {
    ...entry,
    ...(primary && { cost: primary.cost ?? null, principal: primary.principal }),
    redundancy: { quorum, replicas },
  };
}

/** The counted sum of a receipt's steps (src/attest/counted.ts), which a receipt states as a safe integer. */
function totalCostOf(steps: readonly ReceiptStep[], executionId: string): number {
  const sum = countedCost({ steps }) ?? 0n;
  if (sum > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ReceiptError(
      'cost_overflow',
      `the attested costs of execution ${executionId} sum to ${sum}, more than a receipt can state (2^53 − 1 micro-units); give the workflow a max_cost_budget`,
      { context: { executionId } },
    );
  return Number(sum);
}

/** The principal the coordinator states for a replica: the one recorded at assignment, else (older rows) the worker itself. */
function principalOf(result: ReplicaResultRecord): string {
  return result.principal ?? `worker:${result.workerId}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
