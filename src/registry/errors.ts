import { VerityError } from '../errors.js';

export type RegistryErrorCode = 'not_owner';

export class RegistryError extends VerityError<RegistryErrorCode> {}
