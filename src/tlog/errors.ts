import { VerityError } from '../errors.js';

export type LogErrorCode = 'out_of_range' | 'corrupt';

export class LogError extends VerityError<LogErrorCode> {}
