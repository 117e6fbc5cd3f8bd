import { fromHex } from '../bytes.js';
import type { Bundle, BundleTlog } from '../bundle.js';
import { parseCheckpoint, verifyNote } from '../checkpoint.js';
import { jsonDigest, sha256 } from '../digest.js';
import { envelopeDigest, envelopePayload } from '../dsse.js';
import type { Envelope } from '../dsse.js';
import { keyIdOf, publicKeyFromPem, publicKeyToPem } from '../keys.js';
import { stepLeaves, stepsRootOf } from '../leaves.js';
import { leafHash, verifyInclusion } from '../merkle.js';
import {
  EXECUTION_PREDICATE_TYPE,
  checkStepAttestation,
  executionPredicateSchema,
  executionSubjectName,
} from '../statement.js';
import type { ExecutionPredicate, ExpectedStep, ReceiptReplica, ReceiptStep, StepPredicate } from '../statement.js';
import type { Checks } from './report.js';
import { checkCoordinatorStatement } from './coordinator-statement.js';
import { checkCosts } from './costs.js';

const NULL_DIGEST = jsonDigest(null);

/**
 * The basic level: signatures and structure, no data. Trust starts from the coordinator keys the caller
 * gives; every other key is trusted only because a trusted receipt names its keyid.
 */
export async function verifyBasic(
  bundle: Bundle,
  trusted: ReadonlyMap<string, Uint8Array>,
  checks: Checks,
): Promise<ExecutionPredicate | undefined> {
  // The receipt: signed by a trusted coordinator key.
  const statement = await checkCoordinatorStatement(
    bundle.receipt,
    trusted,
    checks,
    { signature: 'receipt.signature', statement: 'receipt.statement', what: 'the receipt' },
    EXECUTION_PREDICATE_TYPE,
    executionPredicateSchema,
  );
  if (!statement) return undefined;
  const signer = bundle.receipt.signatures[0]?.keyid ?? '(none)';
  const predicate = statement.predicate;
  const subject = statement.subject[0]!;
  if (predicate.status !== 'completed') {
    // No result: the digest must be that of null, or it would be a claim nothing else checks.
    checks.expect(
      'receipt.result',
      predicate.resultDigest === NULL_DIGEST,
      `no result (${predicate.status})`,
      `a ${predicate.status} execution names result digest ${predicate.resultDigest}, not the digest of null`,
    );
  }
  checks.expect(
    'receipt.subject',
    subject.name === executionSubjectName(predicate.executionId) && subject.digest.sha256 === predicate.resultDigest,
    `subject ${subject.name} is the result digest`,
    `subject is ${subject.name} ${subject.digest.sha256}, expected ${executionSubjectName(predicate.executionId)} ${predicate.resultDigest}`,
  );

  checkStepList(predicate, checks);
  const keys = checkKeys(bundle, predicate, signer, checks);
  const attested = await checkAttestations(bundle, predicate, keys, checks);
  checkCosts(predicate, attested, checks);

  // The commitment to the attestations, in the leaf order the issuer used (src/attest/leaves.ts).
  const root = stepsRootOf(predicate.steps);
  const leaves = stepLeaves(predicate.steps).length;
  checks.expect(
    'steps.root',
    root === predicate.stepsRoot,
    `stepsRoot ${root} over ${leaves} attestations`,
    `stepsRoot is ${predicate.stepsRoot}, but the attestation digests give ${root}`,
  );

  let payloadDigest: Uint8Array | undefined;
  try {
    payloadDigest = sha256(envelopePayload(bundle.receipt));
  } catch (error) {
    checks.fail('tlog.inclusion', (error as Error).message);
  }
  if (payloadDigest) await checkLog(bundle.tlog, payloadDigest, trusted, checks);
  return predicate;
}

