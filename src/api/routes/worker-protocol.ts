import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ReportOutcome } from '../../coordinator/protocol.js';
import { CoordinatorError } from '../../coordinator/errors.js';
import type { WorkerRecord } from '../../store/records.js';
import { ownRemoteWorker } from '../access.js';
import { principalOf } from '../auth.js';
import { ApiError, QuotaError } from '../errors.js';
import type { QuotaName } from '../errors.js';
import {
  assignment,
  challengeResponse,
  claimRequest,
  completeRequest,
  errorBody,
  failRequest,
  heartbeatResponse,
  jobReport,
  registerRequest,
  registerResponse,
  reportOutcome,
  workerRef,
  zkLeafRequest,
} from '../schemas.js';
import type { ApiContext } from '../server.js';
import { checkRegistration, issueChallenge } from '../worker-challenge.js';

const tags = ['worker protocol'];
const roles = ['worker', 'admin'] as const;
const jobParam = z.strictObject({ jobId: z.string().min(1).max(100) });
const POLL_MS = 250;
/**
 * A refused report: the coordinator's outcome, or the API's own error body when the request is refused
 * before it reaches the coordinator (a bad key or role, a malformed body, a worker the key did not register).
 */
const refusal = z.union([reportOutcome, errorBody]);

/** How a refusal reads over HTTP: someone else's job, a bad nonce or attestation are 403; the rest are 409. */
const REFUSAL_STATUS: Record<string, number> = {
  unknown_job: 404,
  not_assigned: 403,
  bad_nonce: 403,
  bad_attestation: 403,
  stale_attempt: 409,
  late: 409,
  cancelled: 409,
  expired: 409,
  already_finished: 409,
  invalid_output: 400,
};

/**
 * The worker protocol over HTTP: a remote worker registers (proving it holds its key), long-polls for jobs
 * it can serve, keeps its lease alive, and reports results with their attestations. Workers are untrusted:
 * every call is checked against the worker's registration (and the API key that made it), and the
 * coordinator checks every report against its job.
 */
