import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiKeyRecord, WorkerRecord } from '../../store/records.js';
import type { LeasedJob } from '../../store/store.js';
import { iso } from '../access.js';
import {
  apiKeyView,
  createKeyRequest,
  createdKey,
  errorBody,
  idParam,
  metricsSummary,
  workerView,
} from '../schemas.js';
import type { ApiContext } from '../server.js';

const tags = ['admin'];

const MINUTE = 60_000;
const SUMMARY_MINUTES = 60;
/** The most completed steps whose latencies one summary reads: bounds its cost on a busy store. */
const SUMMARY_STEP_CAP = 100_000;

/** The value at quantile q of sorted values (nearest rank), or undefined for none. */
function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function latencies(durations: number[]) {
  durations.sort((a, b) => a - b);
  const p50 = quantile(durations, 0.5);
  const p95 = quantile(durations, 0.95);
  return { ...(p50 !== undefined && { stepLatencyP50Ms: p50 }), ...(p95 !== undefined && { stepLatencyP95Ms: p95 }) };
}

/** The summary of the hour before `now`: SUMMARY_MINUTES whole-minute buckets, the last one the current minute. */
export async function metricsSummaryOf(context: ApiContext, now: number) {
  // Buckets on minute boundaries, so two reads a few seconds apart agree on every bucket but the last.
  const from = (Math.floor(now / MINUTE) - (SUMMARY_MINUTES - 1)) * MINUTE;
  const activity = await context.node.store.read.recentActivity(from, SUMMARY_STEP_CAP);
  const stepsByBucket = new Map<number, number[]>();
  for (const s of activity.stepsCompleted) {
    const bucket = Math.floor((s.finishedAt - from) / MINUTE);
    const list = stepsByBucket.get(bucket) ?? [];
    list.push(s.durationMs);
    stepsByBucket.set(bucket, list);
  }
  const buckets = Array.from({ length: SUMMARY_MINUTES }, (_, i) => {
    const finished = activity.executionsFinished.get(i) ?? {};
    const ended = Object.values(finished).reduce((a, b) => a + b, 0);
    const completed = finished.completed ?? 0;
    return {
      start: iso(from + i * MINUTE)!,
      executionsStarted: activity.executionsStarted.get(i) ?? 0,
      executionsCompleted: completed,
      executionsFailed: ended - completed,
      stepsCompleted: stepsByBucket.get(i)?.length ?? 0,
      ...latencies([...(stepsByBucket.get(i) ?? [])]),
    };
  });
  const sum = (field: 'executionsStarted' | 'executionsCompleted' | 'executionsFailed' | 'stepsCompleted') =>
    buckets.reduce((a, b) => a + b[field], 0);
  return {
    source: 'store' as const,
    from: iso(from)!,
    to: iso(now)!,
    bucketMs: MINUTE,
    queueDepth: activity.queueDepth,
    totals: {
      executionsStarted: sum('executionsStarted'),
      executionsCompleted: sum('executionsCompleted'),
      executionsFailed: sum('executionsFailed'),
      stepsCompleted: sum('stepsCompleted'),
      ...latencies(activity.stepsCompleted.map((s) => s.durationMs)),
    },
    latencySampled: activity.stepsTruncated,
    buckets,
  };
}

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

/**
 * Workers say they are alive every 10 s (POST /v1/worker/seen). A remote worker that is killed cannot say
 * it stopped, and its row stays `active`; three missed pings mark it unresponsive, so an operator can tell
 * a worker that is there from one that was. Its jobs are taken back by lease expiry, not by this flag.
 */
export const UNRESPONSIVE_AFTER_MS = 30_000;

function workerRecordView(worker: WorkerRecord, jobs: readonly LeasedJob[], now: number) {
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
    responsive: worker.status === 'active' && now - worker.lastSeenAt <= UNRESPONSIVE_AFTER_MS,
    jobs: jobs.map((j) => ({
      jobId: j.id,
      executionId: j.executionId,
      stepId: j.stepId,
      attempt: j.attempt,
      // Leased jobs only: listLeasedJobs reads no other status.
      status: j.status as 'assigned' | 'running',
      ...(j.startedAt !== undefined && { startedAt: iso(j.startedAt)! }),
      ...(j.leaseExpiresAt !== undefined && { leaseExpiresAt: iso(j.leaseExpiresAt)! }),
    })),
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
      summary: 'Workers, registered and past, with the jobs each holds now',
      response: { 200: z.object({ workers: z.array(workerView) }) },
    },
    handler: async () => {
      const [workers, leased] = await Promise.all([
        context.node.store.read.listWorkers(),
        context.node.store.read.listLeasedJobs(),
      ]);
      const byWorker = new Map<string, LeasedJob[]>();
      for (const job of leased) {
        const held = byWorker.get(job.workerId);
        if (held) held.push(job);
        else byWorker.set(job.workerId, [job]);
      }
      return { workers: workers.map((w) => workerRecordView(w, byWorker.get(w.id) ?? [], Date.now())) };
    },
  });

  api.get('/metrics/summary', {
    config: { roles: admin },
    schema: {
      operationId: 'getMetricsSummary',
      tags,
      summary: 'The last hour in minute buckets: executions started and ended, steps completed, step latency',
      description: `Counted from the store (every replica's work, not only this process's; /metrics has this process's histograms): executions by created_at and finished_at, completed steps by finished_at with latency finished − started (of at most the first ${SUMMARY_STEP_CAP.toLocaleString('en')} steps: latencySampled says when more completed), and the jobs queued now.`,
      response: { 200: metricsSummary },
    },
    handler: async () => metricsSummaryOf(context, Date.now()),
  });
}
