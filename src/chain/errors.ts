import { VerityError } from '../errors.js';

export type ChainErrorCode = 'compile_failed' | 'unknown_contract' | 'invalid_value';

/** On-chain settlement: a contract that does not compile, a contract asked for by a wrong name, a value that has no on-chain form. */
export class ChainError extends VerityError<ChainErrorCode> {}
