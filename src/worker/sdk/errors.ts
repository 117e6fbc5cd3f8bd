import { VerityError } from '../../errors.js';

export type WorkerSdkErrorCode = 'usage' | 'module';

/** A worker that cannot start as asked: a missing option, executors that clash, a module that exports none. */
export class WorkerSdkError extends VerityError<WorkerSdkErrorCode> {}
