import { BUNDLE_MEDIA_TYPE } from '../attest/bundle.js';
import type { Bundle } from '../attest/bundle.js';
import { EXECUTION_PREDICATE_TYPE, executionPredicateSchema, readStatement } from '../attest/statement.js';
import type { Envelope } from '../attest/dsse.js';
import type { Store } from '../store/store.js';
import type { TransparencyLog } from '../tlog/log.js';
import { ReceiptError } from './errors.js';

/**
 * Assembles the bundle of an execution's latest receipt: the receipt, the attestations it commits to, the
 * public keys that signed them, its place in the transparency log under a checkpoint signed now, and
 * (with `includeData`) the workflow, inputs and each step's input and output for the full level.
 */
export async function buildBundle(store: Store, log: TransparencyLog, executionId: string, options: { includeData?: boolean } = {}): Promise<Bundle> {
  const [receipt] = await store.read.listReceipts(executionId);
  if (!receipt) {
    const execution = await store.read.getExecution(executionId);
    throw new ReceiptError(
      'no_receipt',
      execution ? `execution ${executionId} is still ${execution.status}; its receipt is issued when it ends` : `no execution ${executionId}`,
      { context: { executionId } },
    );
  }
  const { predicate } = readStatement(receipt.envelope, EXECUTION_PREDICATE_TYPE, executionPredicateSchema);
  const results = new Map((await store.read.getStepResults(executionId)).map((r) => [r.stepId, r]));
  const attestations: Envelope[] = [];
  for (const step of predicate.steps) {
    if (step.attestationDigest === null) continue;
    const attestation = results.get(step.stepId)?.attestation;
    if (!attestation) throw new ReceiptError('missing_record', `the attestation of step ${step.stepId} is missing from the store`);
    attestations.push(attestation);
  }
  const coordinatorKeyId = receipt.envelope.signatures[0]!.keyid;
  const workerKeyIds = [...new Set(predicate.steps.flatMap((s) => (s.workerKeyId === null || s.workerKeyId === coordinatorKeyId ? [] : [s.workerKeyId])))];
  const keyRecords = await store.read.getKeys([coordinatorKeyId, ...workerKeyIds]);
  const keys = [coordinatorKeyId, ...workerKeyIds].map((keyid) => {
    const record = keyRecords.find((k) => k.keyId === keyid);
    if (!record) throw new ReceiptError('missing_record', `public key ${keyid} is missing from the store`);
    return { keyid, role: keyid === coordinatorKeyId ? ('coordinator' as const) : ('worker' as const), publicKeyPem: record.publicKeyPem };
  });
  const checkpoint = await log.checkpoint();
  const inclusion = await log.inclusionProof(receipt.logIndex, checkpoint.size);
  const bundle: Bundle = {
    mediaType: BUNDLE_MEDIA_TYPE,
    receipt: receipt.envelope,
    attestations,
    keys,
    tlog: { origin: log.origin, logIndex: receipt.logIndex, treeSize: checkpoint.size, inclusionProof: inclusion.proof, checkpoint: checkpoint.note },
  };
  if (options.includeData) bundle.data = await bundleData(store, executionId, predicate.workflow.digest, results);
  return bundle;
}

async function bundleData(
  store: Store,
  executionId: string,
  workflowDigest: string,
  results: Map<string, { jobId: string; output: unknown }>,
): Promise<NonNullable<Bundle['data']>> {
  const execution = await store.read.getExecution(executionId);
  const workflow = await store.read.getWorkflow(workflowDigest);
  if (!execution || !workflow) throw new ReceiptError('missing_record', `the execution or its workflow is missing from the store`);
  const steps: Record<string, { input: unknown; output: unknown }> = {};
  for (const [stepId, result] of results) {
    const job = await store.read.getJob(result.jobId);
    if (!job) throw new ReceiptError('missing_record', `job ${result.jobId} of step ${stepId} is missing from the store`);
    steps[stepId] = { input: job.input, output: result.output };
  }
  return { workflow: workflow.definition as unknown as Record<string, unknown>, inputs: execution.inputs, steps };
}
