import { BUNDLE_MEDIA_TYPE, BUNDLE_V2_MEDIA_TYPE, ZK_BUNDLE_MEDIA_TYPE } from '../attest/bundle.js';
import type { Bundle, BundleTlog, BundleZk, ZkBundle } from '../attest/bundle.js';
import type { ReceiptRecord, ZkProofRecord } from '../store/records.js';
import { stepLeaves } from '../attest/leaves.js';
import { EXECUTION_PREDICATE_TYPE, executionPredicateSchema, readStatement } from '../attest/statement.js';
import type { Envelope } from '../attest/dsse.js';
import type { Store } from '../store/store.js';
import type { TransparencyLog } from '../tlog/log.js';
import type { BlobRef } from '../blobs/blob-ref.js';
import { readJsonBlob } from '../blobs/json-blob.js';
import { ReceiptError } from './errors.js';

/**
 * Assembles the bundle of an execution's latest receipt: the receipt, the attestations it commits to, the
 * public keys that signed them, its place in the transparency log under a checkpoint signed now, and
 * (with `includeData`) the workflow, inputs and each step's input and output for the full level.
 */
export interface BundleOptions {
  /** Add the data level full needs: the workflow, the inputs, each step's input and output. */
  includeData?: boolean;
  /** Where outputs too large for a row are kept (needed with includeData when a step's output is a blob). */
  blobs?: { get(digest: string): Promise<Uint8Array> };
  /** Verification keys by circuit id: a receipt with finished proofs carries them and its circuit's key. */
  zkVerificationKeys?: ReadonlyMap<string, unknown>;
}

export async function buildBundle(
  store: Store,
  log: TransparencyLog,
  executionId: string,
  options: BundleOptions = {},
): Promise<Bundle> {
  const receipt = await latestReceipt(store, executionId);
  const { predicate } = readStatement(receipt.envelope, EXECUTION_PREDICATE_TYPE, executionPredicateSchema);
  const results = new Map((await store.read.getStepResults(executionId)).map((r) => [r.stepId, r]));
  const redundant = predicate.steps.some((s) => s.redundancy !== undefined);
  const replicas = new Map(
    (redundant ? await store.read.listReplicaResults(executionId) : []).map((r) => [
      replicaKey(r.stepId, r.attempt, r.replica),
      r,
    ]),
  );
  const attempts = new Map(predicate.steps.map((s) => [s.stepId, s.attempt]));
  // Exactly the attestations the receipt commits to, in its Merkle leaf order.
  const attestations: Envelope[] = stepLeaves(predicate.steps).map((leaf) => {
    if (leaf.replica === null) {
      const attestation = results.get(leaf.stepId)?.attestation;
      if (!attestation)
        throw new ReceiptError('missing_record', `the attestation of step ${leaf.stepId} is missing from the store`);
      return attestation;
    }
    const attestation = replicas.get(replicaKey(leaf.stepId, attempts.get(leaf.stepId)!, leaf.replica))?.attestation;
    if (!attestation)
      throw new ReceiptError(
        'missing_record',
        `the attestation of replica ${leaf.replica} of step ${leaf.stepId} is missing from the store`,
      );
    return attestation;
  });
  const coordinatorKeyId = receipt.envelope.signatures[0]!.keyid;
  const used = predicate.steps.flatMap((s) => [
    ...(s.workerKeyId === null ? [] : [s.workerKeyId]),
    ...(s.redundancy?.replicas.map((r) => r.workerKeyId) ?? []),
  ]);
  const workerKeyIds = [...new Set(used.filter((keyid) => keyid !== coordinatorKeyId))];
  const keyRecords = await store.read.getKeys([coordinatorKeyId, ...workerKeyIds]);
  const keys = [coordinatorKeyId, ...workerKeyIds].map((keyid) => {
    const record = keyRecords.find((k) => k.keyId === keyid);
    if (!record) throw new ReceiptError('missing_record', `public key ${keyid} is missing from the store`);
    return {
      keyid,
      role: keyid === coordinatorKeyId ? ('coordinator' as const) : ('worker' as const),
      publicKeyPem: record.publicKeyPem,
    };
  });
  // One checkpoint for every log entry of the bundle: the receipt's and its settlements'.
  const checkpoint = await log.checkpoint();
  const bundle: Bundle = {
    mediaType: BUNDLE_MEDIA_TYPE,
    receipt: receipt.envelope,
    attestations,
    keys,
    tlog: await logEntry(log, receipt.logIndex, checkpoint),
  };
  // A run through a listing: its settlement statements make the bundle version 2.
  const settlements = await store.read.listMarketSettlements(executionId);
  if (settlements.length > 0) {
    bundle.mediaType = BUNDLE_V2_MEDIA_TYPE;
    bundle.settlements = await Promise.all(
      settlements.map(async (s) => ({ statement: s.envelope, tlog: await logEntry(log, s.logIndex, checkpoint) })),
    );
  }
  if (options.includeData)
    bundle.data = await bundleData(store, executionId, predicate.workflow.digest, results, options.blobs);
  const zk = zkPart(await store.read.getZkProof(executionId, receipt.revision), options.zkVerificationKeys);
  if (zk) bundle.zk = zk;
  return bundle;
}

