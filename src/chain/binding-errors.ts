import { VerityError } from '../errors.js';

export type BindingErrorCode =
  /** A deployment record that cannot be read, is not JSON, or lacks a field (the message names the file). */
  | 'invalid_record'
  /** A chain id this server has no deployment record for, or whose record names another attestor. */
  | 'unknown_chain'
  /** An account signature that does not recover to the address it claims to bind. */
  | 'bad_signature'
  /** Concurrent writers kept replacing the binding: the caller may retry. */
  | 'contended';

/**
 * Binding keys and names: the deployment records a data directory holds, the coordinator's attestor-binding
 * statement, and the address a principal binds to its ledger account on one chain.
 */
export class BindingError extends VerityError<BindingErrorCode> {}
