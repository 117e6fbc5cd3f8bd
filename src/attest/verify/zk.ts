import type * as snarkjs from 'snarkjs';
import type { Groth16VerificationKey } from 'snarkjs';
import type { BundleZk } from '../bundle.js';
import { canonicalJson } from '../canonical.js';
import { jsonDigest } from '../digest.js';
import { executionSubjectName } from '../statement.js';
import type { ExecutionPredicate } from '../statement.js';
import { ZK_PREDICATE_TYPE, zkPredicateSchema } from '../zk/statement.js';
import type { ZkPredicate } from '../zk/statement.js';
import { PUBLIC_SIGNALS, configOfCircuitId } from '../zk/circuit.js';
import { decimal, digestFields, textFields } from '../zk/fields.js';
import { loadVerifierPoseidon } from '../zk/poseidon.js';
import { stepIdsNext } from '../zk/chain.js';
import { verificationKeySchema } from '../zk/proof.js';
import type { Checks } from './report.js';
import { checkCoordinatorStatement } from './coordinator-statement.js';

/** What the zk level checks against when the bundle also has the receipt (a full bundle, not a zk-only one). */
export interface ReceiptContext {
  predicate: ExecutionPredicate;
  /** Hex SHA-256 of the receipt's payload. */
  payloadDigest: string;
}

const signal = (name: (typeof PUBLIC_SIGNALS)[number]) => PUBLIC_SIGNALS.indexOf(name);

/**
 * The zero-knowledge level. From the coordinator's signed zk statement and the proofs alone: every batch
 * proof verifies under the verification key the statement names (or one the caller pinned), the batches
 * chain from the first step to the last in the statement's step order, the chain ends at the signed
 * commitment, and every batch is bound to this execution, this workflow, the signed registry root and the
 * result digest. Needs no step data, attestation or worker key; learns none.
 */
export async function verifyZk(
  zk: BundleZk,
  trusted: ReadonlyMap<string, Uint8Array>,
  checks: Checks,
  options: { receipt?: ReceiptContext; pinnedKeys?: readonly unknown[] } = {},
): Promise<ZkPredicate | undefined> {
  const statement = await checkCoordinatorStatement(
    zk.statement,
    trusted,
    checks,
    { signature: 'zk.statement.signature', statement: 'zk.statement', what: 'the zk statement' },
    ZK_PREDICATE_TYPE,
    zkPredicateSchema,
  );
  if (!statement) return undefined;
  const p = statement.predicate;
  const subject = statement.subject[0]!;
  checks.expect(
    'zk.subject',
    subject.name === executionSubjectName(p.executionId) && subject.digest.sha256 === p.resultDigest,
    `subject ${subject.name} is the result digest`,
    `subject is ${subject.name} ${subject.digest.sha256}, expected ${executionSubjectName(p.executionId)} ${p.resultDigest}`,
  );
  if (options.receipt) checkAgainstReceipt(p, options.receipt, checks);

  const vkey = checkVerificationKey(zk.verificationKey, p, options.pinnedKeys, checks);
  let config;
  try {
    config = configOfCircuitId(p.zk.circuit);
  } catch (error) {
    checks.fail('zk.circuit', (error as Error).message);
    return undefined;
  }
  if (
    !checks.expect(
      'zk.circuit',
      config.batchSize === p.zk.batchSize && config.registryDepth === p.zk.registryDepth,
      `circuit ${p.zk.circuit}: ${config.batchSize} steps per proof, a registry of depth ${config.registryDepth}`,
      `circuit ${p.zk.circuit} does not match batch size ${p.zk.batchSize} and registry depth ${p.zk.registryDepth}`,
    )
  )
    return undefined;

  // The step-id chain at every batch boundary: recomputed here from the step ids, never taken from a proof.
  const h = await loadVerifierPoseidon();
  const boundaries = [0n];
  let s = 0n;
  p.steps.forEach((id, i) => {
    s = stepIdsNext(h, s, id);
    if ((i + 1) % config.batchSize === 0 || i === p.steps.length - 1) boundaries.push(s);
  });
  checks.expect(
    'zk.steps',
    decimal(s) === p.zk.stepIdsCommitment,
    `${p.steps.length} steps: ${p.steps.join(', ')}`,
    `the step ids give step-id commitment ${decimal(s)}, the statement says ${p.zk.stepIdsCommitment}`,
  );

  const batches = boundaries.length - 1;
  if (
    !checks.expect(
      'zk.batches',
      zk.proofs.length === batches && zk.proofs.every((proof, i) => proof.batch === i),
      `${batches} batch proof${batches === 1 ? '' : 's'}`,
      `${batches} batch proofs are needed for ${p.steps.length} steps in batches of ${config.batchSize}; the bundle has ${zk.proofs.length}${zk.proofs.some((proof, i) => proof.batch !== i) ? ', not in batch order' : ''}`,
    )
  )
    return p;

  const pair = ([hi, lo]: [bigint, bigint]) => [decimal(hi), decimal(lo)] as const;
  const [execHi, execLo] = pair(textFields(p.executionId));
  const [wfHi, wfLo] = pair(digestFields(p.workflow.digest));
  const [resultHi, resultLo] = pair(digestFields(p.resultDigest));
  let previousEnd: string | undefined;
  for (const [i, batch] of zk.proofs.entries()) {
    const got = batch.publicSignals;
    const want: Partial<Record<(typeof PUBLIC_SIGNALS)[number], string>> = {
      first: i === 0 ? '1' : '0',
      final: i === batches - 1 ? '1' : '0',
      sPrev: decimal(boundaries[i]!),
      sNext: decimal(boundaries[i + 1]!),
      execHi,
      execLo,
      wfHi,
      wfLo,
      resultHi,
      resultLo,
      registryRoot: p.zk.registryRoot,
      ...(previousEnd !== undefined && { cPrev: previousEnd }),
      ...(i === batches - 1 && { cNext: p.zk.commitment }),
    };
    const problems =
      got.length !== PUBLIC_SIGNALS.length
        ? [`${got.length} public signals, the circuit has ${PUBLIC_SIGNALS.length}`]
        : Object.entries(want)
            .filter(([name, value]) => got[signal(name as (typeof PUBLIC_SIGNALS)[number])] !== value)
            .map(
              ([name, value]) =>
                `${name} is ${got[signal(name as (typeof PUBLIC_SIGNALS)[number])]}, expected ${value}`,
            );
    checks.expect(
      `zk.batch.${i}.signals`,
      problems.length === 0,
      `batch ${i}: bound to this execution, workflow, registry root and result, and chained`,
      problems.join('; '),
    );
    previousEnd = got[signal('cNext')];
    if (!vkey) {
      checks.fail(`zk.batch.${i}.proof`, 'no usable verification key to check the proof with');
      continue;
    }
    let valid: boolean;
    try {
      const groth16 = await loadGroth16();
      valid = await groth16.verify(vkey, got, batch.proof);
    } catch {
      // A malformed point or signal: snarkjs throws rather than answering false.
      valid = false;
    }
    checks.expect(
      `zk.batch.${i}.proof`,
      valid,
      `batch ${i}: the Groth16 proof verifies`,
      `batch ${i}: the Groth16 proof does not verify against its public signals and the verification key`,
    );
  }
  return p;
}

