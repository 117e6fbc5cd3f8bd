import type {
  ErrorInfo,
  EventRecord,
  ExecutionRecord,
  JobRecord,
  StepResultRecord,
  ExecutionStatus,
  StepRecord,
  StepStatus,
  ZkProofRecord,
  ZkProofStatus,
} from '../store/records.js';
import type { ExecutionSummary, Store, StepCounts } from '../store/store.js';
import type { WorkflowDefinition } from '../workflow/types.js';

/** One row of a list of executions (GET /v1/executions, its live stream, `verity list`). */
export interface ExecutionRowView {
  executionId: string;
  workflowId: string;
  workflowVersion: number;
  status: ExecutionStatus;
  createdAt: string;
  startedAt: string;
  finishedAt?: string;
  updatedAt: string;
  /** finishedAt − startedAt, once it has ended. */
  durationMs?: number;
  /** Integer micro-units. */
  spent: number;
  budget: number;
  steps: StepCounts;
}

export function executionRowView(e: ExecutionSummary): ExecutionRowView {
  return {
    executionId: e.id,
    workflowId: e.workflowId,
    workflowVersion: e.workflowVersion,
    status: e.status,
    createdAt: iso(e.createdAt),
    startedAt: iso(e.startedAt),
    ...(e.finishedAt !== undefined && { finishedAt: iso(e.finishedAt), durationMs: e.finishedAt - e.startedAt }),
    updatedAt: iso(e.updatedAt),
    spent: e.spent,
    budget: e.budget,
    steps: e.steps,
  };
}

/** An execution as clients see it: the shape of `verity status --json` and of the API. */
export interface ExecutionView {
  executionId: string;
  workflowId: string;
  workflowVersion: number;
  workflowDigest: string;
  status: ExecutionStatus;
  result: unknown;
  error?: ErrorInfo;
  createdAt: string;
  finishedAt?: string;
  /** Integer micro-units. */
  spent: number;
  budget: number;
  steps: StepSummary[];
  /** At verification level zk: how far the proofs of its latest receipt are. */
  zk?: ZkProgress;
}

export interface ZkProgress {
  status: ZkProofStatus;
  circuit: string;
  batchesDone: number;
  batchesTotal: number;
  error?: ErrorInfo;
}

export interface StepSummary {
  id: string;
  status: StepStatus;
  attempts: number;
  /** When it last became runnable (so a client can show how long it has waited). */
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  cost: number;
  error?: ErrorInfo;
  skipReason?: string;
}

/** An event as clients see it: the API's history and event stream, and `verity history --json`. */
export interface EventView {
  seq: number;
  at: string;
  type: string;
  stepId?: string;
  jobId?: string;
  attempt?: number;
  actor: string;
  data?: Record<string, unknown>;
}

export function eventView(event: EventRecord): EventView {
  return {
    seq: event.seq,
    at: iso(event.at),
    type: event.type,
    ...(event.stepId !== undefined && { stepId: event.stepId }),
    ...(event.jobId !== undefined && { jobId: event.jobId }),
    ...(event.attempt !== undefined && { attempt: event.attempt }),
    actor: event.actor,
    ...(event.data !== undefined && { data: event.data }),
  };
}

export function executionView(
  execution: ExecutionRecord,
  steps: readonly StepRecord[],
  zk?: ZkProofRecord,
): ExecutionView {
  return {
    executionId: execution.id,
    workflowId: execution.workflowId,
    workflowVersion: execution.workflowVersion,
    workflowDigest: execution.workflowDigest,
    status: execution.status,
    result: execution.status === 'completed' ? execution.result : null,
    ...(execution.error && { error: execution.error }),
    createdAt: iso(execution.createdAt),
    ...(execution.finishedAt !== undefined && { finishedAt: iso(execution.finishedAt) }),
    spent: execution.spent,
    budget: execution.budget,
    steps: steps.map((s) => ({
      id: s.stepId,
      status: s.status,
      attempts: s.attempts,
      ...(s.queuedAt !== undefined && { queuedAt: iso(s.queuedAt) }),
      ...(s.startedAt !== undefined && { startedAt: iso(s.startedAt) }),
      ...(s.finishedAt !== undefined && { finishedAt: iso(s.finishedAt) }),
      cost: s.cost,
      ...(s.error && { error: s.error }),
      ...(s.skipReason !== undefined && { skipReason: s.skipReason }),
    })),
    ...(zk && {
      zk: {
        status: zk.status,
        circuit: zk.circuitId,
        batchesDone: zk.batchesDone,
        batchesTotal: zk.batchesTotal,
        ...(zk.error && { error: zk.error }),
      },
    }),
  };
}