/** The step list is well formed: unique ids, and the fields each status must (not) have. */
function checkStepList(predicate: ExecutionPredicate, checks: Checks): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const step of predicate.steps) {
    if (seen.has(step.stepId)) problems.push(`step ${step.stepId} appears twice`);
    seen.add(step.stepId);
    const filled =
      step.jobId !== null &&
      step.outputDigest !== null &&
      step.attestationDigest !== null &&
      step.workerKeyId !== null &&
      step.inputDigest !== null;
    if (step.status === 'completed' && !filled)
      problems.push(`completed step ${step.stepId} lacks its job, digests, attestation or worker key`);
    if (step.status !== 'completed' && (step.outputDigest !== null || step.attestationDigest !== null)) {
      problems.push(`${step.status} step ${step.stepId} claims an output or an attestation`);
    }
    if (step.redundancy) problems.push(...replicaListProblems(step, step.redundancy.replicas));
  }
  if (predicate.status === 'completed') {
    const open = predicate.steps.filter((s) => s.status !== 'completed' && s.status !== 'skipped');
    if (open.length > 0)
      problems.push(
        `a completed execution has steps that did not complete: ${open.map((s) => `${s.stepId}=${s.status}`).join(', ')}`,
      );
  }
  checks.expect(
    'receipt.steps',
    problems.length === 0,
    `${predicate.steps.length} steps, each with the fields its status needs`,
    problems.join('; '),
  );
}

/** A redundant step's replicas: in replica order, each a job of its own. */
function replicaListProblems(
  step: ReceiptStep,
  replicas: NonNullable<ReceiptStep['redundancy']>['replicas'],
): string[] {
  const problems: string[] = [];
  replicas.forEach((r, i) => {
    const before = replicas[i - 1];
    if (before && r.replica <= before.replica)
      problems.push(
        `the replicas of step ${step.stepId} are not in replica order (${before.replica} before ${r.replica})`,
      );
    if (replicas.findIndex((x) => x.jobId === r.jobId) !== i)
      problems.push(`replica ${r.replica} of step ${step.stepId} repeats job ${r.jobId}`);
  });
  return problems;
}

/**
 * Every key the receipt uses is in the bundle, and every key in the bundle is the key its keyid names, in
 * its one PEM spelling, in the role it is used for, and used.
 */
function checkKeys(
  bundle: Bundle,
  predicate: ExecutionPredicate,
  receiptSigner: string,
  checks: Checks,
): Map<string, Uint8Array> {
  const keys = new Map<string, Uint8Array>();
  const problems: string[] = [];
  const workers = new Set(workerKeyIds(predicate));
  for (const key of bundle.keys) {
    let raw: Uint8Array;
    try {
      raw = publicKeyFromPem(key.publicKeyPem);
    } catch (error) {
      problems.push(`key ${key.keyid}: ${(error as Error).message}`);
      continue;
    }
    if (keyIdOf(raw) !== key.keyid) {
      problems.push(`key ${key.keyid} is not the key its keyid names (its keyid is ${keyIdOf(raw)})`);
      continue;
    }
    if (publicKeyToPem(raw) !== key.publicKeyPem)
      problems.push(`key ${key.keyid} is not written in its canonical PEM form`);
    const role = key.keyid === receiptSigner ? 'coordinator' : workers.has(key.keyid) ? 'worker' : undefined;
    if (role === undefined) problems.push(`key ${key.keyid} is not used by this receipt`);
    else if (role !== key.role) problems.push(`key ${key.keyid} is listed as ${key.role} but is used as ${role}`);
    if (keys.has(key.keyid)) problems.push(`key ${key.keyid} is listed twice`);
    keys.set(key.keyid, raw);
  }
  for (const needed of [receiptSigner, ...workers]) {
    if (!bundle.keys.some((k) => k.keyid === needed))
      problems.push(`key ${needed}, which the receipt uses, is not in the bundle`);
  }
  checks.expect(
    'keys',
    problems.length === 0,
    `${bundle.keys.length} keys, each matching its keyid and role`,
    problems.join('; '),
  );
  return keys;
}

/** Every worker key the receipt names: of each attested step, and of each replica of a redundant step. */
function workerKeyIds(predicate: ExecutionPredicate): string[] {
  return predicate.steps.flatMap((s) => [
    ...(s.workerKeyId === null ? [] : [s.workerKeyId]),
    ...(s.redundancy?.replicas.map((r) => r.workerKeyId) ?? []),
  ]);
}