type Groth16 = (typeof snarkjs)['groth16'];
let groth16Loading: Promise<Groth16> | undefined;

/**
 * snarkjs, loaded on first use (a third of a second that basic and full verification never pay), with a
 * single-threaded BN254 curve. snarkjs's verify asks ffjavascript for the process-wide curve, which by
 * default starts a worker thread per core (half a second, and threads that keep a process alive); a check
 * of 13 public inputs and four pairings has no use for them. A curve already there is left alone.
 */
function loadGroth16(): Promise<Groth16> {
  groth16Loading ??= import('snarkjs').then(async ({ curves, groth16 }) => {
    const holder = globalThis as { curve_bn128?: unknown };
    if (!holder.curve_bn128) holder.curve_bn128 = await curves.getCurveFromName('bn128', { singleThread: true });
    return groth16;
  });
  return groth16Loading;
}

/** The statement says what the receipt says, and nothing else. */
function checkAgainstReceipt(p: ZkPredicate, receipt: ReceiptContext, checks: Checks): void {
  const r = receipt.predicate;
  const completed = r.steps.filter((s) => s.status === 'completed').map((s) => s.stepId);
  const problems = [
    p.receiptDigest !== receipt.payloadDigest &&
      `it names receipt ${p.receiptDigest}, the bundle's receipt is ${receipt.payloadDigest}`,
    p.executionId !== r.executionId && `execution ${p.executionId} ≠ ${r.executionId}`,
    p.revision !== r.revision && `revision ${p.revision} ≠ ${r.revision}`,
    canonicalJson(p.workflow) !== canonicalJson(r.workflow) && 'the workflow differs',
    p.resultDigest !== r.resultDigest && `result ${p.resultDigest} ≠ ${r.resultDigest}`,
    p.completedAt !== r.completedAt && `completedAt ${p.completedAt} ≠ ${r.completedAt}`,
    canonicalJson(p.steps) !== canonicalJson(completed) &&
      `its steps [${p.steps.join(', ')}] are not the receipt's completed steps [${completed.join(', ')}]`,
    (!r.zk || canonicalJson(p.zk) !== canonicalJson(r.zk)) && "its zk values are not the receipt's",
  ].filter((x): x is string => typeof x === 'string');
  checks.expect('zk.receipt', problems.length === 0, 'the zk statement agrees with the receipt', problems.join('; '));
}

function checkVerificationKey(
  value: unknown,
  p: ZkPredicate,
  pinned: readonly unknown[] | undefined,
  checks: Checks,
): Groth16VerificationKey | undefined {
  const parsed = verificationKeySchema.safeParse(value);
  if (!parsed.success || parsed.data.nPublic !== PUBLIC_SIGNALS.length) {
    checks.fail(
      'zk.verification_key',
      parsed.success
        ? `the key has ${parsed.data.nPublic} public inputs; the circuit has ${PUBLIC_SIGNALS.length}`
        : 'not a Groth16 verification key',
    );
    return undefined;
  }
  const digest = jsonDigest(value);
  if (digest !== p.zk.verificationKeyDigest) {
    checks.fail(
      'zk.verification_key',
      `the bundle's verification key has digest ${digest}; the signed statement names ${p.zk.verificationKeyDigest}`,
    );
    return undefined;
  }
  if (pinned && pinned.length > 0) {
    const ok = pinned.some((key) => jsonDigest(key) === digest);
    checks.expect(
      'zk.verification_key',
      ok,
      `verification key ${digest}, pinned`,
      `verification key ${digest} is not among the pinned keys`,
    );
    return ok ? (value as Groth16VerificationKey) : undefined;
  }
  checks.pass(
    'zk.verification_key',
    `verification key ${digest}, as the signed statement names it (pin one with --zk-key to check the circuit too)`,
  );
  return value as Groth16VerificationKey;
}