export function registerWorkerProtocol(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { node } = context;

  const ownWorker = (request: FastifyRequest, workerId: string): Promise<WorkerRecord> =>
    ownRemoteWorker(request, context, workerId);
  const answer = (reply: FastifyReply, outcome: ReportOutcome) =>
    outcome.accepted
      ? reply.code(200).send({ accepted: true })
      : reply
          .code(REFUSAL_STATUS[outcome.reason] ?? 409)
          .send({ accepted: false, reason: outcome.reason, message: outcome.message });

  api.post('/worker/challenge', {
    config: { roles },
    schema: {
      operationId: 'createWorkerChallenge',
      tags,
      summary: 'A challenge for the worker to sign with its key, to register',
      response: { 200: challengeResponse },
    },
    handler: (request) => issueChallenge(node.coordinatorSigner, principalOf(request).principal),
  });

  api.post('/worker/register', {
    config: { roles },
    schema: {
      operationId: 'registerWorker',
      tags,
      summary: 'Register a worker: its key (proven by signing a challenge) and what it can run',
      body: registerRequest,
      response: { 201: registerResponse, 400: errorBody, 403: errorBody, 429: errorBody },
    },
    handler: async (request, reply) => {
      const key = principalOf(request);
      const body = request.body;
      const proof = await checkRegistration(
        node.store,
        key.principal,
        body.challenge,
        body.publicKeyPem,
        body.signature,
        body.zkPublicKey,
      );
      if ('problem' in proof) throw new ApiError('forbidden', proof.problem);
      // One registration per challenge, or whoever saw a registration could replay it. Two replays racing
      // past this check register the same worker id, key and principal: the replay gains nothing.
      if (await node.store.read.getWorker(proof.workerId))
        throw new ApiError(
          'forbidden',
          'this challenge was used already; ask for a new one at POST /v1/worker/challenge',
        );
      const record = await withQuotaAs429(
        node.coordinator.registerWorker({
          id: proof.workerId,
          name: body.name,
          kind: 'remote',
          capabilities: {
            stepTypes: body.capabilities.stepTypes,
            models: body.capabilities.models,
            ...(body.capabilities.modelDigests && { modelDigests: body.capabilities.modelDigests }),
          },
          concurrency: body.concurrency,
          publicKeyPem: body.publicKeyPem,
          principal: key.principal,
          ...(body.zkPublicKey && { zkPublicKey: body.zkPublicKey }),
        }),
      );
      request.log.info({ workerId: record.id, keyId: record.keyId, principal: key.principal }, 'worker registered');
      return reply.code(201).send({ workerId: record.id, leaseMs: node.coordinator.options.leaseMs });
    },
  });

  api.post('/worker/claim', {
    config: { roles },
    schema: {
      operationId: 'claimJob',
      tags,
      summary: 'Long-poll for a job this worker can serve',
      description:
        'Holds the request until a job fits (200) or waitMs passes (204). The claim is atomic: two workers never get one job.',
      body: claimRequest,
      response: { 200: assignment, 204: z.null(), 404: errorBody, 409: errorBody },
    },
    handler: async (request, reply) => {
      const worker = await ownWorker(request, request.body.workerId);
      const waitMs = Math.min(request.body.waitMs, context.options.maxClaimWaitMs);
      const end = Date.now() + waitMs;
      const gone = new AbortController();
      // The response's close, not the request's: a request emits 'close' once its body has been read,
      // which is before this handler runs, so a worker that hung up would still be handed a job.
      reply.raw.once('close', () => gone.abort());
      for (;;) {
        if (gone.signal.aborted) return reply.code(204).send(null);
        const job = await node.coordinator.claim(worker.id, worker.capabilities, { start: request.body.start });
        if (job) {
          if (gone.signal.aborted) {
            // The worker hung up while we claimed: its lease will lapse and the job be re-queued.
            request.log.warn({ jobId: job.jobId }, 'claimed for a worker that went away');
          }
          return reply.code(200).send({ ...job, spec: job.spec as unknown as Record<string, unknown> });
        }
        const left = end - Date.now();
        if (left <= 0 || gone.signal.aborted || context.closing.aborted) return reply.code(204).send(null);
        await node.coordinator.notifier.wait(Math.min(left, POLL_MS), AbortSignal.any([gone.signal, context.closing]));
      }
    },
  });

  api.post('/worker/jobs/:jobId/start', {
    config: { roles },
    schema: {
      operationId: 'startJob',
      tags,
      summary: 'The worker begins the job (ASSIGNED → RUNNING)',
      params: jobParam,
      body: jobReport,
      response: { 204: z.null(), 404: errorBody, 409: errorBody },
    },
    handler: async (request, reply) => {
      await ownWorker(request, request.body.workerId);
      const started = await node.coordinator.start({ jobId: request.params.jobId, ...request.body });
      if (!started)
        throw new ApiError('conflict', "the job is not this worker's to start (reassigned, cancelled or expired)");
      return reply.code(204).send(null);
    },
  });

  api.post('/worker/jobs/:jobId/heartbeat', {
    config: { roles },
    schema: {
      operationId: 'heartbeatJob',
      tags,
      summary: "Extend the job's lease; says whether to go on",
      params: jobParam,
      body: jobReport,
      response: { 200: heartbeatResponse, 404: errorBody },
    },
    handler: async (request) => {
      await ownWorker(request, request.body.workerId);
      return { state: await node.coordinator.heartbeat({ jobId: request.params.jobId, ...request.body }) };
    },
  });

  api.post('/worker/jobs/:jobId/complete', {
    config: { roles },
    schema: {
      operationId: 'completeJob',
      tags,
      summary: "Report a job's output with the worker's signed attestation",
      description:
        'Accepted only from the assigned worker, for the current attempt, with the job nonce, before the deadline, and with an attestation signed by the registered key whose fields match the job. Anything else is refused (403 or 409) and changes nothing.',
      params: jobParam,
      body: completeRequest,
      response: { 200: reportOutcome, 400: refusal, 403: refusal, 404: refusal, 409: refusal },
    },
    handler: async (request, reply) => {
      await ownWorker(request, request.body.workerId);
      const { workerId, attempt, nonce, output, outputBlob, attestation } = request.body;
      return answer(
        reply,
        await node.coordinator.complete({
          jobId: request.params.jobId,
          workerId,
          attempt,
          nonce,
          output,
          ...(outputBlob && { outputBlob }),
          attestation,
        }),
      );
    },
  });

  api.post('/worker/jobs/:jobId/zk-leaf', {
    config: { roles },
    schema: {
      operationId: 'reportZkLeaf',
      tags,
      summary: "At verification level zk: the worker's Baby Jubjub signature of an accepted result's step leaf",
      description:
        'Sent after the result was accepted (its Ed25519 attestation is enough for that), by the worker that ran the job, with its nonce and the Baby Jubjub key it registered. It is recorded and checked off the step path; only the proof waits for it, and an invalid one fails the proof with its reason.',
      params: jobParam,
      body: zkLeafRequest,
      response: { 200: reportOutcome, 400: refusal, 403: refusal, 404: refusal, 409: refusal },
    },
    handler: async (request, reply) => {
      await ownWorker(request, request.body.workerId);
      const { workerId, attempt, nonce, publicKey, signature } = request.body;
      return answer(
        reply,
        await node.coordinator.reportZkLeaf({
          jobId: request.params.jobId,
          workerId,
          attempt,
          nonce,
          publicKey,
          signature,
        }),
      );
    },
  });

  api.post('/worker/jobs/:jobId/fail', {
    config: { roles },
    schema: {
      operationId: 'failJob',
      tags,
      summary: 'Report that a job failed',
      params: jobParam,
      body: failRequest,
      response: { 200: reportOutcome, 400: refusal, 403: refusal, 404: refusal, 409: refusal },
    },
    handler: async (request, reply) => {
      await ownWorker(request, request.body.workerId);
      const { workerId, attempt, nonce, error, cost } = request.body;
      return answer(
        reply,
        await node.coordinator.fail({
          jobId: request.params.jobId,
          workerId,
          attempt,
          nonce,
          error: {
            code: error.code,
            message: error.message,
            ...(error.retryable !== undefined && { retryable: error.retryable }),
          },
          cost,
        }),
      );
    },
  });

  api.post('/worker/seen', {
    config: { roles },
    schema: {
      operationId: 'reportWorkerSeen',
      tags,
      summary: 'The worker is alive (between jobs)',
      body: workerRef,
      response: { 204: z.null(), 404: errorBody },
    },
    handler: async (request, reply) => {
      await ownWorker(request, request.body.workerId);
      await node.coordinator.workerSeen(request.body.workerId);
      return reply.code(204).send(null);
    },
  });

  api.post('/worker/deregister', {
    config: { roles },
    schema: {
      operationId: 'deregisterWorker',
      tags,
      summary: 'The worker leaves; jobs it still holds go back to the queue',
      body: workerRef,
      response: { 204: z.null(), 404: errorBody },
    },
    handler: async (request, reply) => {
      await ownWorker(request, request.body.workerId);
      await node.coordinator.stopWorker(request.body.workerId);
      return reply.code(204).send(null);
    },
  });
}

/** A registration past a per-principal cap is a 429 whose body names the quota and its limit. */
async function withQuotaAs429<T>(registering: Promise<T>): Promise<T> {
  try {
    return await registering;
  } catch (error) {
    if (error instanceof CoordinatorError && error.code === 'quota_exceeded') {
      throw new QuotaError(error.context.quota as QuotaName, error.context.limit as number, error.message);
    }
    throw error;
  }
}
