import { fromHex } from '../attest/bytes.js';
import { paidAttestations } from '../attest/counted.js';
import { sha256Hex } from '../attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, checkEnvelopeSignature, signEnvelope } from '../attest/dsse.js';
import type { Signer } from '../attest/keys.js';
import { EXTERNAL_ACCOUNT, PLATFORM_ACCOUNT } from '../attest/settlement/accounts.js';
import { holdOf as holdAmount } from '../attest/settlement/price.js';
import {
  SETTLEMENT_PREDICATE_TYPE,
  outcomeOfStatus,
  recomputeSettlement,
  revisionPostings,
  settlementPredicateSchema,
  settlementStatement,
} from '../attest/settlement/statement.js';
import type { SettlementPredicate } from '../attest/settlement/statement.js';
import { settlementTermsSchema, termsToStatement } from '../attest/settlement/terms.js';
import type { SettlementTerms } from '../attest/settlement/terms.js';
import {
  EXECUTION_PREDICATE_TYPE,
  executionPredicateSchema,
  readStatement,
  statementBytes,
} from '../attest/statement.js';
import type { ExecutionHooks } from '../engine/execution-hooks.js';
import { holdOf, postTransaction, releaseOf } from '../ledger/ledger.js';
import type { NewLedgerTransaction } from '../ledger/ledger.js';
import type { ExecutionRecord, LedgerPosting, MarketRunRecord, ReceiptRecord } from '../store/records.js';
import type { StoreTx } from '../store/store.js';
import type { TransparencyLog } from '../tlog/log.js';
import { MarketError } from './errors.js';
import type { SettlementEvents } from './settlement-events.js';

/**
 * Where money follows receipts. In the transaction that ends an execution run through a listing, right
 * after its receipt is issued: compute the settlement from the receipt's counted attestations and the terms
 * frozen at the hold, sign it, append it to the transparency log, and post it to the ledger, releasing what
 * the hold set aside and nothing charged. Once per receipt revision, whatever retries, restarts and
 * replicas do (the run row says which revision settled last, the ledger's idempotency key is the
 * execution and revision, and the execution row is locked by the transaction). A `retry` places a new
 * hold at the original terms; the next settlement posts the difference.
 */
export class MarketSettler implements ExecutionHooks {
  constructor(
    private readonly signer: Signer,
    private readonly log: TransparencyLog,
    /** Told of each settlement once its transaction commits (the metrics count them by outcome). */
    private readonly events?: SettlementEvents,
  ) {}

