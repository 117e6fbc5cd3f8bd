import { VerityError } from '../errors.js';

export type BlobErrorCode =
  'invalid_ref' | 'not_found' | 'too_large' | 'corrupt' | 'forbidden' | 'unavailable' | 'invalid_config';

/** A blob that cannot be named, found, stored or trusted. */
export class BlobError extends VerityError<BlobErrorCode> {}
