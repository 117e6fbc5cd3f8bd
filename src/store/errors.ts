import { VerityError } from '../errors.js';

/** `conflict`: a write hit a unique key that another write already holds (idempotency keys, ids). */
export type StoreErrorCode =
  'unavailable' | 'schema_too_new' | 'migration_failed' | 'invalid_url' | 'busy' | 'conflict' | 'invalid_cursor';

export class StoreError extends VerityError<StoreErrorCode> {}