/** The zk proof record a status view shows: only for executions that ran at level zk and have ended. */
export function zkRecordFor(store: Store, execution: ExecutionRecord): Promise<ZkProofRecord | undefined> {
  return execution.verificationLevel === 'zk' && execution.status === 'completed'
    ? store.read.getZkProof(execution.id)
    : Promise.resolve(undefined);
}

export async function loadExecutionView(store: Store, executionId: string): Promise<ExecutionView | undefined> {
  const execution = await store.read.getExecution(executionId);
  if (!execution) return undefined;
  return executionView(execution, await store.read.listSteps(executionId), await zkRecordFor(store, execution));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * One step as GET /v1/executions/{id}/steps/{stepId} shows it: its attempts (jobs, oldest first), the model
 * and input of the latest (or, before any job, the input it was decided to run with), and its result.
 */
export function stepDetailView(
  executionId: string,
  step: StepRecord,
  attempts: readonly JobRecord[],
  result: StepResultRecord | undefined,
  ready: { input: unknown } | undefined,
) {
  const latest = attempts.at(-1);
  const input: unknown = latest !== undefined ? latest.input : ready?.input;
  const model = latest?.spec.model;
  const modelDigest = model?.digest ?? latest?.modelDigest;
  const inputDigest = latest?.inputDigest ?? step.inputDigest;
  return {
    executionId,
    stepId: step.stepId,
    status: step.status,
    ...(latest && { stepType: latest.stepType }),
    ...(model && {
      model: {
        name: model.name,
        ...(model.version !== undefined && { version: model.version }),
        ...(modelDigest !== undefined && { digest: modelDigest }),
      },
    }),
    ...(step.queuedAt !== undefined && { queuedAt: iso(step.queuedAt) }),
    ...(step.startedAt !== undefined && { startedAt: iso(step.startedAt) }),
    ...(step.finishedAt !== undefined && { finishedAt: iso(step.finishedAt) }),
    cost: step.cost,
    ...(step.error && { error: step.error }),
    ...(step.skipReason !== undefined && { skipReason: step.skipReason }),
    attempts: attempts.map((j) => ({
      jobId: j.id,
      attempt: j.attempt,
      ...(j.replica !== undefined && { replica: j.replica }),
      status: j.status,
      ...(j.workerId !== undefined && { workerId: j.workerId }),
      queuedAt: iso(j.createdAt),
      ...(j.startedAt !== undefined && { startedAt: iso(j.startedAt) }),
      ...(j.finishedAt !== undefined && { finishedAt: iso(j.finishedAt) }),
      ...(j.leaseExpiresAt !== undefined && { leaseExpiresAt: iso(j.leaseExpiresAt) }),
      ...(j.error && { error: j.error }),
      ...(j.cost !== undefined && { cost: j.cost }),
    })),
    ...(input !== undefined && { input }),
    ...(inputDigest !== undefined && { inputDigest }),
    ...(result && {
      output: result.output,
      outputDigest: result.outputDigest,
      outputStorage: result.outputStorage ?? ('inline' as const),
    }),
  };
}

/**
 * The shape of the workflow an execution ran (GET /v1/executions/{id}/graph): steps, their dependencies
 * (the normalized definition's depends_on, which holds the steps its mappings read too), types and models;
 * no expressions or mappings, so the owner of a marketplace run sees no more of a hidden definition.
 */
export function executionGraphView(execution: ExecutionRecord, definition: WorkflowDefinition) {
  return {
    workflowId: execution.workflowId,
    workflowVersion: execution.workflowVersion,
    workflowDigest: execution.workflowDigest,
    verificationLevel: definition.verification_level,
    steps: definition.steps.map((step) => ({
      id: step.id,
      dependsOn: [...step.depends_on],
      stepType: step.step_type,
      ...(step.model_requirements?.name !== undefined && { model: step.model_requirements.name }),
    })),
  };
}
