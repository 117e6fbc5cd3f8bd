import { EventEmitter } from 'node:events';
import { jsonDigest } from '../attest/digest.js';
import { canonicalJson } from '../attest/canonical.js';
import { readStepOutput } from '../blobs/step-output.js';
import type { BlobReader } from '../blobs/step-output.js';
import type { AcceptedResult, JobFailure, JobOutcomeHandler } from '../coordinator/job-outcomes.js';
import { ExpressionError } from '../expressions/evaluator.js';
import type { ExpressionEvaluator } from '../expressions/evaluator.js';
import { describeError } from '../errors.js';
import { computeResult } from '../workflow/context.js';
import type { StepView } from '../workflow/context.js';
import { decide } from '../workflow/decide.js';
import type { StepDecision } from '../workflow/decide.js';
import type { ExecutionHooks, OnStarted } from './execution-hooks.js';
import type { JobPort } from './job-port.js';
import { v7 as uuidv7 } from 'uuid';
import type { ErrorInfo, ExecutionRecord, JobRecord, StepRecord, WorkflowRecord } from '../store/records.js';
import { TERMINAL_EXECUTION_STATUSES } from '../store/records.js';
import type { Store, StoreReads, StoreTx } from '../store/store.js';
import { checkInputs } from '../workflow/input-schema.js';
import { exceedsDepth } from '../workflow/json-depth.js';
import { LIMITS } from '../workflow/limits.js';
import { evaluationContext } from '../workflow/context.js';
import type { VerificationLevel, WorkflowDefinition } from '../workflow/types.js';
import { advance } from './advance.js';
import { StoreError } from '../store/errors.js';
import { EngineError } from './errors.js';
import { endExecution, outputsFailed } from './finish.js';
import { onJobFailed, onJobSucceeded } from './outcomes.js';
import { cachedPlan, planFor } from '../workflow/plan.js';
import type { WorkflowPlan } from '../workflow/plan.js';
import { ACTIVE, DONE, Transition } from './transition.js';
import type { ReceiptIssuer } from '../receipts/issuer.js';

export interface StartRequest {
  workflow: WorkflowRecord;
  inputs: unknown;
  /** Who owns the execution; only they see it. */
  clientId: string;
  /** The same key from the same client returns the same execution instead of starting another. */
  idempotencyKey?: string;
  /**
   * Lowers the workflow's max_cost_budget (integer micro-units; 0 = no limit, allowed only when the
   * workflow sets none). A caller may lower the publisher's budget, never raise or remove it.
   */
  budget?: number;
  /** Overrides the workflow's verification_level. */
  verificationLevel?: VerificationLevel;
  /**
   * Runs in the start's transaction, once the execution row exists and before a step is dispatched (the
   * market's hold): throwing starts nothing. Not run when the idempotency key returns an earlier execution.
   */
  onStarted?: OnStarted;
}

export interface EngineOptions {
  now: () => number;
  /** Issues the signed receipt of every execution that ends (in the transaction that ends it). */
  receipts: ReceiptIssuer | undefined;
  /**
   * Why this node cannot run executions at verification level zk (no `verity zk setup`), or undefined when
   * it can. Such executions are refused at start, before anything runs. Default: undefined.
   */
  zkUnavailable?: string;
  /**
   * Where the workflow's expressions (conditions, input mappings, outputs) are evaluated, when they are
   * more than plain paths: a sandbox (ProcessEvaluator). Required.
   */
  evaluator: ExpressionEvaluator;
  /** Where step outputs kept as blobs are read back from (expressions over them). Without it, such outputs cannot be read. */
  blobs?: BlobReader;
  /** Reports what went wrong outside any caller's request (a decision made after commit). */
  onError: (error: unknown, context: Record<string, unknown>) => void;
  /** What another part (the market) does in the transactions that end and retry executions. */
  hooks?: ExecutionHooks;
}

/**
 * How many times in a row deciding an execution may fail, each at a sweep a few seconds apart, before the
 * execution is failed with `advance_failed`. More than one, so that a store's brief hiccup fails nothing.
 */
const MAX_DECISION_FAILURES = 3;

/**
 * Failures that pass by themselves and are never held against an execution: the expression sandbox busy or
 * restarting, the store unreachable or busy (failing the execution would need the store anyway).
 */
function mayPass(error: unknown): boolean {
  if (error instanceof ExpressionError) return error.code === 'busy' || error.code === 'unavailable';
  return error instanceof StoreError && (error.code === 'unavailable' || error.code === 'busy');
}

