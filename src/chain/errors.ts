import { VerityError } from '../errors.js';

export type ChainErrorCode =
  | 'compile_failed'
  | 'unknown_contract'
  | 'invalid_value'
  | 'not_payable'
  | 'order_mismatch'
  | 'invalid_key'
  /** A settlement statement the coordinator's key did not sign, or that is no settlement statement. */
  | 'untrusted_statement'
  /** A node refused or reverted a transaction or call; `context.errorName` is the contract's custom error. */
  | 'reverted'
  /** The node could not be reached or answered something that is not JSON-RPC. */
  | 'rpc_failed'
  /** Addresses that hold no Verity contract (a deploy on another chain, a typo). */
  | 'not_deployed'
  /** A transaction whose logs are not one escrow settlement paid in one token (src/chain/payment-logs.ts). */
  | 'payment_mismatch';

/**
 * On-chain settlement: a contract that does not compile or is asked for by a wrong name, a value with no
 * on-chain form, a settlement the escrow cannot pay (a failed run, money not in escrow), an order for another listing,
 * an unreadable key file, a transaction the contract refused, a node that cannot be reached.
 */
export class ChainError extends VerityError<ChainErrorCode> {}
