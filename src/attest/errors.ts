import { VerityError } from '../errors.js';

export type AttestErrorCode = 'invalid_key' | 'invalid_envelope' | 'invalid_statement' | 'invalid_proof' | 'invalid_note' | 'invalid_bundle';

/** Malformed attestation material: a key, an envelope, a statement, a proof, a note, a bundle. */
export class AttestError extends VerityError<AttestErrorCode> {}
