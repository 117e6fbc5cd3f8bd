import { VerityError } from '../errors.js';

export type RegistryErrorCode = 'not_owner' | 'workflow_not_found';

export class RegistryError extends VerityError<RegistryErrorCode> {}