/**
 * The orchestrator. It owns executions and steps: starting, advancing on every job outcome, ending,
 * cancelling, retrying. Every public operation is one transaction that locks the execution first, and
 * every decision is made from stored state, so any process holding the store can pick up where another
 * stopped.
 */
export class Engine implements JobOutcomeHandler {
  private readonly now: () => number;
  private readonly receipts: ReceiptIssuer | undefined;
  private readonly zkUnavailable: string | undefined;
  private readonly evaluator: ExpressionEvaluator;
  private readonly onError: EngineOptions['onError'];
  private readonly blobs: BlobReader | undefined;
  private readonly hooks: ExecutionHooks | undefined;
  /** Executions whose deferred decisions this process is making now, and those to look at again after. */
  private readonly deciding = new Set<string>();
  private readonly decideAgain = new Set<string>();
  private readonly decidingDone = new Set<Promise<void>>();
  /** Executions whose decisions failed for a reason that may not pass, and how many times in a row. */
  private readonly decisionFailures = new Map<string, number>();
  /**
   * In-process notifications, after commit: `change` (execution) whenever one changes. Other processes'
   * changes are not seen here; watchers poll the store as well.
   */
  readonly events = new EventEmitter<{ change: [ExecutionRecord] }>();
  private readonly notify = (execution: ExecutionRecord) => this.events.emit('change', execution);

  constructor(
    private readonly store: Store,
    private readonly jobs: JobPort,
    options: Partial<EngineOptions> & Pick<EngineOptions, 'evaluator'>,
  ) {
    this.now = options.now ?? Date.now;
    this.receipts = options.receipts;
    this.zkUnavailable = options.zkUnavailable;
    this.evaluator = options.evaluator;
    this.onError = options.onError ?? (() => undefined);
    this.blobs = options.blobs;
    this.hooks = options.hooks;
  }

  /** Stores a validated definition under its digest (idempotent) and returns its record. */
  async registerWorkflow(definition: WorkflowDefinition, digest: string): Promise<WorkflowRecord> {
    const record: WorkflowRecord = {
      digest,
      workflowId: definition.id,
      version: definition.version,
      name: definition.name,
      definition,
      createdAt: this.now(),
    };
    await this.store.transaction((tx) => tx.putWorkflow(record));
    return (await this.store.read.getWorkflow(digest)) ?? record;
  }

  async start(request: StartRequest): Promise<ExecutionRecord> {
    const { workflow, clientId } = request;
    const definition = workflow.definition;
    if (
      request.inputs !== undefined &&
      (request.inputs === null || typeof request.inputs !== 'object' || Array.isArray(request.inputs))
    ) {
      throw new EngineError(
        'invalid_inputs',
        `the inputs must be a JSON object of named values, not ${request.inputs === null ? 'null' : Array.isArray(request.inputs) ? 'an array' : typeof request.inputs}`,
        {
          context: { workflowId: definition.id },
        },
      );
    }
    // Before anything that recurses over them (the schema check, canonical JSON, the store's serializer).
    if (exceedsDepth(request.inputs, LIMITS.maxValueDepth)) {
      throw new EngineError(
        'invalid_inputs',
        `the inputs nest deeper than ${LIMITS.maxValueDepth} levels; flatten them`,
        { context: { workflowId: definition.id } },
      );
    }
    const problems = checkInputs(definition.inputs, request.inputs);
    if (problems.length > 0) {
      throw new EngineError(
        'invalid_inputs',
        `the inputs do not match workflow ${definition.id}'s schema:\n  ${problems.join('\n  ')}`,
        {
          context: { workflowId: definition.id },
        },
      );
    }
    let inputs: unknown;
    try {
      inputs = JSON.parse(canonicalJson(request.inputs ?? {}));
    } catch (error) {
      throw new EngineError('invalid_inputs', `the inputs are not JSON: ${(error as Error).message}`, { cause: error });
    }
    const budget = budgetWithin(definition.id, definition.max_cost_budget, request.budget);
    const level = request.verificationLevel ?? definition.verification_level;
    if (level === 'zk' && this.zkUnavailable !== undefined) {
      throw new EngineError('zk_unavailable', `cannot run at verification level zk: ${this.zkUnavailable}`, {
        context: { workflowId: definition.id },
      });
    }
    if (level === 'zk' && definition.outputs) {
      throw new EngineError(
        'invalid_inputs',
        `workflow ${definition.id} computes its result with outputs; at verification level zk the result must be the last step's output, which the proof binds: choose level full, or compute the result in a last step`,
      );
    }
    const plan = planFor(workflow.digest, definition);
    try {
      return await this.startIn(request, workflow, inputs, budget, plan, level);
    } catch (error) {
      // Two starts with one idempotency key raced (PostgreSQL: neither saw the other's row): the loser
      // returns the winner's execution, which is what the key promises.
      if (error instanceof StoreError && error.code === 'conflict' && request.idempotencyKey !== undefined) {
        const existing = await this.store.read.findExecutionByIdempotencyKey(clientId, request.idempotencyKey);
        if (existing) return existing;
      }
      throw error;
    }
  }

