import { describeError } from '../../errors.js';
import { evaluateStepExpression } from '../../workflow/context.js';
import type { Executor, ExecutorJob, ExecutorResult } from '../executor.js';
import { ExecutorError } from '../executor.js';

/**
 * data_processing steps: the step's JSONata expression over its resolved input. Deterministic, so a
 * failure is the expression's or the data's and is not retried.
 */
export class JsonataExecutor implements Executor {
  readonly name = 'jsonata';
  readonly capabilities = { stepTypes: ['data_processing' as const], models: [] };

  async run(job: ExecutorJob): Promise<ExecutorResult> {
    const source = job.spec.expression;
    if (source === undefined) {
      throw new ExecutorError('invalid_step', `step ${job.stepId} has no expression to evaluate`, { retryable: false });
    }
    try {
      return { output: await evaluateStepExpression(source, job.input) };
    } catch (error) {
      throw new ExecutorError('expression_failed', `expression failed: ${describeError(error)}`, { retryable: false, cause: error });
    }
  }
}
