import type { FastifyRequest } from 'fastify';
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

export function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}