  private startIn(
    request: StartRequest,
    workflow: WorkflowRecord,
    inputs: unknown,
    budget: number,
    plan: WorkflowPlan,
    level: VerificationLevel,
  ): Promise<ExecutionRecord> {
    const { clientId } = request;
    const definition = workflow.definition;
    return this.store.transaction(async (tx) => {
      if (request.idempotencyKey !== undefined) {
        const existing = await tx.findExecutionByIdempotencyKey(clientId, request.idempotencyKey);
        if (existing) return existing;
      }
      const now = this.now();
      await tx.putWorkflow(workflow);
      const execution: ExecutionRecord = {
        id: uuidv7(),
        workflowDigest: workflow.digest,
        workflowId: definition.id,
        workflowVersion: definition.version,
        clientId,
        status: 'running',
        inputs,
        inputDigest: jsonDigest(inputs),
        budget,
        spent: 0,
        reserved: 0,
        ...(request.idempotencyKey !== undefined && { idempotencyKey: request.idempotencyKey }),
        // The level it runs at, recorded: the workflow's, or the one the request chose.
        verificationLevel: level,
        createdAt: now,
        startedAt: now,
        deadlineAt: now + definition.max_execution_time * 1000,
        updatedAt: now,
        stepsTotal: definition.steps.length,
        stepsDone: 0,
        stepsActive: 0,
        stepsReady: 0,
      };
      await tx.insertExecution(execution);
      if (request.onStarted) await request.onStarted(tx, execution, now);
      await tx.insertSteps(
        definition.steps.map((step, position): StepRecord => ({
          executionId: execution.id,
          stepId: step.id,
          position,
          status: 'pending',
          attempts: 0,
          roundStart: 0,
          pendingDeps: step.depends_on.length,
          cost: 0,
        })),
      );
      const t = new Transition(tx, execution, plan, this.jobs, this.blobs, now, `client:${clientId}`, this.notify);
      t.event('execution.started', {
        data: {
          workflowId: definition.id,
          version: definition.version,
          workflowDigest: workflow.digest,
          inputDigest: execution.inputDigest,
        },
      });
      await advance(t);
      await this.commit(t);
      return t.execution;
    });
  }

  /** Cancels a running execution: its jobs are cancelled, running workers are told to stop. */
  async cancel(executionId: string, actor: string): Promise<ExecutionRecord> {
    return this.onExecution(executionId, actor, async (t) => {
      if (t.execution.status !== 'running') {
        throw new EngineError(
          'invalid_state',
          `execution ${executionId} is already ${t.execution.status}; only a running execution can be cancelled`,
          {
            context: { executionId },
          },
        );
      }
      await endExecution(t, 'cancelled', { code: 'cancelled', message: `cancelled by ${actor}` });
    });
  }

  /**
   * Resumes an execution that ended without completing, from the steps that failed or were cancelled.
   * Every result already produced is kept; the retry policy starts a new round; the execution gets a new
   * deadline (and, if given, a new budget).
   */
  async retry(executionId: string, actor: string, options: { budget?: number } = {}): Promise<ExecutionRecord> {
    return this.onExecution(executionId, actor, async (t) => {
      const status = t.execution.status;
      if (status === 'running') {
        throw new EngineError(
          'invalid_state',
          `execution ${executionId} is still running; wait for it to end or cancel it first`,
          {
            context: { executionId },
          },
        );
      }
      if (status === 'completed') {
        throw new EngineError('invalid_state', `execution ${executionId} completed; start a new execution instead`, {
          context: { executionId },
        });
      }
      if (options.budget !== undefined)
        budgetWithin(t.plan.definition.id, t.plan.definition.max_cost_budget, options.budget);
      const reset: string[] = [];
      for (const [id, status] of [...(await t.statuses())]) {
        if (status !== 'failed' && status !== 'cancelled') continue;
        const step = await t.step(id);
        await t.updateStep(id, {
          status: 'pending',
          roundStart: step.attempts,
          error: undefined,
          currentJobId: undefined,
          finishedAt: undefined,
        });
        reset.push(id);
      }
      t.setExecution({
        status: 'running',
        error: undefined,
        finishedAt: undefined,
        deadlineAt: t.now + t.plan.definition.max_execution_time * 1000,
        ...(options.budget !== undefined && { budget: options.budget }),
      });
      t.event('execution.retried', {
        data: { from: status, steps: reset, ...(options.budget !== undefined && { budget: options.budget }) },
      });
      if (this.hooks) await this.hooks.resumed(t.tx, t.execution, t.now);
      await advance(t);
    });
  }