type Outcome = [name: string, ok: boolean, message: string];

/**
 * The attestations the receipt commits to, in its leaf order, each agreeing with the receipt: one per
 * attested step, and for a redundant step one per replica, the step's own being one of them. Returns the
 * statement of each readable attestation by digest, for the checks that compare the receipt with what the
 * workers said (their costs); whether each is signed is this check's to report.
 */
async function checkAttestations(
  bundle: Bundle,
  predicate: ExecutionPredicate,
  keys: ReadonlyMap<string, Uint8Array>,
  checks: Checks,
): Promise<Map<string, StepPredicate>> {
  const statements = new Map<string, StepPredicate>();
  const digests = bundle.attestations.map((a) => safeDigest(a));
  const expected = stepLeaves(predicate.steps).map((leaf) => leaf.attestationDigest);
  if (digests.length !== expected.length || digests.some((d, i) => d !== expected[i])) {
    checks.fail(
      'attestations',
      `the bundle's attestations (${digests.length}) are not those the receipt commits to (${expected.length}), in its order: ` +
        `expected [${expected.map((d) => d.slice(0, 12)).join(', ')}], found [${digests.map((d) => d?.slice(0, 12) ?? 'unreadable').join(', ')}]`,
    );
  } else {
    checks.pass('attestations', `${digests.length} attestations, those the receipt commits to, in its order`);
  }
  const byDigest = new Map(bundle.attestations.map((a, i) => [digests[i], a]));
  const check = async (
    name: string,
    who: string,
    attestationDigest: string,
    workerKeyId: string,
    expect: Omit<ExpectedStep, 'executionId' | 'workflowDigest' | 'workerKeyId' | 'attestationDigest'>,
  ): Promise<Outcome> => {
    const envelope = byDigest.get(attestationDigest);
    const key = keys.get(workerKeyId);
    if (!envelope) return [name, false, `no attestation with digest ${attestationDigest}`];
    if (!key) return [name, false, `the bundle has no key ${workerKeyId} for the worker that ran ${who}`];
    const result = await checkStepAttestation(envelope, key, {
      ...expect,
      executionId: predicate.executionId,
      workflowDigest: predicate.workflow.digest,
      workerKeyId,
      attestationDigest,
    });
    if (result.predicate) statements.set(attestationDigest, result.predicate);
    return [
      name,
      result.ok,
      result.ok
        ? `signed by worker ${workerKeyId.slice(0, 12)}…, agrees with the receipt${httpNote(result.predicate)}`
        : result.problems.join('; '),
    ];
  };
  // Signatures are checked in parallel; results are reported in step order.
  const pending: Promise<Outcome>[] = [];
  for (const step of predicate.steps) {
    if (step.attestationDigest !== null) {
      pending.push(
        check(`attestation.${step.stepId}`, step.stepId, step.attestationDigest, step.workerKeyId!, {
          stepId: step.stepId,
          attempt: step.attempt,
          jobId: step.jobId!,
          inputDigest: step.inputDigest!,
          outputDigest: step.outputDigest!,
        }),
      );
    }
    if (!step.redundancy) continue;
    for (const r of step.redundancy.replicas) {
      pending.push(
        check(
          `redundancy.replica.${step.stepId}.${r.replica}`,
          `replica ${r.replica} of ${step.stepId}`,
          r.attestationDigest,
          r.workerKeyId,
          {
            stepId: step.stepId,
            attempt: step.attempt,
            jobId: r.jobId,
            outputDigest: r.outputDigest,
            // Every replica of an attempt runs on the same input.
            ...(step.inputDigest !== null && { inputDigest: step.inputDigest }),
          },
        ),
      );
    }
    if (step.status === 'completed') pending.push(Promise.resolve(primaryOutcome(step, step.redundancy.replicas)));
  }
  for (const [name, ok, message] of await Promise.all(pending)) {
    if (ok) checks.pass(name, message);
    else checks.fail(name, message);
  }
  return statements;
}

