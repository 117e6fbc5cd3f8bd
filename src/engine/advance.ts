import { jsonDigest } from '../attest/digest.js';
import { describeError } from '../errors.js';
import type { ErrorInfo, JobSpec } from '../store/records.js';
import { fitsBudget } from './budget.js';
import { evaluateCondition, evaluationContext, resolveInput } from '../workflow/context.js';
import type { StepView } from '../workflow/context.js';
import { completeExecution, endExecution } from './finish.js';
import type { StepPlan } from '../workflow/plan.js';
import type { Transition } from './transition.js';

const DONE = new Set(['completed', 'skipped']);
/** A step with a job queued or running. */
export const ACTIVE = new Set(['queued', 'running']);

/**
 * Moves an execution forward from its stored state: decides every pending step whose dependencies are
 * done (run, or skip by its condition or its skipped upstream), dispatches ready steps within the
 * execution's concurrency and budget, and completes the execution when every step is done. It reads
 * only stored state, so running it again changes nothing: recovery is just calling it.
 */
export async function advance(t: Transition): Promise<void> {
  if (t.execution.status !== 'running') return;
  const steps = await t.statuses();
  const views = new Map<string, StepView>();
  const contextFor = async (step: StepPlan) => {
    await loadViews(t, step.reads, views);
    return evaluationContext(t.execution.inputs, step.reads, views);
  };

  const ready: StepPlan[] = [];
  // Topological order, so a skip is seen by the steps below it in this same pass.
  for (const id of t.plan.order) {
    if (steps.get(id) !== 'pending') continue;
    const plan = t.plan.step(id);
    if (!plan.deps.every((d) => DONE.has(steps.get(d)!))) continue;
    if (plan.when) {
      let run: boolean;
      try {
        run = await evaluateCondition(plan.when, await contextFor(plan));
      } catch (error) {
        await failStep(t, id, {
          code: 'condition_failed',
          message: `its when condition failed: ${describeError(error)}`,
          retryable: false,
        });
        return;
      }
      if (!run) {
        await skipStep(t, id, 'its when condition is false');
        continue;
      }
    } else {
      const skipped = plan.deps.find((d) => steps.get(d) === 'skipped');
      if (skipped !== undefined) {
        await skipStep(t, id, `upstream step ${skipped} was skipped`);
        continue;
      }
    }
    ready.push(plan);
  }

  let active = [...steps.values()].filter((s) => ACTIVE.has(s)).length;
  for (const plan of ready) {
    if (active >= t.plan.definition.concurrency) break;
    if (!fitsBudget(t.execution, stepReservation(plan.definition))) {
      // Running steps may settle below their estimates and free budget; with none running, nothing will.
      if (active > 0) break;
      await endExecution(t, 'budget_exceeded', budgetError(t, plan));
      return;
    }
    let input: unknown;
    try {
      input = await resolveInput(plan, await contextFor(plan));
    } catch (error) {
      await failStep(t, plan.definition.id, {
        code: 'input_mapping_failed',
        message: `its input mappings failed: ${describeError(error)}`,
        retryable: false,
      });
      return;
    }
    await dispatchStep(t, plan.definition.id, input, 0);
    active++;
  }

  const all = [...steps];
  if (all.every(([, status]) => DONE.has(status))) {
    await completeExecution(t);
  } else if (active === 0 && ready.length === 0) {
    // Nothing runs and nothing can start: only a bug or a hand-edited database gets here. End loudly
    // rather than leave the execution hanging until its deadline.
    await endExecution(t, 'failed', {
      code: 'stalled',
      message: `no step can run: ${all.filter(([, status]) => !DONE.has(status)).map(([id, status]) => `${id}=${status}`).join(', ')}`,
    });
  }
}