/** Where a signed statement sits in the transparency log, under a checkpoint (signed now). */
export async function logEntry(
  log: TransparencyLog,
  logIndex: number,
  checkpoint?: Awaited<ReturnType<TransparencyLog['checkpoint']>>,
): Promise<BundleTlog> {
  checkpoint ??= await log.checkpoint();
  const inclusion = await log.inclusionProof(logIndex, checkpoint.size);
  return {
    origin: log.origin,
    logIndex,
    treeSize: checkpoint.size,
    inclusionProof: inclusion.proof,
    checkpoint: checkpoint.note,
  };
}

/**
 * The zk-only bundle (docs/receipts.md): the zk statement, the proofs, the verification key, the
 * coordinator's key and the log entry of the receipt; no receipt, attestation or data. Only once every
 * batch is proven.
 */
export async function buildZkBundle(
  store: Store,
  log: TransparencyLog,
  executionId: string,
  options: Pick<BundleOptions, 'zkVerificationKeys'> = {},
): Promise<ZkBundle> {
  const receipt = await latestReceipt(store, executionId);
  const record = await store.read.getZkProof(executionId, receipt.revision);
  const zk = zkPart(record, options.zkVerificationKeys);
  if (!zk) {
    throw new ReceiptError(
      'no_zk_proofs',
      record
        ? zkProgress(record)
        : `execution ${executionId} has no zk proofs: it did not run at verification level zk (or this server has no zk setup)`,
      { context: { executionId } },
    );
  }
  const keyid = zk.statement.signatures[0]!.keyid;
  const [key] = await store.read.getKeys([keyid]);
  if (!key) throw new ReceiptError('missing_record', `public key ${keyid} is missing from the store`);
  return {
    mediaType: ZK_BUNDLE_MEDIA_TYPE,
    keys: [{ keyid, role: 'coordinator', publicKeyPem: key.publicKeyPem }],
    tlog: await logEntry(log, receipt.logIndex),
    zk,
  };
}

/** The zk part of a bundle, once every batch of the receipt's proofs is made. */
function zkPart(
  record: ZkProofRecord | undefined,
  keys: ReadonlyMap<string, unknown> | undefined,
): BundleZk | undefined {
  if (record?.status !== 'completed') return undefined;
  const verificationKey = keys?.get(record.circuitId);
  if (!verificationKey)
    throw new ReceiptError(
      'missing_record',
      `the verification key of circuit ${record.circuitId} is not on this server: run \`verity zk setup\` for it`,
    );
  return {
    statement: record.statement,
    verificationKey: verificationKey as Record<string, unknown>,
    proofs: record.proofs,
  };
}

function zkProgress(record: ZkProofRecord): string {
  if (record.status === 'failed') return `proving failed: ${record.error?.message ?? 'no reason recorded'}`;
  return `the zk proofs are not ready: ${record.batchesDone} of ${record.batchesTotal} batches proven (${record.status}); \`verity status\` shows progress`;
}

async function latestReceipt(store: Store, executionId: string): Promise<ReceiptRecord> {
  const [receipt] = await store.read.listReceipts(executionId);
  if (receipt) return receipt;
  const execution = await store.read.getExecution(executionId);
  throw new ReceiptError(
    'no_receipt',
    execution
      ? `execution ${executionId} is still ${execution.status}; its receipt is issued when it ends`
      : `no execution ${executionId}`,
    { context: { executionId } },
  );
}

async function bundleData(
  store: Store,
  executionId: string,
  workflowDigest: string,
  results: Map<string, { jobId: string; output: unknown; outputStorage?: 'blob' }>,
  blobs: BundleOptions['blobs'],
): Promise<NonNullable<Bundle['data']>> {
  const execution = await store.read.getExecution(executionId);
  const workflow = await store.read.getWorkflow(workflowDigest);
  if (!execution || !workflow)
    throw new ReceiptError('missing_record', `the execution or its workflow is missing from the store`);
  const steps: Record<string, { input: unknown; output: unknown }> = {};
  for (const [stepId, result] of results) {
    const job = await store.read.getJob(result.jobId);
    if (!job)
      throw new ReceiptError('missing_record', `job ${result.jobId} of step ${stepId} is missing from the store`);
    steps[stepId] = { input: job.input, output: await outputValue(stepId, result, blobs) };
  }
  return { workflow: workflow.definition as unknown as Record<string, unknown>, inputs: execution.inputs, steps };
}

function replicaKey(stepId: string, attempt: number, replica: number): string {
  return `${stepId}\u0000${attempt}\u0000${replica}`;
}

/** A step's output value: inline, or read back from the blob that holds its canonical JSON. */
async function outputValue(
  stepId: string,
  result: { output: unknown; outputStorage?: 'blob' },
  blobs: BundleOptions['blobs'],
): Promise<unknown> {
  if (result.outputStorage !== 'blob') return result.output;
  if (!blobs)
    throw new ReceiptError(
      'missing_record',
      `the output of step ${stepId} is kept as a blob, and no blob store was given`,
    );
  return readJsonBlob(blobs, result.output as BlobRef);
}
