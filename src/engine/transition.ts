import type { Coordinator } from '../coordinator/coordinator.js';
import type { ExecutionRecord, ExecutionStatus, NewEvent, StepRecord, StepStatus } from '../store/records.js';
import type { ExecutionPatch, StepPatch, StoreTx } from '../store/store.js';
import type { WorkflowPlan } from '../workflow/plan.js';

/**
 * One transaction on one execution: the locked execution row, its steps as loaded, the changes made and
 * the events to record. Everything the engine decides goes through a Transition, so each decision is one
 * transaction and leaves its trace in the events history.
 */
export class Transition {
  readonly execution: ExecutionRecord;
  /** The status the execution had when this transaction began. */
  readonly initialStatus: ExecutionStatus;
  private readonly executionPatch: ExecutionPatch = {};
  private statusMap: Map<string, StepStatus> | undefined;
  /** Whole step rows, read one at a time as needed. */
  private readonly rows = new Map<string, StepRecord>();

  constructor(
    readonly tx: StoreTx,
    execution: ExecutionRecord,
    readonly plan: WorkflowPlan,
    readonly coordinator: Coordinator,
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

  /** The status of every step, in definition order; kept current as this transition changes steps. */
  async statuses(): Promise<ReadonlyMap<string, StepStatus>> {
    if (!this.statusMap) {
      this.statusMap = new Map((await this.tx.listStepStatuses(this.id)).map((s) => [s.stepId, s.status]));
      for (const [id, row] of this.rows) this.statusMap.set(id, row.status);
    }
    return this.statusMap;
  }

  async step(stepId: string): Promise<StepRecord> {
    let step = this.rows.get(stepId);
    if (!step) {
      step = await this.tx.getStep(this.id, stepId);
      if (!step) throw new Error(`execution ${this.id} has no step ${stepId}`);
      this.rows.set(stepId, step);
    }
    return step;
  }

  async updateStep(stepId: string, patch: StepPatch): Promise<void> {
    await this.tx.updateStep(this.id, stepId, patch);
    const row = this.rows.get(stepId);
    if (row) assign(row, patch);
    if (patch.status !== undefined) this.statusMap?.set(stepId, patch.status);
  }

  setExecution(patch: ExecutionPatch): void {
    Object.assign(this.executionPatch, patch);
    assign(this.execution, patch);
  }

  event(type: string, fields: Omit<NewEvent, 'type' | 'at' | 'actor' | 'executionId'> = {}): void {
    void this.tx.appendEvents([{ executionId: this.id, at: this.now, type, actor: this.actor, ...fields }]);
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
