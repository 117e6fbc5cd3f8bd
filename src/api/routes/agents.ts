import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { startAndAnswer } from '../start-execution.js';
import {
  LISTING_EXECUTE_ROUTE,
  checkInputBlobs,
  ownExecution,
  ownExecutionView,
  ownWorkflowVersion,
} from '../access.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import { errorBody, executeRequest, executionView as executionViewSchema } from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['agents'];

/** The plan's routes, as it names them. */
export function registerAgentRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { node } = context;

  api.post('/agents/:workflow_id/execute', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'executeAgent',
      tags,
      summary: 'Run one of your published workflows (its latest version unless the body names one)',
      description: `Starts an execution of a workflow your principal published (any of its keys; admins: any workflow). Another publisher's workflow is a 404, exactly like one that does not exist: it runs through its marketplace listing, ${LISTING_EXECUTE_ROUTE}. The same Idempotency-Key from the same client returns the same execution instead of starting another.`,
      params: z.strictObject({ workflow_id: z.string().min(1).max(64) }),
      headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
      body: executeRequest,
      response: { 202: executionViewSchema, 400: errorBody, 404: errorBody, 429: errorBody },
    },
    handler: async (request, reply) => {
      const key = principalOf(request);
      const { workflow_id: workflowId } = request.params;
      const { version } = request.body;
      const published = await ownWorkflowVersion(request, context, workflowId, { version, purpose: 'run' });
      const workflow = await node.store.read.getWorkflow(published.digest);
      if (!workflow) throw new ApiError('not_found', `workflow ${workflowId} v${published.version} has no definition`);
      const idempotencyKey = request.headers['idempotency-key'];
      // Absent inputs are none; an explicit null is not an object, and the engine says so.
      const inputs = request.body.inputs === undefined ? {} : request.body.inputs;
      await checkInputBlobs(request, context, inputs);
      const start = () =>
        node.engine.start({
          workflow,
          inputs,
          clientId: key.principal,
          ...(idempotencyKey !== undefined && { idempotencyKey }),
          ...(request.body.verification_level !== undefined && { verificationLevel: request.body.verification_level }),
          ...(request.body.budget !== undefined && { budget: request.body.budget }),
        });
      return startAndAnswer(context, reply, key.principal, idempotencyKey, start);
    },
  });

  api.get('/agents/:execution_id/status', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getExecutionStatus',
      tags,
      summary: "An execution's status, steps and result",
      params: z.strictObject({ execution_id: z.string().min(1).max(64) }),
      response: { 200: executionViewSchema, 404: errorBody },
    },
    handler: async (request) => {
      return ownExecutionView(request, context, request.params.execution_id);
    },
  });

  api.get('/agents/:execution_id/receipt', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getReceipt',
      tags,
      summary: "An execution's receipt bundle",
      description:
        'The bundle (docs/receipts.md): the signed receipt, the attestations, the keys and the log proof; with ?data=true also the data for level full; with ?zk_only=true the zk-only bundle (statement, proofs, verification key; no receipt, attestations or data). 409 while the execution runs, or (zk_only) while proofs are made.',
      params: z.strictObject({ execution_id: z.string().min(1).max(64) }),
      querystring: z.strictObject({
        data: z.enum(['true', 'false']).optional(),
        zk_only: z.enum(['true', 'false']).optional(),
      }),
      response: { 200: z.record(z.string(), z.unknown()), 404: errorBody, 409: errorBody },
    },
    handler: async (request) => {
      const execution = await ownExecution(request, context, request.params.execution_id);
      return node.bundle(execution.id, {
        includeData: request.query.data === 'true',
        zkOnly: request.query.zk_only === 'true',
      });
    },
  });
}
