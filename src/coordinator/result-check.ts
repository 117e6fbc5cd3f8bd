import { jsonDigest } from '../attest/digest.js';
import { publicKeyFromPem } from '../attest/keys.js';
import { checkStepAttestation } from '../attest/statement.js';
import type { StepPredicate } from '../attest/statement.js';
import type { BlobRef } from '../blobs/blob-ref.js';
import { jobMayName } from '../blobs/grants.js';
import { readJsonBlob } from '../blobs/json-blob.js';
import { nodeVerifyEd25519 } from '../keys/node-verify.js';
import type { BlobRecord, ErrorInfo, JobRecord, JobSpec } from '../store/records.js';
import type { Store } from '../store/store.js';
import { exceedsDepth } from '../workflow/json-depth.js';
import { LIMITS } from '../workflow/limits.js';
import { checkOutputBlobs, notGranted } from './output-blobs.js';
import type { BlobNamer } from './output-blobs.js';
import type { CompletionReport } from './protocol.js';
import type { WorkerRegistry } from './worker-registry.js';

export interface ResultCheckOptions {
  /** Results without a valid attestation are refused (a step that requires a proof needs one regardless). */
  requireAttestations: boolean;
  /** Where output blobs are kept; without it, outputs must be inline and blob references are not checked for size. */
  blobs?: { size(digest: string): Promise<number | undefined>; get(digest: string): Promise<Uint8Array> } | undefined;
}

/** A checked output: its digest (the one the attestation must sign), and the grants its blobs get on acceptance. */
export type CheckedOutput =
  { ok: true; outputDigest: string; grants: (now: number) => BlobRecord[] } | { ok: false; error: ErrorInfo };

export type CheckedAttestation =
  { ok: true; predicate?: StepPredicate; digest?: string } | { ok: false; problems: string[] };

/**
 * Everything about a reported result that can be checked without the execution's lock: the output (its
 * depth, its digest, the blobs it names) and the worker's attestation of it (key, statement, model pinning,
 * that a zk-level worker has a leaf key). The coordinator runs these before its transaction, since they are the slow part,
 * and decides with their answers under the lock.
 */
export class ResultChecker {
  /** Public keys by key id: a worker's key never changes under its id. */
  private readonly keys = new Map<string, Uint8Array>();

  constructor(
    private readonly store: Store,
    private readonly workers: WorkerRegistry,
    private readonly options: ResultCheckOptions,
  ) {}

  /** The output a job reports: a failure here fails the job (not a refusal: the worker ran it and it is wrong). */
  async checkOutput(job: JobRecord, report: CompletionReport): Promise<CheckedOutput> {
    // The execution's owner is read only for an output that names blobs (a read less per step otherwise).
    let namer: BlobNamer | undefined;
    const namerOf = async (): Promise<BlobNamer> =>
      (namer ??= { jobId: job.id, ownerId: (await this.store.read.getExecution(job.executionId))?.clientId ?? '' });
    let outputDigest: string;
    // The value the output is: inline, or (too large for a row) the canonical JSON in a blob.
    let value: unknown = report.output;
    if (report.outputBlob !== undefined) {
      // Whether the job may name the blob comes before anything that reads it: what a read would say
      // (there is no such blob, it is not JSON) must not tell about another client's blob.
      if (!(await jobMayName(this.store, await namerOf(), report.outputBlob.$blob)))
        return { ok: false, error: notGranted(report.outputBlob.$blob) };
      const read = await this.readOutputBlob(report.outputBlob);
      if (!read.ok) return { ok: false, error: { code: 'invalid_output', message: read.problem, retryable: true } };
      value = read.value;
      outputDigest = read.digest;
    } else {
      // Before anything recurses over it: the digest, the store's serializer, the next steps' expressions.
      if (exceedsDepth(report.output, LIMITS.maxValueDepth)) return { ok: false, error: tooDeepOutput() };
      try {
        outputDigest = jsonDigest(report.output);
      } catch (error) {
        return {
          ok: false,
          error: {
            code: 'invalid_output',
            message: `the step's output is not JSON: ${(error as Error).message}`,
            retryable: false,
          },
        };
      }
    }
    const blobs = await checkOutputBlobs(this.store, this.options.blobs, value, report.outputBlob, namerOf);
    if (!blobs.ok) return blobs;
    return { ok: true, outputDigest, grants: blobs.records };
  }

