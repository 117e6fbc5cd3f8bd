import type { FastifyReply } from 'fastify';
import { executionView } from '../engine/view.js';
import type { ExecutionRecord } from '../store/records.js';
import type { ApiContext } from './server.js';

/**
 * The one way a route starts an execution for a caller: within the principal's running-executions quota,
 * except that a repeated Idempotency-Key answers the execution it started, which the quota counted already;
 * then a 202 with the execution's view and its location. The plan's execute route and a listing's share it.
 */
export async function startAndAnswer(
  context: ApiContext,
  reply: FastifyReply,
  principal: string,
  idempotencyKey: string | undefined,
  start: () => Promise<ExecutionRecord>,
): Promise<FastifyReply> {
  const { node } = context;
  const replay =
    idempotencyKey !== undefined &&
    (await node.store.read.findExecutionByIdempotencyKey(principal, idempotencyKey)) !== undefined;
  const execution = replay ? await start() : await context.quotas.admitExecution(principal, start);
  context.metrics.executionStarted();
  void reply.header('location', `/v1/executions/${execution.id}`);
  return reply.code(202).send(executionView(execution, await node.store.read.listSteps(execution.id)));
}
