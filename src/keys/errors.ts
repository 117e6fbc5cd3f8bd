import { VerityError } from '../errors.js';

export type KeyStoreErrorCode = 'unreadable' | 'wrong_type' | 'insecure_permissions';

export class KeyStoreError extends VerityError<KeyStoreErrorCode> {}
