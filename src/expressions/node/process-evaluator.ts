import { availableParallelism } from 'node:os';
import { ChildPool } from '../../sandbox/child-pool.js';
import { DEFAULT_EXPRESSION_LIMITS, failAll } from '../evaluator.js';
import type { EvaluateOptions, EvaluationResult, ExpressionEvaluator, ExpressionLimits } from '../evaluator.js';
import type { ExpressionRequest } from './expression-child.js';

export interface ProcessEvaluatorOptions extends ExpressionLimits {
  /** Child processes at most. Default: min(2, cores). */
  processes: number;
  /** Requests that may wait for a process; more fail as `busy`. Default: 10,000. */
  maxQueue: number;
}

/**
 * Evaluates expressions in child processes that are killed when a request overruns its time, and that die
 * alone when one runs out of memory (see src/sandbox/child-pool.ts for why not threads). Processes start on
 * first use, so a node that never evaluates an expression never pays for them.
 */
export class ProcessEvaluator implements ExpressionEvaluator {
  readonly limits: ExpressionLimits;
  private readonly pool: ChildPool<ExpressionRequest, EvaluationResult[]>;

  constructor(options: Partial<ProcessEvaluatorOptions> & { name?: string } = {}) {
    this.limits = { ...DEFAULT_EXPRESSION_LIMITS, ...options };
    const script = new URL(`./expression-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    this.pool = new ChildPool({
      name: options.name ?? 'expression evaluator',
      script,
      processes: options.processes ?? Math.max(1, Math.min(2, availableParallelism())),
      memoryMb: this.limits.memoryMb,
      maxQueue: options.maxQueue ?? 10_000,
    });
  }

  async evaluate(
    sources: readonly string[],
    input: unknown,
    options: EvaluateOptions = {},
  ): Promise<EvaluationResult[]> {
    if (sources.length === 0) return [];
    const timeoutMs = Math.min(options.timeoutMs ?? this.limits.timeoutMs, this.limits.maxTimeoutMs);
    // JSONata's own check fires first and names the node; the kill, a little later, covers native built-ins.
    const limits = { timeoutMs, maxDepth: this.limits.maxDepth, maxResultBytes: this.limits.maxResultBytes };
    const outcome = await this.pool.run({ sources, input, limits }, timeoutMs + 250);
    if (outcome.ok) return outcome.reply;
    const code =
      outcome.reason === 'timeout'
        ? 'timeout'
        : outcome.reason === 'memory'
          ? 'memory'
          : outcome.reason === 'busy'
            ? 'busy'
            : 'unavailable';
    const message =
      outcome.reason === 'timeout'
        ? `the expression ran longer than its ${timeoutMs} ms and was stopped`
        : outcome.reason === 'memory'
          ? `the expression ran out of memory (${this.limits.memoryMb} MiB) and was stopped`
          : outcome.message;
    return failAll(sources.length, { code, message });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