  /**
   * An output kept as a blob: the blob must hold the canonical JSON of a value, whose digest is then the
   * output's digest (the same the attestation signs), so the engine reads back exactly what was attested.
   */
  private async readOutputBlob(
    ref: BlobRef,
  ): Promise<{ ok: true; value: unknown; digest: string } | { ok: false; problem: string }> {
    const store = this.options.blobs;
    if (!store) return { ok: false, problem: 'this coordinator keeps no blobs: send the output inline' };
    let value: unknown;
    try {
      value = await readJsonBlob(store, ref);
    } catch (error) {
      return { ok: false, problem: `the output blob ${ref.$blob} cannot be used: ${(error as Error).message}` };
    }
    if (exceedsDepth(value, LIMITS.maxValueDepth)) return { ok: false, problem: tooDeepOutput().message };
    const digest = jsonDigest(value);
    if (`sha256:${digest}` !== ref.$blob)
      return { ok: false, problem: `the output blob ${ref.$blob} is not the canonical JSON (RFC 8785) of its value` };
    return { ok: true, value, digest };
  }

  /**
   * The attestation: signed by the key the worker registered (node:crypto, synchronously: a thread-pool
   * round trip costs more than the check), a step statement about exactly this job, input and output.
   */
  async checkAttestation(job: JobRecord, report: CompletionReport, outputDigest: string): Promise<CheckedAttestation> {
    if (!report.attestation) {
      const required = this.options.requireAttestations || job.spec.requiresProof === true;
      return required ? { ok: false, problems: ['the result carries no attestation'] } : { ok: true };
    }
    const keyId = await this.workers.keyIdOf(report.workerId);
    if (!keyId) return { ok: false, problems: [`worker ${report.workerId} has no registered key`] };
    const publicKey = await this.publicKey(keyId);
    if (!publicKey) return { ok: false, problems: [`key ${keyId} is not known`] };
    const check = await checkStepAttestation(
      report.attestation,
      publicKey,
      {
        executionId: job.executionId,
        workflowDigest: job.spec.workflowDigest,
        stepId: job.stepId,
        attempt: job.attempt,
        jobId: job.id,
        ...(job.nonce !== undefined && { jobNonce: job.nonce }),
        inputDigest: job.inputDigest,
        outputDigest,
        workerId: report.workerId,
        workerKeyId: keyId,
      },
      nodeVerifyEd25519,
    );
    if (!check.ok || !check.predicate || !check.digest) return { ok: false, problems: check.problems };
    const modelProblems = modelMismatches(job.spec.model, check.predicate.model);
    if (modelProblems.length > 0) return { ok: false, problems: modelProblems };
    if (job.spec.zkLeaf) {
      const zkProblems = await this.zkLeafProblems(report.workerId, check.predicate);
      if (zkProblems.length > 0) return { ok: false, problems: zkProblems };
    }
    return { ok: true, predicate: check.predicate, digest: check.digest };
  }

  /**
   * At level zk the worker must have a Baby Jubjub key to sign the step leaf with. The leaf signature
   * itself comes after the result and is checked off the step path (src/zk/zk-leaves.ts): only the proof
   * waits for it, so a result is accepted on its Ed25519 attestation and the next step starts at once.
   */
  private async zkLeafProblems(workerId: string, predicate: StepPredicate): Promise<string[]> {
    const registered = await this.workers.zkKeyOf(workerId);
    if (!registered) return [`worker ${workerId} registered no Baby Jubjub key; it cannot take part in a zk execution`];
    // An attestation from a worker that still signs the leaf into it must at least name its own key.
    if (predicate.zk && (registered.x !== predicate.zk.publicKey.x || registered.y !== predicate.zk.publicKey.y))
      return ['the attestation names a Baby Jubjub key other than the one the worker registered'];
    return [];
  }

  private async publicKey(keyId: string): Promise<Uint8Array | undefined> {
    const cached = this.keys.get(keyId);
    if (cached) return cached;
    const [record] = await this.store.read.getKeys([keyId]);
    if (!record) return undefined;
    const key = publicKeyFromPem(record.publicKeyPem);
    this.keys.set(keyId, key);
    return key;
  }
}

/**
 * The model an attestation says ran must be the one the step asked for: the same name, and the version and
 * digest wherever the step pins them. A worker that ran something else cannot have its result accepted.
 */
function modelMismatches(asked: JobSpec['model'], ran: StepPredicate['model']): string[] {
  if (!asked) return [];
  if (!ran) return [`the step needs model ${asked.name}; the attestation names no model`];
  const problems: string[] = [];
  if (ran.name !== asked.name)
    problems.push(`the step needs model ${asked.name}; the attestation says ${ran.name} ran`);
  if (asked.version !== undefined && ran.version !== asked.version)
    problems.push(
      `the step pins ${asked.name} version ${asked.version}; the attestation says ${ran.version ?? 'no version'}`,
    );
  if (asked.digest !== undefined && ran.digest !== asked.digest)
    problems.push(
      `the step pins ${asked.name} digest ${asked.digest}; the attestation says ${ran.digest ?? 'no digest'}`,
    );
  return problems;
}

function tooDeepOutput(): ErrorInfo {
  return {
    code: 'invalid_output',
    message: `the step's output nests deeper than ${LIMITS.maxValueDepth} levels; flatten it`,
    retryable: false,
  };
}
