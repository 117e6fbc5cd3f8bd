import { VerityError } from '../errors.js';

/**
 * Where user expressions (JSONata in workflow definitions) are evaluated. A definition is a publisher's
 * code and a bundle's definition a stranger's, so no expression ever runs where it could take the process
 * down or stall it: a Node process evaluates in child processes it can kill (node/process-evaluator.ts), a
 * browser in Web Workers it can terminate (browser/web-worker-evaluator.ts). Everything that evaluates
 * (the engine, a worker, the verifier) takes an evaluator rather than calling JSONata itself.
 */
export interface ExpressionEvaluator {
  /**
   * Evaluates each source over the same input, in one round trip. Never rejects for what the
   * expressions do: each result says what its expression gave (plain JSON; `undefined` for no match) or
   * how it failed. A request stopped for time or memory fails every expression of the request.
   */
  evaluate(sources: readonly string[], input: unknown, options?: EvaluateOptions): Promise<EvaluationResult[]>;
  /** Stops whatever this evaluator started (processes, workers). Safe to call twice. */
  close(): Promise<void>;
}

export interface EvaluateOptions {
  /** Wall time for the whole request. Default: the evaluator's own `timeoutMs`; never more than its `maxTimeoutMs`. */
  timeoutMs?: number;
}

export type EvaluationResult = { ok: true; value: unknown } | { ok: false; error: EvaluationFailure };

export interface EvaluationFailure {
  code: ExpressionErrorCode;
  message: string;
  /** For a JSONata error: its own code (`T2001`, `D3050`, …) and the character it points at. */
  jsonataCode?: string;
  position?: number;
}

export type ExpressionErrorCode =
  /** The expression does not parse. */
  | 'syntax'
  /** It parsed, and failed on this input (a type error, an undefined function, a thrown $error). */
  | 'evaluation'
  /** It ran out of its wall time. */
  | 'timeout'
  /** It ran out of memory, or its result is larger than the evaluator allows. */
  | 'memory'
  | 'too_large'
  /** The evaluator is closed, or too many requests are waiting. */
  | 'unavailable'
  | 'busy';

export interface ExpressionLimits {
  /** Wall time of one request when the caller names none. Default: 1,000 ms. */
  timeoutMs: number;
  /** The most a caller may ask for. Default: 60,000 ms. */
  maxTimeoutMs: number;
  /** The heap of an evaluating process. Default: 256 MiB. */
  memoryMb: number;
  /** The largest result, as JSON text. Default: 16 MiB. */
  maxResultBytes: number;
  /** JSONata's own recursion guard. Default: 500. */
  maxDepth: number;
}

export const DEFAULT_EXPRESSION_LIMITS: ExpressionLimits = {
  timeoutMs: 1_000,
  maxTimeoutMs: 60_000,
  memoryMb: 256,
  maxResultBytes: 16 * 1024 * 1024,
  maxDepth: 500,
};

/** An expression failure as an error, for callers that throw: the engine's step errors, a worker's step failure. */
export class ExpressionError extends VerityError<ExpressionErrorCode> {
  readonly failure: EvaluationFailure;

  constructor(failure: EvaluationFailure, options: { context?: Record<string, unknown> } = {}) {
    super(failure.code, failure.message, options);
    this.failure = failure;
  }
}

/** The value of a result, or its failure thrown as an ExpressionError. */
export function valueOf(result: EvaluationResult): unknown {
  if (!result.ok) throw new ExpressionError(result.error);
  return result.value;
}

/** The same failure for every expression of a request (it was stopped, or never ran). */
export function failAll(count: number, error: EvaluationFailure): EvaluationResult[] {
  return Array.from({ length: count }, () => ({ ok: false as const, error }));
}
