import { VerityError } from '../errors.js';

export type ChainErrorCode = 'compile_failed' | 'unknown_contract' | 'invalid_value' | 'not_payable' | 'order_mismatch';

/**
 * On-chain settlement: a contract that does not compile or is asked for by a wrong name, a value with no
 * on-chain form, a settlement the escrow cannot pay (a failed run, money not in escrow), an order for another listing.
 */
export class ChainError extends VerityError<ChainErrorCode> {}
