import { countedAttestations, countedCost } from '../counted.js';
import type { ExecutionPredicate, StepPredicate } from '../statement.js';
import type { Checks } from './report.js';

/**
 * The `costs` check: the receipt's money is what the workers signed. Each attested step and each replica
 * states the cost of the attestation it names, each attested step states the principal it is paid to, and
 * `totalCost` is the sum over the counted attestations (src/attest/counted.ts), so that a settlement can be
 * recomputed from the receipt alone.
 *
 * A receipt issued before per-step costs carries none of these fields: it passes, saying so, because its
 * `totalCost` was the coordinator's own accounting and nothing can be checked against it (such a receipt
 * cannot be settled). One field present makes the receipt a new one, and then every field must be there:
 * removing some cannot turn a receipt back into an old one.
 */
export function checkCosts(
  predicate: ExecutionPredicate,
  attested: ReadonlyMap<string, StepPredicate>,
  checks: Checks,
): void {
  if (!carriesCosts(predicate)) {
    checks.pass(
      'costs',
      `the receipt predates per-step costs: its totalCost (${predicate.totalCost}) is the coordinator's accounting, not attested costs, so its costs are not settled`,
    );
    return;
  }
  const problems: string[] = [];
  // An attestation missing from the bundle or unreadable is the `attestations` checks' failure, not this one's.
  const attestedCost = (digest: string) => attested.get(digest)?.cost;
  for (const step of predicate.steps) {
    if (step.attestationDigest === null) {
      if (step.cost !== null && step.cost !== undefined)
        problems.push(`step ${step.stepId} has no attestation but states a cost of ${step.cost}`);
      if (step.principal !== null && step.principal !== undefined)
        problems.push(`step ${step.stepId} has no attestation but states a principal`);
    } else {
      const signed = attestedCost(step.attestationDigest);
      if (step.cost === null || step.cost === undefined)
        problems.push(`step ${step.stepId} does not state the cost of its attestation`);
      else if (signed !== undefined && step.cost !== signed)
        problems.push(`step ${step.stepId} states a cost of ${step.cost}, its attestation ${signed}`);
      if (step.principal === null || step.principal === undefined)
        problems.push(`step ${step.stepId} does not state the principal its cost is paid to`);
    }
    for (const r of step.redundancy?.replicas ?? []) {
      const signed = attestedCost(r.attestationDigest);
      if (r.cost === undefined)
        problems.push(`replica ${r.replica} of step ${step.stepId} does not state the cost of its attestation`);
      else if (signed !== undefined && r.cost !== signed)
        problems.push(
          `replica ${r.replica} of step ${step.stepId} states a cost of ${r.cost}, its attestation ${signed}`,
        );
      // The step's own entry is its primary replica's: the same principal is paid.
      if (
        r.attestationDigest === step.attestationDigest &&
        step.principal !== null &&
        step.principal !== undefined &&
        r.principal !== step.principal
      )
        problems.push(
          `step ${step.stepId} states principal ${step.principal}, its primary replica ${r.replica} ${r.principal}`,
        );
    }
  }
  const counted = countedAttestations(predicate);
  const sum = countedCost(predicate);
  if (sum !== undefined && sum !== BigInt(predicate.totalCost))
    problems.push(`totalCost is ${predicate.totalCost}, but the ${counted.length} counted attestations cost ${sum}`);
  checks.expect(
    'costs',
    problems.length === 0,
    `totalCost ${predicate.totalCost} is the sum of the attested costs of ${counted.length} counted attestations`,
    problems.join('; '),
  );
}

/** Whether the receipt was issued with per-step costs: any step or replica states one (or a step its principal). */
function carriesCosts(predicate: ExecutionPredicate): boolean {
  return predicate.steps.some(
    (s) =>
      s.cost !== undefined ||
      s.principal !== undefined ||
      (s.redundancy?.replicas.some((r) => r.cost !== undefined) ?? false),
  );
}