  /** Ends an execution whose max_execution_time has passed (the sweeper calls this). */
  async timeOut(executionId: string): Promise<void> {
    await this.onExecution(executionId, 'sweeper', async (t) => {
      if (t.execution.status !== 'running' || t.execution.deadlineAt > t.now) return;
      await endExecution(t, 'timed_out', {
        code: 'execution_timeout',
        message: `the execution ran longer than max_execution_time (${t.plan.definition.max_execution_time} s)`,
      });
    });
  }

  /**
   * Brings every running execution back in line with its stored state and advances it: recounts its step
   * counters and each pending step's dependencies (what a database from before they existed, or repaired
   * by hand, may have wrong), then decides what is decidable. Nothing is lost without this (each
   * transition already queued what it made ready); it is what a restarted node runs first.
   *
   * An execution that cannot be advanced (a bug, a definition this version cannot plan) is failed with
   * `advance_failed` rather than tried again at every start.
   */
  async recover(): Promise<number> {
    let count = 0;
    let before: string | undefined;
    for (;;) {
      const page = await this.store.read.listExecutions({ status: ['running'], limit: 200, ...(before && { before }) });
      for (const execution of page) {
        try {
          await this.onExecution(execution.id, 'engine', async (t) => {
            await reconcile(t);
            await advance(t);
          });
        } catch (error) {
          await this.failAdvance(execution.id, error);
        }
        count++;
      }
      if (page.length < 200) return count;
      before = page.at(-1)!.id;
    }
  }

  /** Ends an execution whose advance throws, with the reason, so that no restart tries it again. */
  private async failAdvance(executionId: string, error: unknown): Promise<void> {
    this.onError(error, { executionId, during: 'advance' });
    try {
      await this.onExecution(executionId, 'engine', (t) =>
        t.execution.status === 'running'
          ? endExecution(t, 'failed', {
              code: 'advance_failed',
              message: `the engine could not advance this execution: ${describeError(error)}`,
            })
          : Promise.resolve(),
      );
    } catch (again) {
      this.onError(again, { executionId, during: 'failing an execution that could not advance' });
    }
  }

  /**
   * Looks for executions waiting on a decision that no process may be making (one that stopped between
   * a commit and the evaluation it had queued) and makes it. The sweeper calls this every few seconds.
   */
  async resumeDecisions(limit = 100): Promise<number> {
    const ids = (await this.store.read.listExecutionsToAdvance(limit)).filter((id) => !this.deciding.has(id));
    for (const id of ids) this.decideLater(id);
    return ids.length;
  }

  /** Waits for the decisions this process is making (tests, and a clean stop). */
  async settled(): Promise<void> {
    while (this.decidingDone.size > 0) await Promise.all([...this.decidingDone]);
  }

  /**
   * Makes the decisions a transition left for the sandbox: evaluates the conditions, input mappings and
   * outputs outside any transaction (what they read is done and immutable, so the answer cannot change
   * meanwhile), then applies them in one transaction, which may leave more for another round.
   */
  private decideLater(executionId: string): void {
    if (this.deciding.has(executionId)) {
      this.decideAgain.add(executionId);
      return;
    }
    this.deciding.add(executionId);
    const done = (async () => {
      do {
        this.decideAgain.delete(executionId);
        try {
          await this.decideOnce(executionId);
          this.decisionFailures.delete(executionId);
        } catch (error) {
          // Leave it to the next look (resumeDecisions) rather than loop here; a failure that keeps coming
          // back (a step output whose blob is gone, a bug) ends the execution instead of being retried
          // every few seconds forever.
          this.onError(error, { executionId, during: 'deciding' });
          if (mayPass(error)) break;
          const failures = (this.decisionFailures.get(executionId) ?? 0) + 1;
          this.decisionFailures.set(executionId, failures);
          if (failures >= MAX_DECISION_FAILURES) {
            this.decisionFailures.delete(executionId);
            await this.failAdvance(executionId, error);
          }
          break;
        }
      } while (this.decideAgain.has(executionId));
    })().finally(() => {
      this.deciding.delete(executionId);
      this.decidingDone.delete(done);
    });
    this.decidingDone.add(done);
  }

