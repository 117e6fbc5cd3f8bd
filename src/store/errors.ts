import { VerityError } from '../errors.js';

/**
 * `conflict`: a write hit a unique key that another write already holds (idempotency keys, ids).
 * `corrupt`: a stored value is not one this store writes (a balance past the safe integers).
 */
export type StoreErrorCode =
  | 'unavailable'
  | 'schema_too_new'
  | 'migration_failed'
  | 'invalid_url'
  | 'busy'
  | 'conflict'
  | 'invalid_cursor'
  | 'corrupt';

export class StoreError extends VerityError<StoreErrorCode> {}
