import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { executionView } from '../../engine/view.js';
import { EXECUTION_STATUSES } from '../../store/records.js';
import type { ExecutionStatus } from '../../store/records.js';
import { iso, ownExecution, ownExecutionView } from '../access.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import {
  errorBody,
  executionList,
  historyPage,
  executionView as executionViewSchema,
  idParam,
  listExecutionsQuery,
  retryRequest,
} from '../schemas.js';
import type { ApiContext } from '../server.js';
import { eventView, streamExecutionEvents } from '../sse.js';

const tags = ['executions'];

export function registerExecutionRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { node } = context;

  api.get('/executions', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'listExecutions',
      tags,
      summary: 'Your executions, newest first',
      querystring: listExecutionsQuery,
      response: { 200: executionList, 400: errorBody },
    },
    handler: async (request) => {
      const key = principalOf(request);
      const statuses = request.query.status?.split(',') ?? [];
      const unknown = statuses.filter((s) => !EXECUTION_STATUSES.includes(s as ExecutionStatus));
      if (unknown.length > 0)
        throw new ApiError(
          'validation',
          `query.status: unknown status ${unknown.join(', ')}; use ${EXECUTION_STATUSES.join(', ')}`,
        );
      const limit = request.query.limit;
      const rows = await node.store.read.listExecutions({
        ...(statuses.length > 0 && { status: statuses as ExecutionStatus[] }),
        ...(request.query.workflow_id !== undefined && { workflowId: request.query.workflow_id }),
        ...(key.role !== 'admin' && { clientId: key.principal }),
        ...(request.query.before !== undefined && { before: request.query.before }),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        executions: page.map((e) => ({
          executionId: e.id,
          workflowId: e.workflowId,
          workflowVersion: e.workflowVersion,
          status: e.status,
          createdAt: iso(e.createdAt)!,
          ...(e.finishedAt !== undefined && { finishedAt: iso(e.finishedAt)! }),
        })),
        ...(rows.length > limit && { next: page.at(-1)!.id }),
      };
    },
  });

  api.get('/executions/:id', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getExecution',
      tags,
      summary: 'One execution',
      params: idParam,
      response: { 200: executionViewSchema, 404: errorBody },
    },
    handler: async (request) => {
      return ownExecutionView(request, context, request.params.id);
    },
  });

  api.post('/executions/:id/cancel', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'cancelExecution',
      tags,
      summary: 'Cancel a running execution',
      params: idParam,
      response: { 200: executionViewSchema, 404: errorBody, 409: errorBody },
    },
    handler: async (request) => {
      const key = principalOf(request);
      await ownExecution(request, context, request.params.id);
      const execution = await node.engine.cancel(request.params.id, `client:${key.principal}`);
      return executionView(execution, await node.store.read.listSteps(execution.id));
    },
  });

  api.post('/executions/:id/retry', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'retryExecution',
      tags,
      summary: 'Resume an execution that did not complete, from the steps that did not',
      params: idParam,
      body: retryRequest.nullish(),
      response: { 200: executionViewSchema, 400: errorBody, 404: errorBody, 409: errorBody, 429: errorBody },
    },
    handler: async (request) => {
      const key = principalOf(request);
      await ownExecution(request, context, request.params.id);
      const budget = request.body?.budget;
      // A retry makes the execution running again: it counts as a start.
      const execution = await context.quotas.admitExecution(key.principal, () =>
        node.engine.retry(request.params.id, `client:${key.principal}`, budget === undefined ? {} : { budget }),
      );
      return executionView(execution, await node.store.read.listSteps(execution.id));
    },
  });

  api.get('/executions/:id/history', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getExecutionHistory',
      tags,
      summary: "An execution's events, in order (JSON); the events route streams them",
      params: idParam,
      querystring: z.strictObject({
        after: z.string().max(64).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(1000),
      }),
      response: { 200: historyPage, 400: errorBody, 404: errorBody },
    },
    handler: async (request) => {
      const execution = await ownExecution(request, context, request.params.id);
      const page = await node.store.read.readEvents(execution.id, request.query.after, request.query.limit);
      return {
        events: page.map((e) => ({ ...eventView(e.event), cursor: e.cursor })),
        ...(page.length === request.query.limit && { next: page.at(-1)!.cursor }),
      };
    },
  });

  api.get('/executions/:id/events', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'streamExecutionEvents',
      tags,
      summary: "An execution's events as Server-Sent Events",
      description:
        "Replays every event after Last-Event-ID (or ?after=), in commit order, then follows live; each event's id is the cursor to resume from. An `end` event closes the stream once the execution has ended.",
      params: idParam,
      headers: z.object({ 'last-event-id': z.string().max(64).optional() }),
      querystring: z.strictObject({ after: z.string().max(64).optional() }),
      response: {
        200: z.string().meta({ description: 'text/event-stream' }),
        400: errorBody,
        404: errorBody,
        429: errorBody,
      },
    },
    handler: async (request, reply) => {
      const execution = await ownExecution(request, context, request.params.id);
      const release = context.quotas.openStream(principalOf(request).principal);
      // Released when the stream's loop ends, and when its connection closes, whichever comes first.
      reply.raw.once('close', release);
      try {
        await streamExecutionEvents(
          request,
          reply,
          context,
          execution,
          request.headers['last-event-id'] ?? request.query.after,
        );
      } finally {
        release();
      }
    },
  });

  api.get('/executions/:id/receipt', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getExecutionReceipt',
      tags,
      summary: "An execution's receipt bundle (as /v1/agents/{execution_id}/receipt)",
      params: idParam,
      querystring: z.strictObject({
        data: z.enum(['true', 'false']).optional(),
        zk_only: z.enum(['true', 'false']).optional(),
      }),
      response: { 200: z.record(z.string(), z.unknown()), 404: errorBody, 409: errorBody },
    },
    handler: async (request) => {
      const execution = await ownExecution(request, context, request.params.id);
      return node.bundle(execution.id, {
        includeData: request.query.data === 'true',
        zkOnly: request.query.zk_only === 'true',
      });
    },
  });
}