  private async decideOnce(executionId: string): Promise<void> {
    const read = this.store.read;
    const execution = await read.getExecution(executionId);
    if (!execution || execution.status !== 'running') return;
    const plan = await this.planOf(read, execution.workflowDigest);
    const decidable = await read.listDecidableSteps(executionId);
    const allDone = execution.stepsDone === execution.stepsTotal;
    if (decidable.length === 0 && !allDone) return;
    const views = await this.readViews(
      executionId,
      allDone ? plan.order : [...new Set(decidable.flatMap((id) => plan.step(id).reads))],
    );
    const decided = new Map<string, StepDecision>();
    await Promise.all(
      decidable.map(async (id) => {
        const step = plan.step(id);
        decided.set(id, await decide(step, evaluationContext(execution.inputs, step.reads, views), this.evaluator));
      }),
    );
    let result: { value: unknown } | { error: ErrorInfo } | undefined;
    if (allDone) {
      try {
        result = { value: await computeResult(plan.outputs, plan.lastStepId, execution.inputs, views, this.evaluator) };
      } catch (error) {
        result = { error: outputsFailed(describeError(error)) };
      }
    }
    await this.onExecution(executionId, 'engine', (t) => advance(t, { done: [], decided, ...(result && { result }) }));
  }

  /** What expressions see of these steps, from committed state (they are done: it cannot change). */
  private async readViews(executionId: string, ids: readonly string[]): Promise<Map<string, StepView>> {
    const statuses = new Map((await this.store.read.listStepStatuses(executionId)).map((s) => [s.stepId, s.status]));
    const completed = ids.filter((id) => statuses.get(id) === 'completed');
    const results = completed.length > 0 ? await this.store.read.getStepResults(executionId, completed) : [];
    const outputs = new Map(
      await Promise.all(results.map(async (r) => [r.stepId, await readStepOutput(this.blobs, r)] as const)),
    );
    const views = new Map<string, StepView>();
    for (const id of ids) {
      const status = statuses.get(id);
      if (status !== undefined) views.set(id, outputs.has(id) ? { status, output: outputs.get(id) } : { status });
    }
    return views;
  }

