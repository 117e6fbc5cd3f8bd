import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { executionGraphView, executionRowView, executionView, stepDetailView } from '../../engine/view.js';
import { EXECUTION_STATUSES } from '../../store/records.js';
import type { ExecutionStatus } from '../../store/records.js';
import type { ExecutionKey } from '../../store/store.js';
import { ownExecution, ownExecutionView } from '../access.js';
import { CLIENT_ROLES, canSee, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import {
  errorBody,
  executionList,
  historyPage,
  executionView as executionViewSchema,
  idParam,
  listExecutionsQuery,
  executionStreamQuery,
  retryRequest,
  stepDetail,
  executionGraph,
  stepParams,
} from '../schemas.js';
import type { ApiContext } from '../server.js';
import { eventView, parseChangeCursor, streamExecutionChanges, streamExecutionEvents } from '../sse.js';

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
      // `before` is the id of the last row of the page before (what `next` gave): the page continues after
      // its (created_at, id). One it may not see is refused like one that does not exist.
      let after: ExecutionKey | undefined;
      if (request.query.before !== undefined) {
        const last = await node.store.read.getExecution(request.query.before);
        if (!last || !canSee(request, last.clientId))
          throw new ApiError('validation', `query.before: no execution ${request.query.before}`);
        after = { createdAt: last.createdAt, id: last.id };
      }
      const rows = await node.store.read.listExecutionSummaries({
        ...(statuses.length > 0 && { status: statuses as ExecutionStatus[] }),
        ...(request.query.workflow_id !== undefined && { workflowId: request.query.workflow_id }),
        ...(key.role !== 'admin' && { clientId: key.principal }),
        ...(after && { after }),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        executions: page.map(executionRowView),
        ...(rows.length > limit && { next: page.at(-1)!.id }),
      };
    },
  });

  api.get('/executions/stream', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'streamExecutions',
      tags,
      summary: 'Your executions as they change, as Server-Sent Events',
      description:
        'An `execution` event (data: the row as GET /v1/executions shows it) whenever one of your executions is created or its row changes: status, spend, steps done. Resume after Last-Event-ID (or ?since=); a resumed stream may repeat the rows of the last two seconds before it, so apply events by executionId and updatedAt. Without either it starts two seconds back, so a client that has just read the list misses nothing.',
      headers: z.object({ 'last-event-id': z.string().max(120).optional() }),
      querystring: executionStreamQuery,
      response: {
        200: z.string().meta({ description: 'text/event-stream' }),
        400: errorBody,
        429: errorBody,
      },
    },
    handler: async (request, reply) => {
      const key = principalOf(request);
      const resumeFrom = request.headers['last-event-id'] ?? request.query.since;
      // Parsed before answering, so a bad cursor is a 400, not a broken stream.
      const since = resumeFrom === undefined ? undefined : parseChangeCursor(resumeFrom);
      const release = context.quotas.openStream(key.principal);
      reply.raw.once('close', release);
      try {
        await streamExecutionChanges(
          request,
          reply,
          context,
          key.role === 'admin' ? undefined : key.principal,
          since,
          executionRowView,
        );
      } finally {
        release();
      }
    },
  });

  api.get('/executions/:id/steps/:stepId', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getExecutionStep',
      tags,
      summary: 'One step: its attempts, model, resolved input and (once completed) output',
      description:
        "The input is what the step's job was given (or, for a step decided to run and waiting for a slot, what it will be). An output too large for a row is stored as a blob: `output` is then a reference to it (outputStorage blob), readable with GET /v1/blobs/{digest}.",
      params: stepParams,
      response: { 200: stepDetail, 404: errorBody },
    },
    handler: async (request) => {
      const { id, stepId } = request.params;
      const execution = await ownExecution(request, context, id);
      const [step, attempts, results] = await Promise.all([
        node.store.read.getStep(execution.id, stepId),
        node.store.read.listJobsOfStep(execution.id, stepId),
        node.store.read.getStepResults(execution.id, [stepId]),
      ]);
      if (!step) throw new ApiError('not_found', `no step ${stepId} in execution ${id}`);
      const latest = attempts.at(-1);
      // Before its first job a step decided to run keeps its input among the ready ones.
      const ready = latest === undefined ? await node.store.read.getReadyInput(execution.id, stepId) : undefined;
      return stepDetailView(execution.id, step, attempts, results[0], ready);
    },
  });

  api.get('/executions/:id/graph', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getExecutionGraph',
      tags,
      summary: "The steps of the execution's workflow and their dependencies, to draw its DAG",
      description:
        "For the execution's owner even when the workflow is another publisher's whose definition is not shown (a marketplace run): step ids, dependencies (explicit and read through mappings), step types and models, and no expressions or mappings.",
      params: idParam,
      response: { 200: executionGraph, 404: errorBody },
    },
    handler: async (request) => {
      const execution = await ownExecution(request, context, request.params.id);
      const workflow = await node.store.read.getWorkflow(execution.workflowDigest);
      if (!workflow) throw new ApiError('not_found', `the workflow of execution ${execution.id} is not stored`);
      return executionGraphView(execution, workflow.definition);
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
