/**
 * The root of every error Verity raises on purpose. Each part of the system has its own subclass with a
 * closed set of literal codes, so callers can branch on `code` and people get a message that says what to
 * do next. `context` carries the ids that locate the problem (execution, step, job, path).
 */
export class VerityError<C extends string = string> extends Error {
  readonly code: C;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: C, message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.context = options.context ?? {};
    this.name = new.target.name;
  }
}

/** A readable message for anything thrown, including non-Error values thrown by libraries. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message);
  return String(error);
}
