import type { FastifyRequest } from 'fastify';
import { blobDigestsIn } from '../blobs/blob-ref.js';
import { executionView, zkRecordFor } from '../engine/view.js';
import type { ExecutionView } from '../engine/view.js';
import type { ExecutionRecord, WorkerRecord, WorkflowVersionRecord } from '../store/records.js';
import { canSee, principalOf } from './auth.js';
import { ApiError } from './errors.js';
import type { ApiContext } from './server.js';

/**
 * The execution a request names, if the caller may see it. Someone else's execution is a 404, exactly like
 * one that does not exist, so ids cannot be probed.
 */
export async function ownExecution(request: FastifyRequest, context: ApiContext, id: string): Promise<ExecutionRecord> {
  const execution = await context.node.store.read.getExecution(id);
  if (!execution || !canSee(request, execution.clientId)) throw new ApiError('not_found', `no execution ${id}`);
  return execution;
}

/**
 * A route's `preValidation` hook for `/executions/:id/…` routes with a body: another's execution is a 404
 * before the body is validated, so a malformed body (a 400) never tells an execution that exists from one that
 * does not, and the caller learns nothing from what it sends.
 */
export function ownExecutionFirst(context: ApiContext) {
  return async (request: FastifyRequest): Promise<void> => {
    await ownExecution(request, context, (request.params as { id: string }).id);
  };
}

/**
 * The view of an execution the caller may see (status routes). The execution and its steps are read at
 * once rather than one after the other: on PostgreSQL that is one round trip instead of two, and the steps
 * of an execution the caller may not see are read and dropped, never shown.
 */
export async function ownExecutionView(
  request: FastifyRequest,
  context: ApiContext,
  id: string,
): Promise<ExecutionView> {
  const [execution, steps] = await Promise.all([
    ownExecution(request, context, id),
    context.node.store.read.listSteps(id),
  ]);
  return executionView(execution, steps, await zkRecordFor(context.node.store, execution));
}

/**
 * The route other principals take to run a workflow: the plan's execute route runs only your own, so a
 * listing's price and access rules cannot be bypassed by calling the workflow directly.
 */
export const LISTING_EXECUTE_ROUTE = 'POST /v1/market/listings/{id}/execute';

/**
 * Whether the caller may see (and run) a published workflow: its owner's keys, whatever their role (a
 * principal's client key runs what its publisher key published), and admins. Every version of an id has
 * the owner of the first, so one version's owner is the id's.
 */
export function canSeeWorkflow(request: FastifyRequest, version: WorkflowVersionRecord): boolean {
  return canSee(request, version.owner);
}

/**
 * A published workflow version the caller owns (the latest unless `version` names one). Another
 * principal's workflow is a 404 with exactly the message of one that does not exist, so ids cannot be
 * probed; `purpose: 'run'` words it for the execute route, pointing at the marketplace.
 */
export async function ownWorkflowVersion(
  request: FastifyRequest,
  context: ApiContext,
  id: string,
  options: { version?: number | undefined; purpose?: 'read' | 'run' } = {},
): Promise<WorkflowVersionRecord> {
  const { version, purpose = 'read' } = options;
  const found = await context.node.store.read.getWorkflowVersion(id, version);
  if (found && canSeeWorkflow(request, found)) return found;
  const named = `${id}${version === undefined ? '' : ` v${version}`}`;
  throw new ApiError(
    'not_found',
    purpose === 'run'
      ? `no workflow ${named} of yours: run your own with this route (publish it with POST /v1/workflows), or another publisher's through its marketplace listing with ${LISTING_EXECUTE_ROUTE}`
      : `no published workflow ${named}`,
  );
}

export function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** The remote worker a call names, if the calling key registered it (another key's worker is a 404) and it is active. */
export async function ownRemoteWorker(
  request: FastifyRequest,
  context: ApiContext,
  workerId: string,
): Promise<WorkerRecord> {
  const key = principalOf(request);
  const worker = await context.node.store.read.getWorker(workerId);
  if (!worker || worker.kind !== 'remote' || (worker.principal !== key.principal && key.role !== 'admin')) {
    throw new ApiError('not_found', `no worker ${workerId} registered with this key; register first`);
  }
  if (worker.status !== 'active')
    throw new ApiError('conflict', `worker ${workerId} is ${worker.status}; register again`);
  return worker;
}

/**
 * An execution's inputs may name only blobs its client may read (ones it uploaded, or its executions
 * produced). Checked here so the mistake is a 400 at once; the worker side checks again at every read.
 */
export async function checkInputBlobs(request: FastifyRequest, context: ApiContext, inputs: unknown): Promise<void> {
  const key = principalOf(request);
  if (key.role === 'admin') return;
  for (const digest of blobDigestsIn(inputs)) {
    if (!(await context.node.store.read.hasBlobGrant(digest, key.principal))) {
      throw new ApiError(
        'validation',
        `body.inputs: names blob ${digest}, which is not one you uploaded or your executions produced; upload it first with POST /v1/blobs`,
      );
    }
  }
}
