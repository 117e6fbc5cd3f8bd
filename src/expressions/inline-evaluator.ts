import { evaluateSources } from './evaluate.js';
import { DEFAULT_EXPRESSION_LIMITS, failAll } from './evaluator.js';
import type { EvaluateOptions, EvaluationResult, ExpressionEvaluator, ExpressionLimits } from './evaluator.js';

/**
 * Evaluates in the calling thread. Only for expressions the caller trusts as much as its own code (a
 * definition it wrote, in a test or a local run): JSONata's time limit is checked between nodes, so a
 * native built-in (a huge `$pad`, a catastrophic regex) runs to its end, and memory is the process's own.
 * Anything from someone else goes to a sandbox instead.
 */
export class InlineEvaluator implements ExpressionEvaluator {
  private readonly limits: ExpressionLimits;
  private closed = false;

  constructor(limits: Partial<ExpressionLimits> = {}) {
    this.limits = { ...DEFAULT_EXPRESSION_LIMITS, ...limits };
  }

  evaluate(sources: readonly string[], input: unknown, options: EvaluateOptions = {}): Promise<EvaluationResult[]> {
    if (this.closed)
      return Promise.resolve(
        failAll(sources.length, { code: 'unavailable', message: 'the expression evaluator is closed' }),
      );
    const timeoutMs = Math.min(options.timeoutMs ?? this.limits.timeoutMs, this.limits.maxTimeoutMs);
    return evaluateSources(sources, input, {
      timeoutMs,
      maxDepth: this.limits.maxDepth,
      maxResultBytes: this.limits.maxResultBytes,
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
