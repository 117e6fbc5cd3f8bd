import { VerityError } from '../errors.js';

/**
 * `invalid_transaction`: a transaction the ledger would never write (an amount that is not a non-zero safe
 * integer, an unknown kind, bucket or account, fewer than two postings, a balance past the safe integers).
 * `unbalanced_transaction`: its postings do not sum to zero.
 * `insufficient_funds`: posting it would leave an account short; the context says which and how much.
 * `idempotency_conflict`: its idempotency key names a transaction already posted with other content.
 */
export type LedgerErrorCode =
  'invalid_transaction' | 'unbalanced_transaction' | 'insufficient_funds' | 'idempotency_conflict';

export class LedgerError extends VerityError<LedgerErrorCode> {}
