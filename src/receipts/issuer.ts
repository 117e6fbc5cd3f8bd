import { fromHex } from '../attest/bytes.js';
import { jsonDigest, sha256Hex } from '../attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../attest/dsse.js';
import type { Signer } from '../attest/keys.js';
import { leafHash, merkleRoot } from '../attest/merkle.js';
import { executionStatement, statementBytes } from '../attest/statement.js';
import type { ExecutionPredicate, ReceiptStep } from '../attest/statement.js';
import { toHex } from '../attest/bytes.js';
import type { ExecutionRecord, ReceiptRecord, StepRecord } from '../store/records.js';
import type { StepResultSummary, StoreTx } from '../store/store.js';
import type { TransparencyLog } from '../tlog/log.js';
import type { WorkflowDefinition } from '../workflow/types.js';

/**
 * Issues the coordinator's receipt when an execution ends: the signed statement of what ran, committed to
 * the attestations of its steps by a Merkle root, and appended to the transparency log, all in the
 * transaction that ends the execution. A retried execution that ends again gets a new revision.
 */
export class ReceiptIssuer {
  constructor(
    private readonly signer: Signer,
    private readonly log: TransparencyLog,
  ) {}

  get keyId(): string {
    return this.signer.keyId;
  }

  async issue(tx: StoreTx, execution: ExecutionRecord, definition: WorkflowDefinition, workflowDigest: string, now: number): Promise<ReceiptRecord> {
    const steps = new Map((await tx.listSteps(execution.id)).map((s) => [s.stepId, s]));
    const results = new Map((await tx.listStepResultSummaries(execution.id)).map((r) => [r.stepId, r]));
    const receiptSteps = definition.steps.map((d) => receiptStep(steps.get(d.id), results.get(d.id), d.id));
    const attested = receiptSteps.flatMap((s) => (s.attestationDigest === null ? [] : [leafHash(fromHex(s.attestationDigest))]));
    const previous = await tx.listReceipts(execution.id);
    const revision = (previous[0]?.revision ?? 0) + 1;
    if (execution.status === 'running') throw new Error(`execution ${execution.id} is still running`);
    const predicate: ExecutionPredicate = {
      executionId: execution.id,
      revision,
      workflow: { id: definition.id, version: definition.version, digest: workflowDigest },
      clientId: execution.clientId,
      inputDigest: execution.inputDigest,
      resultDigest: execution.resultDigest ?? jsonDigest(null),
      status: execution.status,
      startedAt: iso(execution.startedAt),
      completedAt: iso(execution.finishedAt ?? now),
      totalCost: execution.spent,
      budget: execution.budget,
      verificationLevel: execution.verificationLevel ?? definition.verification_level,
      error: execution.error ? { code: execution.error.code, message: execution.error.message } : null,
      steps: receiptSteps,
      stepsRoot: toHex(merkleRoot(attested)),
    };
    const payload = statementBytes(executionStatement(predicate));
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, this.signer);
    const payloadDigest = sha256Hex(payload);
    const logIndex = await this.log.append(tx, fromHex(payloadDigest));
    const record: ReceiptRecord = { executionId: execution.id, revision, status: execution.status, envelope, payloadDigest, logIndex, createdAt: now };
    await tx.insertReceipt(record);
    await tx.appendEvents([
      { executionId: execution.id, at: now, type: 'receipt.issued', actor: 'coordinator', data: { revision, logIndex, payloadDigest, stepsRoot: predicate.stepsRoot } },
    ]);
    return record;
  }
}

function receiptStep(step: StepRecord | undefined, result: StepResultSummary | undefined, stepId: string): ReceiptStep {
  if (result) {
    return {
      stepId,
      status: 'completed',
      attempt: result.attempt,
      jobId: result.jobId,
      inputDigest: step?.inputDigest ?? null,
      outputDigest: result.outputDigest,
      attestationDigest: result.attestationDigest ?? null,
      workerKeyId: result.workerKeyId ?? null,
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
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
