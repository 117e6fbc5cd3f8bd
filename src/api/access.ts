import type { FastifyRequest } from 'fastify';
import { executionView } from '../engine/view.js';
import type { ExecutionView } from '../engine/view.js';
import type { ExecutionRecord } from '../store/records.js';
import { canSee } from './auth.js';
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
export async function ownExecutionView(request: FastifyRequest, context: ApiContext, id: string): Promise<ExecutionView> {
  const [execution, steps] = await Promise.all([ownExecution(request, context, id), context.node.store.read.listSteps(id)]);
  return executionView(execution, steps);
}

export function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
