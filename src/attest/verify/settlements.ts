import type { BundleSettlement } from '../bundle.js';
import { sha256 } from '../digest.js';
import { envelopePayload } from '../dsse.js';
import type { ExecutionPredicate } from '../statement.js';
import {
  SETTLEMENT_PREDICATE_TYPE,
  outcomeOfStatus,
  postingsKey,
  recomputeSettlement,
  revisionPostings,
  settlementPredicateSchema,
} from '../settlement/statement.js';
import type { SettlementPredicate } from '../settlement/statement.js';
import { checkLog } from './basic.js';
import { checkCoordinatorStatement } from './coordinator-statement.js';
import type { Checks } from './report.js';

/** What the settlement checks know of the receipt the bundle carries (verified already). */
export interface SettledReceipt {
  predicate: ExecutionPredicate;
  /** SHA-256 (hex) of the receipt's DSSE payload: what a settlement names as `receiptDigest`. */
  payloadDigest: string;
  /** The receipt's counted attestations, with their attested cost and the worker's principal; undefined when the receipt does not commit to them. */
  counted: readonly { cost: number; principal: string }[] | undefined;
}

const describePostings = (postings: readonly { account: string; amount: number; why: string }[]) =>
  postings.map((p) => `${p.account} ${p.amount > 0 ? '+' : ''}${p.amount} (${p.why})`).join(', ') || 'none';

/**
 * The money of a version 2 bundle. Each settlement statement must be signed by a trusted coordinator key
 * and sit in the transparency log; they settle this execution, one revision each, in order, and charge the
 * receipt's client; each posts
 * exactly its full settlement minus what the earlier ones posted; and the one for the receipt's revision
 * names the receipt and carries amounts that `recomputeSettlement` gives from the receipt's counted
 * attestations and the frozen terms. Checks are named `settlement.<revision>.<rule>`.
 */
export async function verifySettlements(
  parts: readonly BundleSettlement[],
  receipt: SettledReceipt,
  trusted: ReadonlyMap<string, Uint8Array>,
  checks: Checks,
): Promise<void> {
  const statements: SettlementPredicate[] = [];
  for (const [i, part] of parts.entries()) {
    const label = `settlement.${i + 1}`;
    const statement = await checkCoordinatorStatement(
      part.statement,
      trusted,
      checks,
      { signature: `${label}.signature`, statement: `${label}.statement`, what: `settlement statement ${i + 1}` },
      SETTLEMENT_PREDICATE_TYPE,
      settlementPredicateSchema,
    );
    // Nothing of a statement no trusted key signed is looked at further.
    if (!statement) return;
    let digest: Uint8Array;
    try {
      digest = sha256(envelopePayload(part.statement));
    } catch (error) {
      checks.fail(`${label}.inclusion`, (error as Error).message);
      return;
    }
    await checkLog(part.tlog, digest, trusted, checks, {
      checkpoint: `${label}.checkpoint`,
      inclusion: `${label}.inclusion`,
      what: `settlement statement ${i + 1}`,
    });
    statements.push(statement.predicate);
  }

  const { predicate } = receipt;
  for (const [i, s] of statements.entries()) {
    const label = `settlement.${i + 1}`;
    const previous = statements[i - 1];
    // The buyer is the client the receipt names: otherwise a statement could charge someone else for this
    // run, consistently in every amount, and still recompute.
    checks.expect(
      `${label}.execution`,
      s.executionId === predicate.executionId &&
        s.buyer === predicate.clientId &&
        (previous === undefined || s.revision > previous.revision),
      `settles execution ${s.executionId} for ${s.buyer}, revision ${s.revision}`,
      s.executionId !== predicate.executionId
        ? `settles execution ${s.executionId}, not this bundle's ${predicate.executionId}`
        : s.buyer !== predicate.clientId
          ? `charges ${s.buyer}, but the receipt's client is ${predicate.clientId}`
          : `revision ${s.revision} does not come after revision ${previous?.revision ?? 0}`,
    );
    // What this revision posted is its full settlement minus everything posted before.
    let expected: string | undefined;
    try {
      expected = postingsKey(revisionPostings(statements.slice(0, i), s.total));
    } catch (error) {
      checks.fail(`${label}.postings`, (error as Error).message);
    }
    if (expected !== undefined) {
      checks.expect(
        `${label}.postings`,
        postingsKey(s.postings) === expected,
        `posted ${describePostings(s.postings)}: its total minus the ${i} earlier settlement(s)`,
        `posted ${describePostings(s.postings)}, but its total minus the earlier settlements is ${expected}`,
      );
    }
  }

  const latest = statements.at(-1)!;
  const label = `settlement.${statements.length}`;
  const names = latest.revision === predicate.revision && latest.receiptDigest === receipt.payloadDigest;
  checks.expect(
    `${label}.receipt`,
    names,
    `settles this receipt (revision ${predicate.revision}, ${receipt.payloadDigest})`,
    `the latest settlement names receipt revision ${latest.revision} (${latest.receiptDigest}); the bundle's receipt is revision ${predicate.revision} (${receipt.payloadDigest})`,
  );
  if (!names) return;
  checkAmounts(latest, receipt, checks, label);
}

/** The latest settlement's amounts, recomputed from the receipt and the terms. */
function checkAmounts(s: SettlementPredicate, receipt: SettledReceipt, checks: Checks, label: string): void {
  const { predicate } = receipt;
  const expectedOutcome = outcomeOfStatus(predicate.status);
  if (
    !checks.expect(
      `${label}.outcome`,
      s.outcome === expectedOutcome || s.outcome === 'unverified',
      `${s.outcome}, as a ${predicate.status} receipt calls for`,
      `outcome ${s.outcome}, but a ${predicate.status} receipt settles as ${expectedOutcome}`,
    )
  )
    return;
  checks.expect(
    `${label}.level`,
    s.verificationLevel === predicate.verificationLevel,
    `at level ${s.verificationLevel}, as the receipt ran`,
    `settled at level ${s.verificationLevel}, but the receipt ran at level ${predicate.verificationLevel}`,
  );
  if (receipt.counted === undefined) {
    checks.fail(
      `${label}.amounts`,
      "the receipt does not commit to each counted step's attested cost, so no amount can be recomputed",
    );
    return;
  }
  let recomputed;
  try {
    recomputed = recomputeSettlement({ outcome: s.outcome, predicate: s, counted: receipt.counted });
  } catch (error) {
    checks.fail(`${label}.amounts`, `the terms and the receipt give no settlement: ${(error as Error).message}`);
    return;
  }
  const problems: string[] = [];
  if (recomputed.computeCost !== s.computeCost)
    problems.push(`compute cost ${s.computeCost}, the receipt's counted attestations sum to ${recomputed.computeCost}`);
  if (recomputed.price !== s.price) problems.push(`price ${s.price}, the terms give ${recomputed.price}`);
  if (recomputed.fee !== s.fee) problems.push(`fee ${s.fee}, the terms give ${recomputed.fee}`);
  if (postingsKey(recomputed.postings) !== postingsKey(s.total))
    problems.push(`total ${describePostings(s.total)}, recomputed ${describePostings(recomputed.postings)}`);
  checks.expect(
    `${label}.amounts`,
    problems.length === 0,
    `C ${s.computeCost}, price ${s.price}, fee ${s.fee}: recomputed from the receipt's ${receipt.counted.length} counted attestation(s) and the terms`,
    problems.join('; '),
  );
}
