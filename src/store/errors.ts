import { VerityError } from '../errors.js';

export type StoreErrorCode = 'unavailable' | 'schema_too_new' | 'migration_failed' | 'invalid_url' | 'busy';

export class StoreError extends VerityError<StoreErrorCode> {}
