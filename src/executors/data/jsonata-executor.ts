import { describeError } from '../../errors.js';
import { evaluateStepExpression } from '../../workflow/context.js';
import type { Executor, ExecutorContext, ExecutorJob, ExecutorResult } from '../executor.js';
import { ExecutorError } from '../executor.js';
import { ExpressionError } from '../../expressions/evaluator.js';

/**
 * data_processing steps: the step's JSONata expression over its resolved input, in the worker's sandbox.
 * Deterministic, so a failure is the expression's or the data's and is not retried.
 */
export class JsonataExecutor implements Executor {
  readonly name = 'jsonata';
  readonly capabilities = { stepTypes: ['data_processing' as const], models: [] };

  async run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
    const source = job.spec.expression;
    if (source === undefined) {
      throw new ExecutorError('invalid_step', `step ${job.stepId} has no expression to evaluate`, { retryable: false });
    }
    if (!context.expressions) {
      throw new ExecutorError('invalid_step', 'this worker has no expression evaluator to run the step in', {
        retryable: false,
      });
    }
    try {
      // It may take up to the step's own deadline (the sandbox stops it there); the worker's evaluator caps it.
      return {
        output: await evaluateStepExpression(
          source,
          job.input,
          context.expressions,
          Math.max(1, job.deadlineAt - Date.now()),
        ),
      };
    } catch (error) {
      // The expression's own failure will not change on another attempt; a sandbox that was busy or closed might.
      const sandbox = error instanceof ExpressionError && (error.code === 'busy' || error.code === 'unavailable');
      throw new ExecutorError('expression_failed', `expression failed: ${describeError(error)}`, {
        retryable: sandbox,
        cause: error,
      });
    }
  }
}
