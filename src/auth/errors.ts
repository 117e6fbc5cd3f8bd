import { VerityError } from '../errors.js';

export type AuthErrorCode = 'invalid_role' | 'invalid_principal' | 'unknown_key';

export class AuthError extends VerityError<AuthErrorCode> {}
