import { EventEmitter } from 'node:events';
import { jsonDigest } from '../attest/digest.js';
import { canonicalJson } from '../attest/canonical.js';
import type { AcceptedResult, Coordinator, JobFailure, JobOutcomeHandler } from '../coordinator/coordinator.js';
import { v7 as uuidv7 } from 'uuid';
import type { ExecutionRecord, JobRecord, StepRecord, WorkflowRecord } from '../store/records.js';
import { TERMINAL_EXECUTION_STATUSES } from '../store/records.js';
import type { Store, StoreTx } from '../store/store.js';
import { checkInputs } from '../workflow/input-schema.js';
import type { VerificationLevel, WorkflowDefinition } from '../workflow/types.js';
import { advance } from './advance.js';
import { StoreError } from '../store/errors.js';
import { EngineError } from './errors.js';
import { endExecution } from './finish.js';
import { onJobFailed, onJobSucceeded } from './outcomes.js';
import { cachedPlan, planFor } from '../workflow/plan.js';
import type { WorkflowPlan } from '../workflow/plan.js';
import { Transition } from './transition.js';
import type { ReceiptIssuer } from '../receipts/issuer.js';

export interface StartRequest {
  workflow: WorkflowRecord;
  inputs: unknown;
  /** Who owns the execution; only they see it. */
  clientId: string;
  /** The same key from the same client returns the same execution instead of starting another. */
  idempotencyKey?: string;
  /** Overrides the workflow's max_cost_budget (integer micro-units, 0 = no limit). */
  budget?: number;
  /** Overrides the workflow's verification_level. */
  verificationLevel?: VerificationLevel;
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
  /**
   * In-process notifications, after commit: `change` (execution) whenever one changes. Other processes'
   * changes are not seen here; watchers poll the store as well.
   */
  readonly events = new EventEmitter<{ change: [ExecutionRecord] }>();
  private readonly notify = (execution: ExecutionRecord) => this.events.emit('change', execution);

