import type { BlobReader } from '../blobs/step-output.js';
import type {
  ExecutionRecord,
  ExecutionStatus,
  NewEvent,
  StepRecord,
  StepResultRecord,
  StepStatus,
} from '../store/records.js';
import { ACTIVE_STEP_STATUSES, DONE_STEP_STATUSES } from '../store/records.js';
import type { ExecutionPatch, StepPatch, StoreTx } from '../store/store.js';
import type { WorkflowPlan } from '../workflow/plan.js';
import type { JobPort } from './job-port.js';

/** Step statuses that count as done (a dependent may run, or be skipped) and in progress, as sets. */
export const DONE: ReadonlySet<StepStatus> = new Set(DONE_STEP_STATUSES);
export const ACTIVE: ReadonlySet<StepStatus> = new Set(ACTIVE_STEP_STATUSES);

/**
 * One transaction on one execution: the locked execution row, the steps it has looked at, the changes made
 * and the events to record. Everything the engine decides goes through a Transition, so each decision is
 * one transaction and leaves its trace in the events history.
 *
 * It keeps the execution's step counters (total, done, active, ready) in step with every status it
 * changes, so that what scheduling needs to know about the whole execution is one row, not a scan: a
 * transition costs the same whether the workflow has ten steps or ten thousand.
 */
export class Transition {
  readonly execution: ExecutionRecord;
  /** The status the execution had when this transaction began. */
  readonly initialStatus: ExecutionStatus;
  private readonly executionPatch: ExecutionPatch = {};
  /** Step statuses this transaction has read or written. */
  private readonly known = new Map<string, StepStatus>();
  private allKnown = false;
  /** Whole step rows, read one at a time as needed. */
  private readonly rows = new Map<string, StepRecord>();
  /** Step results this transaction wrote: what a dependent decided in the same transaction reads. */
  readonly results = new Map<string, StepResultRecord>();
  /** Steps whose decision needs an expression evaluated outside the transaction (the engine runs them after commit). */
  readonly deferred = new Set<string>();
  /** The result needs the outputs expressions evaluated outside the transaction. */
  deferredResult = false;

  constructor(
    readonly tx: StoreTx,
    execution: ExecutionRecord,
    readonly plan: WorkflowPlan,
    readonly jobs: JobPort,
    /** Where step outputs too large for a row are read back from. */
    readonly blobs: BlobReader | undefined,
    readonly now: number,
    readonly actor: string,
    private readonly committed: (execution: ExecutionRecord) => void = () => undefined,
  ) {
    this.execution = { ...execution };
    this.initialStatus = execution.status;
  }

  get id(): string {
    return this.execution.id;
  }

  /** The status of every step, in definition order (a scan: for starts, retries, recovery and endings). */
  async statuses(): Promise<ReadonlyMap<string, StepStatus>> {
    if (!this.allKnown) {
      for (const { stepId, status } of await this.tx.listStepStatuses(this.id)) {
        if (!this.known.has(stepId)) this.known.set(stepId, status);
      }
      this.allKnown = true;
    }
    return this.known;
  }

  /** The statuses of some steps, reading only those not known yet. */
  async statusesOf(ids: readonly string[]): Promise<ReadonlyMap<string, StepStatus>> {
    const missing = this.allKnown ? [] : ids.filter((id) => !this.known.has(id));
    if (missing.length > 0) {
      for (const { stepId, status } of await this.tx.getStepStatuses(this.id, missing)) this.known.set(stepId, status);
    }
    return this.known;
  }

  async statusOf(id: string): Promise<StepStatus> {
    const status = (await this.statusesOf([id])).get(id);
    if (status === undefined) throw new Error(`execution ${this.id} has no step ${id}`);
    return status;
  }

  async step(stepId: string): Promise<StepRecord> {
    let step = this.rows.get(stepId);
    if (!step) {
      step = await this.tx.getStep(this.id, stepId);
      if (!step) throw new Error(`execution ${this.id} has no step ${stepId}`);
      // The row reads this transaction's own writes, so its status is current.
      this.known.set(stepId, step.status);
      this.rows.set(stepId, step);
    }
    return step;
  }

  /** Keeps step rows a write returned (they include this transaction's own writes, so they are current). */
  remember(steps: readonly StepRecord[]): void {
    for (const step of steps) {
      this.known.set(step.stepId, step.status);
      this.rows.set(step.stepId, step);
    }
  }

  /** Changes a step; a status change moves the execution's counters with it. */
  async updateStep(stepId: string, patch: StepPatch): Promise<void> {
    if (patch.status !== undefined) {
      const before = await this.statusOf(stepId);
      if (before !== patch.status) this.count(before, -1).count(patch.status, 1);
      this.known.set(stepId, patch.status);
    }
    await this.tx.updateStep(this.id, stepId, patch);
    const row = this.rows.get(stepId);
    if (row) assign(row, patch);
  }

  private count(status: StepStatus, by: 1 | -1): this {
    const e = this.execution;
    if (DONE.has(status)) this.setExecution({ stepsDone: e.stepsDone + by });
    else if (ACTIVE.has(status)) this.setExecution({ stepsActive: e.stepsActive + by });
    else if (status === 'ready') this.setExecution({ stepsReady: e.stepsReady + by });
    return this;
  }

  setExecution(patch: ExecutionPatch): void {
    Object.assign(this.executionPatch, patch);
    assign(this.execution, patch);
  }

  event(type: string, fields: Omit<NewEvent, 'type' | 'at' | 'actor' | 'executionId'> = {}): void {
    this.tx.appendEvents([{ executionId: this.id, at: this.now, type, actor: this.actor, ...fields }]);
  }

  /** True when this transaction ends the execution (its receipt is due). */
  get ended(): boolean {
    return this.initialStatus === 'running' && this.execution.status !== 'running';
  }

  /** Writes the execution's changes. Called once, at the end of the transaction. */
  async flush(): Promise<void> {
    if (Object.keys(this.executionPatch).length > 0) {
      await this.tx.updateExecution(this.id, { ...this.executionPatch, updatedAt: this.now });
    }
    const execution = { ...this.execution };
    this.tx.afterCommit(() => this.committed(execution));
  }
}

/** Applies a patch to a record in place; `undefined` removes the field, as it clears the column. */
function assign(target: object, patch: object): void {
  const record = target as Record<string, unknown>;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) delete record[key];
    else record[key] = value;
  }
}
