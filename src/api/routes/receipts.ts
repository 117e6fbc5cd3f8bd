import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { toBase64 } from '../../attest/bytes.js';
import { ApiError } from '../errors.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import {
  checkpointResponse,
  consistencyQuery,
  consistencyResponse,
  coordinatorKey,
  errorBody,
  inclusionQuery,
  inclusionResponse,
  verificationReport,
  verifyRequest,
} from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['receipts'];

export function registerReceiptRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { node } = context;
  const anyone = ['client', 'publisher', 'worker', 'admin'] as const;

  api.post('/receipts/verify', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'verifyBundle',
      tags,
      summary: 'Verify a bundle',
      description:
        "Runs the verifier (the same code as `verity verify`) on a bundle, in a process of its own with a time and memory limit: a bundle that exceeds them is reported unusable. One bundle at a time per principal (429, quota verifications). Without trustedKeys it trusts this server's coordinator keys; to check a server without trusting it, verify offline.",
      body: verifyRequest,
      response: { 200: verificationReport, 400: errorBody, 429: errorBody, 503: errorBody },
    },
    handler: async (request) => {
      const { bundle, level } = request.body;
      const done = context.quotas.startVerification(principalOf(request).principal);
      let outcome;
      try {
        const trustedKeys =
          request.body.trustedKeys ?? (await node.store.read.listKeys('coordinator')).map((k) => k.publicKeyPem);
        outcome = await context.verifier.verify({ bundle, trustedKeys, level });
      } finally {
        done();
      }
      if (outcome.ok) return outcome.report;
      if (outcome.busy) throw new ApiError('unavailable', `${outcome.message}; retry in a few seconds`);
      return { ok: false, level, unusable: outcome.message, checks: [] };
    },
  });

  api.get('/keys/coordinator', {
    config: { roles: anyone },
    schema: {
      operationId: 'getCoordinatorKey',
      tags,
      summary: "This server's coordinator public key: what verifiers trust",
      response: { 200: coordinatorKey },
    },
    handler: () => ({ keyid: node.coordinatorSigner.keyId, publicKeyPem: node.coordinatorSigner.publicKeyPem }),
  });

  api.get('/log/checkpoint', {
    config: { roles: anyone },
    schema: {
      operationId: 'getLogCheckpoint',
      tags,
      summary: 'A signed checkpoint of the transparency log (C2SP tlog-checkpoint)',
      response: { 200: checkpointResponse },
    },
    handler: async () => {
      const checkpoint = await node.log.checkpoint();
      return {
        origin: node.log.origin,
        size: checkpoint.size,
        rootHash: toBase64(checkpoint.root),
        checkpoint: checkpoint.note,
      };
    },
  });

  api.get('/log/inclusion', {
    config: { roles: anyone },
    schema: {
      operationId: 'getLogInclusionProof',
      tags,
      summary: 'An inclusion proof (RFC 9162 §2.1.3) of one leaf, with a checkpoint of the same size',
      querystring: inclusionQuery,
      response: { 200: inclusionResponse, 400: errorBody },
    },
    handler: async (request) => {
      const checkpoint = await node.log.checkpoint(request.query.size);
      const proof = await node.log.inclusionProof(request.query.index, checkpoint.size);
      return { index: request.query.index, size: proof.size, proof: proof.proof, checkpoint: checkpoint.note };
    },
  });

  api.get('/log/consistency', {
    config: { roles: anyone },
    schema: {
      operationId: 'getLogConsistencyProof',
      tags,
      summary: 'A consistency proof (RFC 9162 §2.1.4) between two tree sizes, with a checkpoint of the larger',
      querystring: consistencyQuery,
      response: { 200: consistencyResponse, 400: errorBody },
    },
    handler: async (request) => {
      const checkpoint = await node.log.checkpoint(request.query.to);
      const proof = await node.log.consistencyProof(request.query.from, checkpoint.size);
      return { from: proof.size1, to: proof.size2, proof: proof.proof, checkpoint: checkpoint.note };
    },
  });
}