  constructor(
    private readonly store: Store,
    private readonly coordinator: Coordinator,
    options: Partial<EngineOptions> = {},
  ) {
    this.now = options.now ?? Date.now;
    this.receipts = options.receipts;
    this.zkUnavailable = options.zkUnavailable;
    coordinator.attach(this);
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
    const problems = checkInputs(definition.inputs, request.inputs);
    if (problems.length > 0) {
      throw new EngineError('invalid_inputs', `the inputs do not match workflow ${definition.id}'s schema:\n  ${problems.join('\n  ')}`, {
        context: { workflowId: definition.id },
      });
    }
    let inputs: unknown;
    try {
      inputs = JSON.parse(canonicalJson(request.inputs ?? {}));
    } catch (error) {
      throw new EngineError('invalid_inputs', `the inputs are not JSON: ${(error as Error).message}`, { cause: error });
    }
    const budget = request.budget ?? definition.max_cost_budget;
    if (!Number.isSafeInteger(budget) || budget < 0) {
      throw new EngineError('invalid_inputs', `budget must be a non-negative integer number of micro-units, not ${budget}`);
    }
    const level = request.verificationLevel ?? definition.verification_level;
    if (level === 'zk' && this.zkUnavailable !== undefined) {
      throw new EngineError('zk_unavailable', `cannot run at verification level zk: ${this.zkUnavailable}`, { context: { workflowId: definition.id } });
    }
    if (level === 'zk' && definition.outputs) {
      throw new EngineError('invalid_inputs', `workflow ${definition.id} computes its result with outputs; at verification level zk the result must be the last step's output, which the proof binds: choose level full, or compute the result in a last step`);
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

  private startIn(request: StartRequest, workflow: WorkflowRecord, inputs: unknown, budget: number, plan: WorkflowPlan, level: VerificationLevel): Promise<ExecutionRecord> {
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
      };
      await tx.insertExecution(execution);
      await tx.insertSteps(
        definition.steps.map(
          (step, position): StepRecord => ({
            executionId: execution.id,
            stepId: step.id,
            position,
            status: 'pending',
            attempts: 0,
            roundStart: 0,
            cost: 0,
          }),
        ),
      );
      const t = new Transition(tx, execution, plan, this.coordinator, now, `client:${clientId}`, this.notify);
      t.event('execution.started', {
        data: { workflowId: definition.id, version: definition.version, workflowDigest: workflow.digest, inputDigest: execution.inputDigest },
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
        throw new EngineError('invalid_state', `execution ${executionId} is already ${t.execution.status}; only a running execution can be cancelled`, {
          context: { executionId },
        });
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
        throw new EngineError('invalid_state', `execution ${executionId} is still running; wait for it to end or cancel it first`, {
          context: { executionId },
        });
      }
      if (status === 'completed') {
        throw new EngineError('invalid_state', `execution ${executionId} completed; start a new execution instead`, {
          context: { executionId },
        });
      }
      if (options.budget !== undefined && (!Number.isSafeInteger(options.budget) || options.budget < 0)) {
        throw new EngineError('invalid_inputs', `budget must be a non-negative integer number of micro-units, not ${options.budget}`);
      }
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
      t.event('execution.retried', { data: { from: status, steps: reset, ...(options.budget !== undefined && { budget: options.budget }) } });
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
   * Advances every running execution once. Nothing is lost without this (each transition already queued
   * what it made ready), but it is the one place a hand-repaired or half-migrated database is brought back
   * in line, and it is cheap.
   */
  async recover(): Promise<number> {
    let count = 0;
    let before: string | undefined;
    for (;;) {
      const page = await this.store.read.listExecutions({ status: ['running'], limit: 200, ...(before && { before }) });
      for (const execution of page) {
        await this.onExecution(execution.id, 'engine', (t) => advance(t));
        count++;
      }
      if (page.length < 200) return count;
      before = page.at(-1)!.id;
    }
  }

  /** A full id, or a unique prefix of one (like git), to the execution. */
  async resolveExecutionId(idOrPrefix: string): Promise<string> {
    const exact = await this.store.read.getExecution(idOrPrefix);
    if (exact) return exact.id;
    const matches = idOrPrefix.length >= 4 ? await this.store.read.findExecutionIds(idOrPrefix, 5) : [];
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new EngineError('ambiguous_id', `"${idOrPrefix}" matches several executions (${matches.join(', ')}…); give more of the id`);
    }
    throw new EngineError('execution_not_found', `no execution ${idOrPrefix}; see \`verity list\``, { context: { executionId: idOrPrefix } });
  }

  // -----------------------------------------------------------------------------------------------------
  // JobOutcomeHandler: the coordinator has checked the report and locked the execution.

  async jobStarted(tx: StoreTx, job: JobRecord, now: number): Promise<void> {
    await tx.markStepRunning(job.executionId, job.stepId, job.id, now);
  }

  async jobSucceeded(tx: StoreTx, execution: ExecutionRecord, job: JobRecord, result: AcceptedResult, now: number): Promise<void> {
    const t = await this.transition(tx, execution, now, `worker:${result.workerId}`);
    await onJobSucceeded(t, job, result);
    await this.commit(t);
  }

  async jobFailed(tx: StoreTx, execution: ExecutionRecord, job: JobRecord, failure: JobFailure, now: number): Promise<void> {
    const t = await this.transition(tx, execution, now, job.workerId ? `worker:${job.workerId}` : 'engine');
    await onJobFailed(t, job, failure);
    await this.commit(t);
  }

  // -----------------------------------------------------------------------------------------------------

  private async onExecution(executionId: string, actor: string, fn: (t: Transition) => Promise<void>): Promise<ExecutionRecord> {
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
    await t.flush();
    if (t.ended && this.receipts) await this.receipts.issue(t.tx, t.execution, t.plan.definition, t.plan.digest, t.now);
  }

  private async transition(tx: StoreTx, execution: ExecutionRecord, now: number, actor: string): Promise<Transition> {
    return new Transition(tx, execution, await this.planOf(tx, execution.workflowDigest), this.coordinator, now, actor, this.notify);
  }

  private async planOf(tx: StoreTx, digest: string): Promise<WorkflowPlan> {
    const cached = cachedPlan(digest);
    if (cached) return cached;
    const workflow = await tx.getWorkflow(digest);
    if (!workflow) throw new EngineError('workflow_not_found', `workflow ${digest} is not in the store`, { context: { digest } });
    return planFor(digest, workflow.definition);
  }
}

export function isTerminal(execution: ExecutionRecord): boolean {
  return TERMINAL_EXECUTION_STATUSES.has(execution.status);
}
