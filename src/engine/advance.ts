import { jsonDigest } from '../attest/digest.js';
import { BlobError } from '../blobs/errors.js';
import type { ErrorInfo, JobRecord, JobSpec } from '../store/records.js';
import { evaluationContext } from '../workflow/context.js';
import type { StepView } from '../workflow/context.js';
import { loadViews } from './step-views.js';
import { decideLocally } from '../workflow/decide.js';
import type { StepDecision } from '../workflow/decide.js';
import { fitsBudget, stepReservation } from './budget.js';
import { completeExecution, endExecution } from './finish.js';
import type { Transition } from './transition.js';
import { DONE } from './transition.js';

export interface AdvanceFrom {
  /**
   * The steps this transaction made done: only their dependents can have become decidable. Absent: look
   * at every step (a start, a retry, recovery).
   */
  done?: readonly string[];
  /** Decisions made outside the transaction (their expressions ran in the sandbox), to apply if still due. */
  decided?: ReadonlyMap<string, StepDecision>;
  /** The execution's result, computed outside the transaction. */
  result?: { value: unknown } | { error: ErrorInfo };
}

/**
 * Moves an execution forward: decides the steps whose dependencies are done (skip, run, or fail on an
 * expression), dispatches the steps decided to run within the execution's concurrency and budget, and
 * completes the execution when every step is done.
 *
 * Decisions whose expressions are plain paths are made here, in the transaction; any other expression is
 * left for the engine to evaluate in its sandbox after commit (`t.deferred`), and applied by a later
 * transaction, so no publisher's expression ever runs while this one holds the execution. Each decision is
 * made once: a step decided to run keeps its input while it waits (status `ready`). Work is incremental: a
 * step's end looks only at its dependents, and the counters on the execution say the rest.
 */
export async function advance(t: Transition, from: AdvanceFrom = {}): Promise<void> {
  if (t.execution.status !== 'running') return;
  const full = from.done === undefined;
  const worklist = full ? await t.tx.listDecidableSteps(t.id) : await release(t, from.done!);
  if (from.decided) {
    // Still pending and decidable (another transaction may have decided it meanwhile)?
    const progress = await t.tx.getStepStatuses(t.id, [...from.decided.keys()]);
    for (const p of progress)
      if (p.status === 'pending' && p.pendingDeps === 0 && !worklist.includes(p.stepId)) worklist.push(p.stepId);
  }

  const views = new Map<string, StepView>();
  const runnable: { stepId: string; input: unknown }[] = [];
  for (let i = 0; i < worklist.length; i++) {
    const stepId = worklist[i]!;
    const plan = t.plan.step(stepId);
    let decision = from.decided?.get(stepId);
    if (!decision) {
      try {
        await loadViews(t, plan.reads, views);
      } catch (error) {
        // An output this transaction cannot read (its blob gone or damaged) must not refuse the report that
        // made the step decidable, blaming an innocent step: the decision moves out of the transaction,
        // where a failure that keeps coming back ends the execution with advance_failed (Engine).
        if (!(error instanceof BlobError)) throw error;
        t.deferred.add(stepId);
        continue;
      }
      decision = decideLocally(plan, evaluationContext(t.execution.inputs, plan.reads, views));
    }
    if (!decision) {
      t.deferred.add(stepId);
      continue;
    }
    if (decision.kind === 'fail') {
      await failStep(t, stepId, decision.error);
      return;
    }
    if (decision.kind === 'skip') {
      await skipStep(t, stepId, decision.reason);
      // Its dependents may be decidable now; a skip travels down in this same pass.
      worklist.push(...(await release(t, [stepId])));
      continue;
    }
    runnable.push({ stepId, input: decision.input });
  }

  if (!(await dispatchReady(t, runnable))) return;

  const e = t.execution;
  if (e.stepsDone === e.stepsTotal) {
    await completeExecution(t, from.result);
  } else if (full && e.stepsActive === 0 && e.stepsReady === 0 && t.deferred.size === 0) {
    // Nothing runs, nothing waits, nothing is being decided: only a bug or a hand-edited database gets
    // here. End loudly rather than leave the execution hanging until its deadline.
    const open = [...(await t.statuses())].filter(([, status]) => !DONE.has(status));
    await endExecution(t, 'failed', {
      code: 'stalled',
      message: `no step can run: ${open.map(([id, status]) => `${id}=${status}`).join(', ')}`,
    });
  }
}

