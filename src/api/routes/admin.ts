import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiKeyRecord, WorkerRecord } from '../../store/records.js';
import { iso } from '../access.js';
import { apiKeyView, createKeyRequest, createdKey, errorBody, idParam, workerView } from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['admin'];

export function keyView(key: ApiKeyRecord) {
  return {
    id: key.id,
    principal: key.principal,
    role: key.role,
    createdAt: iso(key.createdAt)!,
    ...(key.revokedAt !== undefined && { revokedAt: iso(key.revokedAt)! }),
    ...(key.lastUsedAt !== undefined && { lastUsedAt: iso(key.lastUsedAt)! }),
  };
}

function workerRecordView(worker: WorkerRecord) {
  return {
    id: worker.id,
    name: worker.name,
    kind: worker.kind,
    status: worker.status,
    ...(worker.principal !== undefined && { principal: worker.principal }),
    ...(worker.keyId !== undefined && { keyId: worker.keyId }),
    capabilities: worker.capabilities,
    concurrency: worker.concurrency,
    startedAt: iso(worker.startedAt)!,
    lastSeenAt: iso(worker.lastSeenAt)!,
  };
}

export function registerAdminRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const admin = ['admin'] as const;

  api.post('/keys', {
    config: { roles: admin },
    schema: {
      operationId: 'createApiKey',
      tags,
      summary: 'Create an API key (the token is in this response only)',
      body: createKeyRequest,
      response: { 201: createdKey, 400: errorBody },
    },
    handler: async (request, reply) => {
      const { record, token } = await context.keys.create(request.body.principal, request.body.role);
      return reply.code(201).send({ ...keyView(record), token });
    },
  });

  api.get('/keys', {
    config: { roles: admin },
    schema: {
      operationId: 'listApiKeys',
      tags,
      summary: 'API keys (never their secrets)',
      response: { 200: z.object({ keys: z.array(apiKeyView) }) },
    },
    handler: async () => ({ keys: (await context.keys.list()).map(keyView) }),
  });

  api.delete('/keys/:id', {
    config: { roles: admin },
    schema: {
      operationId: 'revokeApiKey',
      tags,
      summary: 'Revoke an API key',
      params: idParam,
      response: { 200: apiKeyView, 404: errorBody },
    },
    handler: async (request) => keyView(await context.keys.revoke(request.params.id)),
  });

  api.get('/workers', {
    config: { roles: admin },
    schema: {
      operationId: 'listWorkers',
      tags,
      summary: 'Workers, registered and past',
      response: { 200: z.object({ workers: z.array(workerView) }) },
    },
    handler: async () => ({ workers: (await context.node.store.read.listWorkers()).map(workerRecordView) }),
  });
}