/** What an HTTP step's attestation says it called, for the report: the signature covers it. */
function httpNote(predicate: StepPredicate | undefined): string {
  const http = predicate?.http;
  return http
    ? `; called ${http.method} ${http.url} → ${http.status} (request sha256 ${http.requestDigest.slice(0, 12)}…, response sha256 ${http.responseDigest.slice(0, 12)}…)`
    : '';
}

/** A completed redundant step's result is one of its replicas' (the primary): its attestation, job, worker and output. */
function primaryOutcome(step: ReceiptStep, replicas: readonly ReceiptReplica[]): Outcome {
  const name = `redundancy.primary.${step.stepId}`;
  const primary = replicas.find((r) => r.attestationDigest === step.attestationDigest);
  if (!primary)
    return [
      name,
      false,
      `the step's attestation ${step.attestationDigest} is not one of its ${replicas.length} replicas'`,
    ];
  const problems = [
    primary.outputDigest !== step.outputDigest &&
      `the step's output digest is ${step.outputDigest}, replica ${primary.replica}'s is ${primary.outputDigest}`,
    primary.jobId !== step.jobId && `the step's job is ${step.jobId}, replica ${primary.replica}'s is ${primary.jobId}`,
    primary.workerKeyId !== step.workerKeyId &&
      `the step's worker key is ${step.workerKeyId}, replica ${primary.replica}'s is ${primary.workerKeyId}`,
  ].filter((p): p is string => typeof p === 'string');
  return [
    name,
    problems.length === 0,
    problems.length === 0 ? `the step's result is replica ${primary.replica}'s` : problems.join('; '),
  ];
}

/**
 * The receipt is in the transparency log, at the place the bundle says, under a signed checkpoint. The
 * log's leaf is the SHA-256 of the receipt's payload, which a zk-only bundle knows without the receipt.
 */
export async function checkLog(
  tlog: BundleTlog,
  receiptPayloadDigest: Uint8Array,
  trusted: ReadonlyMap<string, Uint8Array>,
  checks: Checks,
  /** The checks' names and what the leaf is: the receipt's by default; a settlement statement has its own. */
  names: { checkpoint: string; inclusion: string; what: string } = {
    checkpoint: 'tlog.checkpoint',
    inclusion: 'tlog.inclusion',
    what: 'the receipt',
  },
): Promise<void> {
  let root: Uint8Array | undefined;
  try {
    const { body } = await verifyNote(
      tlog.checkpoint,
      [...trusted.values()].map((publicKey) => ({ name: tlog.origin, publicKey })),
    );
    const checkpoint = parseCheckpoint(body);
    const problems: string[] = [];
    if (checkpoint.origin !== tlog.origin)
      problems.push(`checkpoint origin is "${checkpoint.origin}", the bundle says "${tlog.origin}"`);
    if (checkpoint.size !== tlog.treeSize)
      problems.push(`checkpoint size is ${checkpoint.size}, the bundle says ${tlog.treeSize}`);
    if (
      checks.expect(
        names.checkpoint,
        problems.length === 0,
        `checkpoint of ${checkpoint.origin} at size ${checkpoint.size}, signed by a trusted key`,
        problems.join('; '),
      )
    ) {
      root = checkpoint.rootHash;
    }
  } catch (error) {
    checks.fail(names.checkpoint, (error as Error).message);
  }
  const leaf = leafHash(receiptPayloadDigest);
  if (!root) {
    checks.fail(names.inclusion, 'no verified checkpoint to check the inclusion proof against');
    return;
  }
  let included: boolean;
  try {
    included = verifyInclusion(tlog.logIndex, tlog.treeSize, leaf, tlog.inclusionProof.map(fromHex), root);
  } catch {
    included = false;
  }
  checks.expect(
    names.inclusion,
    included,
    `${names.what} is leaf ${tlog.logIndex} of ${tlog.treeSize}`,
    `the inclusion proof does not lead from ${names.what} (leaf ${tlog.logIndex} of ${tlog.treeSize}) to the checkpoint's root`,
  );
}

function safeDigest(envelope: Envelope): string | undefined {
  try {
    return envelopeDigest(envelope);
  } catch {
    return undefined;
  }
}
