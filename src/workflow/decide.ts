import { describeError } from '../errors.js';
import { ExpressionError } from '../expressions/evaluator.js';
import type { ExpressionEvaluator } from '../expressions/evaluator.js';
import { conditionLocally, evaluateCondition, inputLocally, resolveInput } from './context.js';
import type { EvaluationContext } from './context.js';
import type { StepPlan } from './plan.js';

/**
 * What becomes of a step once its dependencies are done: it is skipped (its condition is false, or, without
 * one, an upstream step was skipped), it runs on the input its mappings give, or it fails because an
 * expression failed. The engine decides with these functions and the verifier replays them.
 */
export type StepDecision =
  | { kind: 'skip'; reason: string }
  | { kind: 'run'; input: unknown }
  | { kind: 'fail'; error: { code: 'condition_failed' | 'input_mapping_failed'; message: string; retryable: false } };

/** The decision when every expression it needs is a plain path; undefined when one must be evaluated. */
export function decideLocally(step: StepPlan, context: EvaluationContext): StepDecision | undefined {
  const holds = conditionLocally(step, context);
  if (holds === undefined) return undefined;
  const skip = skipOf(step, context, holds);
  if (skip) return skip;
  const local = inputLocally(step, context);
  return local && { kind: 'run', input: local.input };
}

/**
 * The decision, evaluating what must be evaluated with the evaluator (a sandbox). Never throws for what the
 * expressions do; throws when the sandbox itself could not take them (busy, closed), so that the decision
 * is made later rather than failed.
 */
export async function decide(
  step: StepPlan,
  context: EvaluationContext,
  evaluator: ExpressionEvaluator,
): Promise<StepDecision> {
  let holds: boolean;
  try {
    holds = await evaluateCondition(step, context, evaluator);
  } catch (error) {
    if (sandboxFailure(error)) throw error;
    return {
      kind: 'fail',
      error: {
        code: 'condition_failed',
        message: `its when condition failed: ${describeError(error)}`,
        retryable: false,
      },
    };
  }
  const skip = skipOf(step, context, holds);
  if (skip) return skip;
  try {
    return { kind: 'run', input: await resolveInput(step, context, evaluator) };
  } catch (error) {
    if (sandboxFailure(error)) throw error;
    return {
      kind: 'fail',
      error: {
        code: 'input_mapping_failed',
        message: `its input mappings failed: ${describeError(error)}`,
        retryable: false,
      },
    };
  }
}

/** A condition decides on its own; without one, a skipped upstream step skips this one too. */
function skipOf(step: StepPlan, context: EvaluationContext, holds: boolean): StepDecision | undefined {
  if (step.when !== undefined) return holds ? undefined : { kind: 'skip', reason: 'its when condition is false' };
  const skipped = step.deps.find((d) => context.steps[d]?.status === 'skipped');
  return skipped === undefined ? undefined : { kind: 'skip', reason: `upstream step ${skipped} was skipped` };
}

function sandboxFailure(error: unknown): boolean {
  return error instanceof ExpressionError && (error.code === 'busy' || error.code === 'unavailable');
}
