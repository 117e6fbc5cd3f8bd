import { VerityError } from '../../errors.js';

export type ZkErrorCode =
  | 'invalid_config'
  | 'not_set_up'
  | 'artifacts_refused'
  | 'setup_failed'
  | 'compile_failed'
  | 'invalid_key'
  | 'invalid_signature'
  | 'unregistered_key'
  | 'not_provable'
  | 'witness_failed'
  | 'proving_failed'
  | 'invalid_proof';

/** Everything the zero-knowledge part raises: setup, keys, witnesses, proving. Verification reports, never throws. */
export class ZkError extends VerityError<ZkErrorCode> {}
