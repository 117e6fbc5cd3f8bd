import { z } from 'zod';
import { envelopePayload } from '../attest/dsse.js';
import { settlementPredicateSchema } from '../attest/settlement/statement.js';
import type { SettlementPredicate } from '../attest/settlement/statement.js';
import type { MarketSettlementRecord } from '../store/records.js';
import { MarketError } from './errors.js';

/**
 * A settlement statement as the API shows it: decoded from the signed envelope the store keeps (the
 * statement is the truth; nothing is read from ledger rows), in the marketplace's snake_case.
 *
 * Who sees what. The buyer (and an admin) sees everything, the envelope too, so it can verify the charge
 * offline. A payee (the publisher, a worker) sees the statements that paid it, but not the buyer's side:
 * its own postings, the execution id and revision as references (the execution itself stays a 404 to it),
 * the listing, the outcome and the log index; the publisher also sees C, P and F, which make up its part
 * P − F − C. Neither sees the buyer's name, the other payees' lines or the envelope (which names them all).
 */
export type SettlementAudience = { kind: 'full' } | { kind: 'payee'; account: string };

const statementEnvelope = z.object({ predicate: settlementPredicateSchema });

/** The predicate of a stored statement, checked as untrusted input (a row could be corrupt). */
export function decodeSettlement(record: MarketSettlementRecord): SettlementPredicate {
  try {
    const json = JSON.parse(new TextDecoder().decode(envelopePayload(record.envelope))) as unknown;
    return statementEnvelope.parse(json).predicate;
  } catch (cause) {
    throw new MarketError(
      'corrupt_settlement',
      `the stored settlement of execution ${record.executionId} revision ${record.revision} does not decode; check the store`,
      { cause },
    );
  }
}

export function settlementView(record: MarketSettlementRecord, audience: SettlementAudience) {
  const p = decodeSettlement(record);
  const lines = (list: SettlementPredicate['postings']) =>
    list.map(({ account, amount, why }) => ({ account, amount, why }));
  const common = {
    execution_id: p.executionId,
    revision: p.revision,
    listing_id: p.listingId,
    outcome: p.outcome,
    settled_at: p.settledAt,
    log_index: record.logIndex,
  };
  if (audience.kind === 'full') {
    return {
      ...common,
      buyer: p.buyer,
      publisher: p.publisher,
      verification_level: p.verificationLevel,
      compute_cost: p.computeCost,
      price: p.price,
      fee: p.fee,
      postings: lines(p.postings),
      total: lines(p.total),
      envelope: record.envelope,
    };
  }
  const own = lines(p.postings.filter((x) => x.account === audience.account));
  if (p.publisher === audience.account) {
    return {
      ...common,
      publisher: p.publisher,
      compute_cost: p.computeCost,
      price: p.price,
      fee: p.fee,
      postings: own,
    };
  }
  return { ...common, postings: own };
}