/**
 * Dispatches what waits, oldest decision first, then what this transaction decided, while the execution
 * has slots and budget; the rest waits as `ready`, with its input. False when the execution ended.
 */
async function dispatchReady(t: Transition, fresh: readonly { stepId: string; input: unknown }[]): Promise<boolean> {
  const concurrency = t.plan.definition.concurrency;
  const free = () => concurrency - t.execution.stepsActive;
  const queue: { stepId: string; input: unknown; waited: boolean }[] = [];
  if (free() > 0 && t.execution.stepsReady > 0) {
    for (const ready of await t.tx.listReadySteps(t.id, Math.min(free(), t.execution.stepsReady)))
      queue.push({ ...ready, waited: true });
  }
  queue.push(...fresh.map((f) => ({ ...f, waited: false })));
  let i = 0;
  for (; i < queue.length && free() > 0; i++) {
    const { stepId, input, waited } = queue[i]!;
    if (!fitsBudget(t.execution, stepReservation(t.plan.step(stepId).definition))) {
      // Running steps may settle below their estimates and free budget; with none running, nothing will.
      if (t.execution.stepsActive > 0) break;
      await endExecution(t, 'budget_exceeded', budgetError(t, stepId));
      return false;
    }
    if (waited) await t.tx.setReadyInput(t.id, stepId, undefined);
    await dispatchStep(t, stepId, input, 0);
  }
  for (const { stepId, input, waited } of queue.slice(i)) {
    if (waited) continue;
    await t.updateStep(stepId, { status: 'ready', queuedAt: t.now });
    await t.tx.setReadyInput(t.id, stepId, input);
  }
  return true;
}

/** One more dependency of each dependent of these steps is done; returns the dependents now decidable. */
async function release(t: Transition, done: readonly string[]): Promise<string[]> {
  const counts = new Map<string, number>();
  for (const id of done)
    for (const dependent of t.plan.step(id).dependents) counts.set(dependent, (counts.get(dependent) ?? 0) + 1);
  if (counts.size === 0) return [];
  const progress = await t.tx.releaseDependents(t.id, counts);
  t.remember(progress);
  const position = (id: string) => t.plan.step(id).position;
  return progress
    .filter((p) => p.pendingDeps === 0 && p.status === 'pending')
    .map((p) => p.stepId)
    .sort((a, b) => position(a) - position(b));
}

/** Queues a job for the step's next attempt (k jobs for k replicas), reserving its estimated cost. */
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
  let first: JobRecord | undefined;
  for (let replica = 0; replica < (replicas ?? 1); replica++) {
    const job = await t.jobs.enqueue(
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
    first ??= job;
  }
  // The queue may have handed the job straight to a worker slot (HandOff): the step is then running.
  const started = first!.status === 'running';
  await t.updateStep(stepId, {
    status: started ? 'running' : 'queued',
    attempts: attempt,
    currentJobId: first!.id,
    inputDigest,
    queuedAt: t.now,
    ...(started && step.startedAt === undefined && { startedAt: t.now }),
  });
  t.setExecution({ reserved: t.execution.reserved + stepReservation(definition) });
}

export async function skipStep(t: Transition, stepId: string, reason: string): Promise<void> {
  await t.updateStep(stepId, { status: 'skipped', skipReason: reason, finishedAt: t.now });
  t.event('step.skipped', { stepId, data: { reason } });
}

/** The step has failed for good: record it and fail the execution (or end it with `status`). */
export async function failStep(
  t: Transition,
  stepId: string,
  error: ErrorInfo,
  status: 'failed' | 'budget_exceeded' = 'failed',
): Promise<void> {
  const step = await t.step(stepId);
  await t.updateStep(stepId, { status: 'failed', error, finishedAt: t.now });
  t.event('step.failed', {
    stepId,
    ...(step.currentJobId && { jobId: step.currentJobId }),
    attempt: step.attempts,
    data: { error },
  });
  const attempts = step.attempts - step.roundStart;
  const after = attempts > 1 ? ` after ${attempts} attempts` : '';
  await endExecution(t, status, { ...error, stepId, message: `step "${stepId}" failed${after}: ${error.message}` });
}

function budgetError(t: Transition, stepId: string): ErrorInfo {
  const e = t.execution;
  const needs = stepReservation(t.plan.step(stepId).definition);
  return {
    code: 'budget_exceeded',
    stepId,
    message: `step "${stepId}" needs ${needs} but only ${e.budget - e.spent - e.reserved} of the budget ${e.budget} is left (spent ${e.spent}); retry with a larger budget`,
  };
}
