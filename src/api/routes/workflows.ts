import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { WorkflowRegistry } from '../../registry/workflow-registry.js';
import type { WorkflowRecord, WorkflowVersionRecord } from '../../store/records.js';
import { validateWorkflowText } from '../../workflow/load.js';
import { validateWorkflow } from '../../workflow/validate.js';
import type { ValidationResult } from '../../workflow/validate.js';
import { canSeeWorkflow, ownWorkflowVersion } from '../access.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import { definitionBody, errorBody, validationResult, workflowDetail, workflowVersion } from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['workflows'];
const workflowIdParam = z.string().min(1).max(64);

export function registerWorkflowRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { node } = context;
  const registry = new WorkflowRegistry(node.store, node.engine);

  const versionView = async (version: WorkflowVersionRecord, workflow?: WorkflowRecord) => {
    const record = workflow ?? (await node.store.read.getWorkflow(version.digest));
    if (!record)
      throw new ApiError('not_found', `workflow ${version.workflowId} v${version.version} has no definition`);
    return {
      workflowId: version.workflowId,
      version: version.version,
      digest: version.digest,
      name: record.definition.name,
      description: record.definition.description,
      owner: version.owner,
      createdAt: new Date(version.createdAt).toISOString(),
      steps: record.definition.steps.length,
      definition: record.definition as unknown as Record<string, unknown>,
    };
  };
  const summary = async (version: WorkflowVersionRecord) => {
    const { definition: _definition, ...rest } = await versionView(version);
    return rest;
  };

  api.post('/workflows', {
    config: { roles: ['publisher', 'admin'] },
    schema: {
      operationId: 'publishWorkflow',
      tags,
      summary: 'Publish a workflow',
      description:
        "Validates a definition and publishes it as the workflow's next version (the server numbers versions). Publishing the same content as the latest version returns it (200) instead of making a new one (201). Only the publisher that first published an id may publish more versions of it.",
      body: definitionBody,
      response: { 200: workflowDetail, 201: workflowDetail, 400: errorBody, 403: errorBody },
    },
    handler: async (request, reply) => {
      const key = principalOf(request);
      const published = await registry.publish(request.body, key.principal, key.role === 'admin');
      return reply.code(published.created ? 201 : 200).send(await versionView(published.version, published.workflow));
    },
  });

  api.post('/workflows/validate', {
    config: { roles: ['client', 'publisher', 'admin'] },
    schema: {
      operationId: 'validateWorkflow',
      tags,
      summary: 'Validate a definition without publishing it',
      body: definitionBody,
      response: { 200: validationResult },
    },
    handler: (request) =>
      toValidation(
        typeof request.body === 'string' ? validateWorkflowText(request.body) : validateWorkflow(request.body),
      ),
  });

  api.get('/workflows', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'listWorkflows',
      tags,
      summary: 'Your published workflows (every one for an admin), latest version of each',
      description:
        "A workflow is visible to its owner's keys, whatever their role, and to admins; another publisher's workflows are not listed (they run through marketplace listings).",
      response: { 200: z.object({ workflows: z.array(workflowVersion) }) },
    },
    handler: async (request) => ({
      workflows: await Promise.all(
        (await node.store.read.listWorkflowVersions()).filter((v) => canSeeWorkflow(request, v)).map(summary),
      ),
    }),
  });

  api.get('/workflows/:id', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getWorkflow',
      tags,
      summary: 'The latest version of a workflow, with its definition',
      description: "404 for another principal's workflow, exactly as for one that does not exist.",
      params: z.strictObject({ id: workflowIdParam }),
      response: { 200: workflowDetail, 404: errorBody },
    },
    handler: async (request) => versionView(await ownWorkflowVersion(request, context, request.params.id)),
  });

  api.get('/workflows/:id/versions', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'listWorkflowVersions',
      tags,
      summary: 'Every version of a workflow',
      description: "404 for another principal's workflow, exactly as for one that does not exist.",
      params: z.strictObject({ id: workflowIdParam }),
      response: { 200: z.object({ versions: z.array(workflowVersion) }), 404: errorBody },
    },
    handler: async (request) => {
      await ownWorkflowVersion(request, context, request.params.id);
      const versions = await node.store.read.listWorkflowVersions(request.params.id);
      return { versions: await Promise.all(versions.map(summary)) };
    },
  });

  api.get('/workflows/:id/versions/:version', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'getWorkflowVersion',
      tags,
      summary: 'One version of a workflow, with its definition',
      description: "404 for another principal's workflow, exactly as for one that does not exist.",
      params: z.strictObject({ id: workflowIdParam, version: z.coerce.number().int().min(1) }),
      response: { 200: workflowDetail, 404: errorBody },
    },
    handler: async (request) =>
      versionView(await ownWorkflowVersion(request, context, request.params.id, { version: request.params.version })),
  });
}

function toValidation(result: ValidationResult) {
  return result.ok
    ? { valid: true, errors: [], warnings: result.warnings, summary: result.summary }
    : { valid: false, errors: result.errors, warnings: result.warnings };
}
