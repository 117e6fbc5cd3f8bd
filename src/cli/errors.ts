import { VerityError } from '../errors.js';

export type CliErrorCode = 'usage' | 'failed';

/** A CLI failure with the exit code it maps to: 2 for bad usage or invalid input, 1 for everything else. */
export class CliError extends VerityError<CliErrorCode> {
  get exitCode(): number {
    return this.code === 'usage' ? 2 : 1;
  }
}

export const EXIT = { completed: 0, failed: 1, usage: 2, interrupted: 130 } as const;
