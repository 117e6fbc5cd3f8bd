import { VerityError } from '../errors.js';

export type EngineErrorCode =
  'execution_not_found' | 'ambiguous_id' | 'workflow_not_found' | 'invalid_state' | 'invalid_inputs' | 'zk_unavailable';

export class EngineError extends VerityError<EngineErrorCode> {}
