import { VerityError } from '../errors.js';

/**
 * `invalid_listing`: a listing the market would never hold (a field out of range, terms the money rules
 * refuse, a free listing on a workflow without a finite budget); `context.field` names the field as the
 * request spells it (`pricing.markup_bps`), `context.in` where it was (`body`, default, or `query`).
 * `listing_not_found`: no listing with that id that the caller may see (another's private listing is not
 * found either: nobody learns that it exists), or may change.
 * `unknown_workflow`: no published workflow version by that id that the caller owns.
 * `listing_retired`: a retired listing is final; it cannot change any more.
 * `invalid_cursor`: a search cursor this server did not give out, or one for another sort.
 * `listing_unavailable`: a listing that cannot run now (paused, retired, its workflow gone, a server that
 * issues no receipts, terms that give no budget).
 * `subscription_required`: a subscription listing runs only for its subscribers.
 * `corrupt_settlement`: a stored settlement statement that does not decode: the store's fault, never the caller's.
 * `subscription_active`: the caller's subscription to this listing is still in its period (context.periodEnd);
 * there is no renewal or extension: subscribe again once it ends.
 * `over_quota`: the period's included runs are used up and the listing refuses runs past them.
 * `no_subscription`: the caller has no subscription to this listing in its period (to unsubscribe from).
 * `run_not_found`: no run of this listing by the caller with that execution id (another's is not found either).
 * `rating_forbidden`: the caller may see the listing but not rate it (its publisher, or a run that did not
 * settle completed).
 */
export type MarketErrorCode =
  | 'invalid_listing'
  | 'listing_not_found'
  | 'unknown_workflow'
  | 'listing_retired'
  | 'invalid_cursor'
  | 'listing_unavailable'
  | 'subscription_required'
  | 'corrupt_settlement'
  | 'subscription_active'
  | 'over_quota'
  | 'no_subscription'
  | 'run_not_found'
  | 'rating_forbidden';

export class MarketError extends VerityError<MarketErrorCode> {}

/** A refused field: `field` as the request names it, the message saying what to send instead. */
export function invalidField(field: string, message: string, where: 'body' | 'query' = 'body'): MarketError {
  return new MarketError('invalid_listing', message, { context: { field, in: where } });
}
