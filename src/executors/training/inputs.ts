import { ExecutorError } from '../executor.js';

/** Input checks shared by training and classification: every failure names the field and is final. */

export function invalidInput(field: string, message: string): ExecutorError {
  return new ExecutorError('invalid_input', `verity/naive-bayes: input field ${field} ${message}`, {
    retryable: false,
    context: { field },
  });
}

export function inputObject(input: unknown): Record<string, unknown> {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw invalidInput('(input)', 'must be an object');
  return input as Record<string, unknown>;
}

export function optionalNumber(
  params: Record<string, unknown>,
  field: string,
  fallback: number,
  check: { min: number; max: number; integer?: boolean; exclusiveMin?: boolean },
): number {
  const value = params[field];
  if (value === undefined) return fallback;
  const lowOk = check.exclusiveMin ? (value as number) > check.min : (value as number) >= check.min;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (check.integer && !Number.isInteger(value)) ||
    !lowOk ||
    value > check.max
  ) {
    const kind = check.integer ? 'an integer' : 'a number';
    throw invalidInput(
      field,
      `must be ${kind} ${check.exclusiveMin ? 'above' : 'from'} ${check.min} ${check.exclusiveMin ? 'and at most' : 'to'} ${check.max}`,
    );
  }
  return value;
}
