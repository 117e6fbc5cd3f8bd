import { VerityError } from '../errors.js';

export type AttestErrorCode =
  'invalid_key' | 'invalid_envelope' | 'invalid_statement' | 'invalid_proof' | 'invalid_note';

/** Malformed attestation material: a key, an envelope, a statement, a proof, a note. */
export class AttestError extends VerityError<AttestErrorCode> {}
