import { VerityError } from '../errors.js';

export type CoordinatorErrorCode =
  | 'unknown_worker'
  | 'worker_stopped'
  | 'invalid_key'
  // A registration past a per-principal cap (src/coordinator/registration-caps.ts): a 429 over HTTP.
  | 'quota_exceeded';

export class CoordinatorError extends VerityError<CoordinatorErrorCode> {}
