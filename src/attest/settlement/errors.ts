import { VerityError } from '../../errors.js';

export type SettlementErrorCode =
  /** Frozen terms that are malformed or that no listing may have (the message names the field). */
  | 'invalid_terms'
  /** An amount, a cost or a posting that is not a safe integer in range, or an input that contradicts the terms. */
  | 'invalid_amount'
  /** A subscription run past its quota on a listing that refuses those. */
  | 'over_quota'
  /** A fixed price above the most the buyer said it would pay. */
  | 'above_buyer_max_price'
  /** No finite compute budget can be derived (0 means "no limit" to the engine: never for a listing's run). */
  | 'no_budget'
  /** Postings that do not sum to zero: a bug here or a tampered input, never something to post. */
  | 'unbalanced';

/**
 * Everything the marketplace's money arithmetic raises. It lives in the verifier's leaf because
 * `verity verify` recomputes every settlement amount with the same code, so the market and the verifier
 * cannot disagree about a floor or a cap.
 */
export class SettlementError extends VerityError<SettlementErrorCode> {}