  async ended(tx: StoreTx, execution: ExecutionRecord, receipt: ReceiptRecord | undefined, now: number): Promise<void> {
    const run = await tx.getMarketRun(execution.id);
    if (!run) return;
    if (run.settledRevision !== undefined && receipt !== undefined && run.settledRevision >= receipt.revision) return;
    if (!receipt) {
      // A node that issues no receipts charges nobody (runs through listings are refused there at start; this
      // is a node restarted without attestations): the hold goes back whole.
      if (run.hold > 0) {
        await postTransaction(
          tx,
          releaseOf(run.buyer, run.hold, `release:${execution.id}:${(run.settledRevision ?? 0) + 1}`, {
            executionId: execution.id,
            listingId: run.listingId,
          }),
          { now },
        );
        await tx.updateMarketRun(execution.id, { hold: 0 });
      }
      await giveBackIncludedRun(tx, run);
      return;
    }
    const statement = await this.statementFor(tx, execution, run, receipt, now);
    const payload = statementBytes(settlementStatement(statement));
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, this.signer);
    const payloadDigest = sha256Hex(payload);
    const logIndex = await this.log.append(tx, fromHex(payloadDigest));
    await tx.insertMarketSettlement({
      executionId: execution.id,
      revision: receipt.revision,
      envelope,
      payloadDigest,
      logIndex,
      createdAt: now,
    });
    const money = ledgerTransactionOf(run, statement);
    if (money.postings.length > 0) {
      await postTransaction(tx, money, {
        now,
        // Publishers carry their agents' failures even below zero (they cannot withdraw until positive
        // again); the platform pays the compute of a receipt that does not verify.
        allowNegative: (account) =>
          account === run.publisher || account === EXTERNAL_ACCOUNT || account === PLATFORM_ACCOUNT,
      });
    }
    // "A run takes one included execution, which comes back if the run does not complete": in this
    // revision's transaction, once (quotaHeld says whether the run still holds it).
    if (statement.outcome !== 'completed') await giveBackIncludedRun(tx, run);
    await tx.updateMarketRun(execution.id, {
      outcome: statement.outcome,
      settledRevision: receipt.revision,
      settledAt: now,
      hold: 0,
      ...(execution.finishedAt !== undefined && {
        durationMs: Math.max(0, execution.finishedAt - execution.startedAt),
      }),
    });
    tx.appendEvents([
      {
        executionId: execution.id,
        at: now,
        type: 'settlement.posted',
        actor: 'coordinator',
        data: {
          revision: receipt.revision,
          outcome: statement.outcome,
          computeCost: statement.computeCost,
          price: statement.price,
          fee: statement.fee,
          logIndex,
        },
      },
    ]);
    const posted = { executionId: execution.id, revision: receipt.revision, outcome: statement.outcome };
    tx.afterCommit(() => this.events?.emit('posted', posted));
  }

  /** A retry of a settled run: a new hold at the original terms, in the retry's transaction (402 if short). */
  async resumed(tx: StoreTx, execution: ExecutionRecord, now: number): Promise<void> {
    const run = await tx.getMarketRun(execution.id);
    if (!run) return;
    // A retried included run takes its execution again only if settling gave it back (each run holds at
    // most one, whatever the number of revisions), and only if one is left: the quota is never passed. With
    // none left the retry is refused; a new run is charged or refused as the listing says past its quota.
    const retake = run.includedRun === 1 && run.quotaHeld === 0 && run.subscriptionId !== undefined;
    const subscription = retake ? await tx.lockMarketSubscription(run.subscriptionId!) : undefined;
    if (subscription && subscription.usedExecutions >= subscription.includedExecutions) {
      throw new MarketError(
        'over_quota',
        `execution ${execution.id} ran as an included run of subscription ${subscription.id}, whose ${subscription.includedExecutions} included executions are used up: start a new run instead`,
        { context: { executionId: execution.id, subscriptionId: subscription.id } },
      );
    }
    const workflow = await tx.getWorkflow(execution.workflowDigest);
    const terms = termsOf(run);
    const hold = holdAmount(terms, {
      buyerMaxPrice: run.buyerMaxPrice,
      includedRun: run.includedRun === 1,
      workflowMaxCostBudget: workflow?.definition.max_cost_budget ?? 0,
    });
    const revision = (run.settledRevision ?? 0) + 1;
    await postTransaction(
      tx,
      holdOf(run.buyer, hold, `hold:${execution.id}:${revision}`, {
        executionId: execution.id,
        revision,
        listingId: run.listingId,
      }),
      { now },
    );
    await tx.updateMarketRun(execution.id, { hold: run.hold + hold });
    if (retake) {
      if (subscription) {
        await tx.updateMarketSubscription(subscription.id, { usedExecutions: subscription.usedExecutions + 1 });
      }
      await tx.updateMarketRun(execution.id, { quotaHeld: 1 });
    }
  }

  /** The settlement of this receipt revision: the full settlement now, and what this revision posts. */
  private async statementFor(
    tx: StoreTx,
    execution: ExecutionRecord,
    run: MarketRunRecord,
    receipt: ReceiptRecord,
    now: number,
  ): Promise<SettlementPredicate> {
    const predicate = readStatement(receipt.envelope, EXECUTION_PREDICATE_TYPE, executionPredicateSchema).predicate;
    // The coordinator signed it a moment ago; a receipt that still does not verify against its key is the
    // platform's fault, and the buyer pays nothing for it.
    const verified = (await checkEnvelopeSignature(receipt.envelope, this.signer.keyId, this.signer.publicKey)).ok;
    // Every receipt this coordinator issues states each counted cost; one that does not is no ground to
    // charge anybody either.
    const counted = paidAttestations(predicate);
    const outcome = verified && counted !== undefined ? outcomeOfStatus(predicate.status) : 'unverified';
    const fields = {
      terms: termsToStatement(termsOf(run)),
      buyer: run.buyer,
      publisher: run.publisher,
      buyerMaxPrice: run.buyerMaxPrice ?? null,
      includedRun: run.includedRun === 1,
      verificationLevel: predicate.verificationLevel,
    };
    const full = recomputeSettlement({ outcome, predicate: fields, counted: counted ?? [] });
    const earlier = (await tx.listMarketSettlements(execution.id)).map(
      (s) => readStatement(s.envelope, SETTLEMENT_PREDICATE_TYPE, settlementPredicateSchema).predicate,
    );
    return {
      executionId: execution.id,
      revision: receipt.revision,
      receiptDigest: receipt.payloadDigest,
      listingId: run.listingId,
      ...fields,
      outcome,
      computeCost: full.computeCost,
      price: full.price,
      fee: full.fee,
      total: full.postings,
      postings: revisionPostings(earlier, full.postings),
      settledAt: new Date(now).toISOString(),
    };
  }
}

/** Gives an included run's execution back to its subscription, if the run still holds it. */
async function giveBackIncludedRun(tx: StoreTx, run: MarketRunRecord): Promise<void> {
  if (run.includedRun !== 1 || run.quotaHeld !== 1 || run.subscriptionId === undefined) return;
  const subscription = await tx.lockMarketSubscription(run.subscriptionId);
  if (subscription && subscription.usedExecutions > 0) {
    await tx.updateMarketSubscription(subscription.id, { usedExecutions: subscription.usedExecutions - 1 });
  }
  await tx.updateMarketRun(run.executionId, { quotaHeld: 0 });
}

function termsOf(run: MarketRunRecord): SettlementTerms {
  return settlementTermsSchema.parse(run.terms);
}

/**
 * The ledger transaction of a settlement revision: what the buyer pays comes out of its hold, everything
 * else moves between available balances, and what the hold set aside and nothing charged goes back.
 */
export function ledgerTransactionOf(run: MarketRunRecord, s: SettlementPredicate): NewLedgerTransaction {
  const postings: LedgerPosting[] = [];
  let charged = 0;
  for (const p of s.postings) {
    if (p.account === run.buyer && p.amount < 0) {
      postings.push({ account: p.account, bucket: 'held', amount: p.amount, reason: p.why });
      charged -= p.amount;
    } else {
      postings.push({ account: p.account, bucket: 'available', amount: p.amount, reason: p.why });
    }
  }
  const rest = run.hold - charged;
  if (rest > 0) {
    postings.push(
      { account: run.buyer, bucket: 'held', amount: -rest, reason: 'release' },
      { account: run.buyer, bucket: 'available', amount: rest, reason: 'release' },
    );
  }
  return {
    idempotencyKey: `settlement:${s.executionId}:${s.revision}`,
    kind: 'settlement',
    executionId: s.executionId,
    revision: s.revision,
    listingId: s.listingId,
    postings,
  };
}
