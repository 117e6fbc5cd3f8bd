import { VerityError } from '../errors.js';

export type CoordinatorErrorCode = 'unknown_worker' | 'unknown_job' | 'not_assigned' | 'stale_attempt' | 'worker_stopped' | 'invalid_key' | 'no_blob_store';

export class CoordinatorError extends VerityError<CoordinatorErrorCode> {}