/** Queues a job for the step's next attempt, reserving its estimated cost. */
export async function dispatchStep(t: Transition, stepId: string, input: unknown, delayMs: number): Promise<void> {
  const plan = t.plan.step(stepId);
  const step = await t.step(stepId);
  const definition = plan.definition;
  const spec: JobSpec = { workflowDigest: t.plan.digest, stepType: definition.step_type };
  if (definition.model_requirements) spec.model = { ...definition.model_requirements };
  if (definition.expression !== undefined) spec.expression = definition.expression;
  if (definition.output_mappings) spec.outputMappings = { ...definition.output_mappings };
  if (definition.requires_proof) spec.requiresProof = true;
  if ((t.execution.verificationLevel ?? t.plan.definition.verification_level) === 'zk') spec.zkLeaf = true;
  const inputDigest = jsonDigest(input);
  const attempt = step.attempts + 1;
  // A redundant step runs as k jobs of the same attempt (replicas), which the claim sends to k distinct workers.
  const replicas = definition.redundancy?.replicas;
  let first: string | undefined;
  for (let replica = 0; replica < (replicas ?? 1); replica++) {
    const job = await t.coordinator.enqueue(
      t.tx,
      {
        executionId: t.id,
        stepId,
        attempt,
        stepType: definition.step_type,
        spec,
        input,
        inputDigest,
        reserved: definition.estimated_cost,
        timeoutMs: definition.timeout_seconds * 1000,
        availableAt: t.now + delayMs,
        ...(replicas !== undefined && { replica }),
      },
      t.actor,
    );
    first ??= job.id;
  }
  await t.updateStep(stepId, { status: 'queued', attempts: attempt, currentJobId: first!, inputDigest, queuedAt: t.now });
  t.setExecution({ reserved: t.execution.reserved + stepReservation(definition) });
}

/** What a step reserves from the budget per attempt: its estimate, once per replica. */
export function stepReservation(definition: { estimated_cost: number; redundancy?: { replicas: number } }): number {
  return definition.estimated_cost * (definition.redundancy?.replicas ?? 1);
}

export async function skipStep(t: Transition, stepId: string, reason: string): Promise<void> {
  await t.updateStep(stepId, { status: 'skipped', skipReason: reason, finishedAt: t.now });
  t.event('step.skipped', { stepId, data: { reason } });
}

/** The step has failed for good: record it and fail the execution. */
export async function failStep(t: Transition, stepId: string, error: ErrorInfo): Promise<void> {
  const step = await t.step(stepId);
  await t.updateStep(stepId, { status: 'failed', error, finishedAt: t.now });
  t.event('step.failed', { stepId, ...(step.currentJobId && { jobId: step.currentJobId }), attempt: step.attempts, data: { error } });
  const attempts = step.attempts - step.roundStart;
  const after = attempts > 1 ? ` after ${attempts} attempts` : '';
  await endExecution(t, 'failed', { ...error, stepId, message: `step "${stepId}" failed${after}: ${error.message}` });
}

async function loadViews(t: Transition, ids: readonly string[], views: Map<string, StepView>): Promise<void> {
  const steps = await t.statuses();
  const missing = ids.filter((id) => !views.has(id));
  const completed = missing.filter((id) => steps.get(id) === 'completed');
  const results = await t.tx.getStepResults(t.id, completed);
  const outputs = new Map(await Promise.all(results.map(async (r) => [r.stepId, await t.coordinator.outputOf(r)] as const)));
  for (const id of missing) {
    const status = steps.get(id);
    if (status === undefined) continue;
    views.set(id, outputs.has(id) ? { status, output: outputs.get(id) } : { status });
  }
}

function budgetError(t: Transition, plan: StepPlan): ErrorInfo {
  const e = t.execution;
  return {
    code: 'budget_exceeded',
    stepId: plan.definition.id,
    message: `step "${plan.definition.id}" needs ${stepReservation(plan.definition)} but only ${e.budget - e.spent - e.reserved} of the budget ${e.budget} is left (spent ${e.spent}); retry with a larger budget`,
  };
}
