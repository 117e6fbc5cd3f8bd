import type { FastifyRequest } from 'fastify';
import { blobDigestsIn } from '../blobs/blob-ref.js';
import { executionView, zkRecordFor } from '../engine/view.js';
import type { ExecutionView } from '../engine/view.js';
import type { ExecutionRecord, WorkerRecord } from '../store/records.js';
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