  /** A full id, or a unique prefix of one (like git), to the execution. */
  async resolveExecutionId(idOrPrefix: string): Promise<string> {
    const exact = await this.store.read.getExecution(idOrPrefix);
    if (exact) return exact.id;
    const matches = idOrPrefix.length >= 4 ? await this.store.read.findExecutionIds(idOrPrefix, 5) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new EngineError(
        'ambiguous_id',
        `"${idOrPrefix}" matches several executions (${matches.join(', ')}…); give more of the id`,
      );
    }
    throw new EngineError('execution_not_found', `no execution ${idOrPrefix}; see \`verity list\``, {
      context: { executionId: idOrPrefix },
    });
  }

  // -----------------------------------------------------------------------------------------------------
  // JobOutcomeHandler: the coordinator has checked the report and locked the execution.

  async jobStarted(tx: StoreTx, job: JobRecord, now: number): Promise<void> {
    await tx.markStepRunning(job.executionId, job.stepId, job.id, now);
  }

  async jobSucceeded(
    tx: StoreTx,
    execution: ExecutionRecord,
    job: JobRecord,
    result: AcceptedResult,
    now: number,
    step?: StepRecord,
  ): Promise<void> {
    const t = await this.transition(tx, execution, now, `worker:${result.workerId}`);
    if (step) t.remember([step]);
    await onJobSucceeded(t, job, result);
    await this.commit(t);
  }

  async jobFailed(
    tx: StoreTx,
    execution: ExecutionRecord,
    job: JobRecord,
    failure: JobFailure,
    now: number,
    step?: StepRecord,
  ): Promise<void> {
    const t = await this.transition(tx, execution, now, job.workerId ? `worker:${job.workerId}` : 'engine');
    if (step) t.remember([step]);
    await onJobFailed(t, job, failure);
    await this.commit(t);
  }

  // -----------------------------------------------------------------------------------------------------

  private async onExecution(
    executionId: string,
    actor: string,
    fn: (t: Transition) => Promise<void>,
  ): Promise<ExecutionRecord> {
    return this.store.transaction(async (tx) => {
      const execution = await tx.lockExecution(executionId);
      if (!execution) {
        throw new EngineError('execution_not_found', `no execution ${executionId}`, { context: { executionId } });
      }
      const t = await this.transition(tx, execution, this.now(), actor);
      await fn(t);
      await this.commit(t);
      return t.execution;
    });
  }

  /** Writes a transition, and when it ended the execution, the receipt that says how. */
  private async commit(t: Transition): Promise<void> {
    if (t.execution.status === 'running' && (t.deferred.size > 0 || t.deferredResult)) {
      t.tx.afterCommit(() => this.decideLater(t.id));
    }
    await t.flush();
    if (!t.ended) return;
    const receipt = this.receipts
      ? await this.receipts.issue(t.tx, t.execution, t.plan.definition, t.plan.digest, t.now)
      : undefined;
    if (this.hooks) await this.hooks.ended(t.tx, t.execution, receipt, t.now);
  }

  private async transition(tx: StoreTx, execution: ExecutionRecord, now: number, actor: string): Promise<Transition> {
    return new Transition(
      tx,
      execution,
      await this.planOf(tx, execution.workflowDigest),
      this.jobs,
      this.blobs,
      now,
      actor,
      this.notify,
    );
  }

  private async planOf(reads: StoreReads, digest: string): Promise<WorkflowPlan> {
    const cached = cachedPlan(digest);
    if (cached) return cached;
    const workflow = await reads.getWorkflow(digest);
    if (!workflow)
      throw new EngineError('workflow_not_found', `workflow ${digest} is not in the store`, { context: { digest } });
    return planFor(digest, workflow.definition);
  }
}

export function isTerminal(execution: ExecutionRecord): boolean {
  return TERMINAL_EXECUTION_STATUSES.has(execution.status);
}

/**
 * The budget an execution runs with: the workflow's max_cost_budget, or a lower one the caller asks for.
 * A caller may lower the publisher's budget, never raise or remove it (0 = no limit only where the workflow
 * sets none).
 */
function budgetWithin(workflowId: string, cap: number, asked: number | undefined): number {
  if (asked === undefined) return cap;
  if (!Number.isSafeInteger(asked) || asked < 0) {
    throw new EngineError(
      'invalid_inputs',
      `budget must be a non-negative integer number of micro-units, not ${asked}`,
    );
  }
  if (cap > 0 && (asked === 0 || asked > cap)) {
    throw new EngineError(
      'invalid_inputs',
      `budget ${asked} would ${asked === 0 ? 'remove' : 'raise'} workflow ${workflowId}'s max_cost_budget of ${cap}; a caller may only lower it: give a budget from 1 to ${cap}`,
      { context: { workflowId } },
    );
  }
  return asked;
}

/**
 * Recounts what the engine keeps incrementally (the execution's step counters, each pending step's
 * dependencies not yet done) from the steps' statuses, and writes what differs.
 */
async function reconcile(t: Transition): Promise<void> {
  const statuses = await t.statuses();
  let done = 0;
  let active = 0;
  let ready = 0;
  for (const status of statuses.values()) {
    if (DONE.has(status)) done++;
    else if (ACTIVE.has(status)) active++;
    else if (status === 'ready') ready++;
  }
  const e = t.execution;
  if (e.stepsTotal !== statuses.size || e.stepsDone !== done || e.stepsActive !== active || e.stepsReady !== ready) {
    t.setExecution({ stepsTotal: statuses.size, stepsDone: done, stepsActive: active, stepsReady: ready });
  }
  const pending = [...statuses].filter(([, status]) => status === 'pending').map(([id]) => id);
  if (pending.length === 0) return;
  const stored = new Map((await t.tx.getStepStatuses(t.id, pending)).map((p) => [p.stepId, p.pendingDeps]));
  for (const id of pending) {
    const expected = t.plan.step(id).deps.filter((d) => !DONE.has(statuses.get(d)!)).length;
    if (stored.get(id) !== expected) await t.tx.updateStep(t.id, id, { pendingDeps: expected });
  }
}
