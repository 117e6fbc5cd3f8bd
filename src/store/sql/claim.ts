import type { ClaimRequest } from '../store.js';
import { placeholders } from './columns.js';
import type { SqlValue } from './columns.js';
import { jobs } from './tables.js';

/**
 * The claim statement both adapters share: assign the oldest claimable queued job that the worker can
 * serve and return it. `lock` is what PostgreSQL adds to the inner select (`FOR UPDATE SKIP LOCKED`) so
 * concurrent claimers skip each other's rows instead of queueing on them; SQLite's write lock already
 * serializes claimers.
 */
export function claimStatement(request: ClaimRequest, lock: string): { sql: string; params: SqlValue[] } {
  const { canServe, matchParams } = servable(request);
  // A worker that starts at once gets the job RUNNING in the same statement, not in a second one.
  const status = request.start === true ? `'running', started_at = ?` : `'assigned'`;
  const sql = `UPDATE jobs SET status = ${status}, worker_id = ?, nonce = ?, assigned_at = ?,
      lease_expires_at = ?, deadline_at = ? + timeout_ms, principal = ${PRINCIPAL_OF_WORKER}
    WHERE status = 'queued' AND id = (
      SELECT id FROM jobs WHERE status = 'queued' AND available_at <= ? AND (${canServe}) AND ${NOT_A_SIBLING}
      ORDER BY available_at, id LIMIT 1 ${lock})
    RETURNING ${jobs.columns}`;
  const params: SqlValue[] = [
    ...(request.start === true ? [request.now] : []),
    request.workerId,
    request.nonce,
    request.now,
    request.now + request.leaseMs,
    request.now,
    request.workerId,
    request.now,
    ...matchParams,
    request.workerId,
    request.workerId,
  ];
  return { sql, params };
}

/** Whether any job is claimable by this worker now: a plain read, to skip a write transaction that would find nothing. */
export function peekStatement(
  request: Pick<ClaimRequest, 'workerId' | 'stepTypes' | 'models' | 'modelDigests' | 'now'>,
): { sql: string; params: SqlValue[] } {
  const { canServe, matchParams } = servable(request);
  return {
    sql: `SELECT 1 AS found FROM jobs WHERE status = 'queued' AND available_at <= ? AND (${canServe}) AND ${NOT_A_SIBLING} LIMIT 1`,
    params: [request.now, ...matchParams, request.workerId, request.workerId],
  };
}

/**
 * The principal the worker was registered under (its API key's, or its node's for an in-process worker),
 * recorded on the job it is assigned: what a redundancy quorum counts.
 */
const PRINCIPAL_OF_WORKER = '(SELECT w.principal FROM workers w WHERE w.id = ?)';

/**
 * A redundant step's replicas must run on distinct workers of distinct principals: a worker never gets a
 * job of a step attempt that it, or another worker of its principal, already holds (or held). One party's
 * second replica would not count towards the quorum, so it would only take the place of someone else's.
 * (Two claims racing may still both win; the quorum counts principals, so that gains nothing.) Steps that
 * run once have no such siblings (a retry is a new attempt), and say so first: with the anti-join on every
 * queued job, PostgreSQL planned a hash anti-join over the whole jobs table, then a sort of the queue,
 * once the statistics showed most jobs done by one worker (100 ms a claim with 7,000 queued among 22,000);
 * with `replica IS NULL` first it walks jobs_claimable in order and stops at the first (0.1 ms).
 */
const NOT_A_SIBLING = `(jobs.replica IS NULL OR NOT EXISTS (SELECT 1 FROM jobs sibling
  WHERE sibling.execution_id = jobs.execution_id AND sibling.step_id = jobs.step_id AND sibling.attempt = jobs.attempt
  AND (sibling.worker_id = ? OR sibling.principal = ${PRINCIPAL_OF_WORKER})))`;

function servable(request: Pick<ClaimRequest, 'stepTypes' | 'models' | 'modelDigests'>): {
  canServe: string;
  matchParams: SqlValue[];
} {
  const match: string[] = [];
  const matchParams: SqlValue[] = [];
  if (request.stepTypes.length > 0) {
    match.push(`(model IS NULL AND step_type IN (${placeholders(request.stepTypes.length)}))`);
    matchParams.push(...request.stepTypes);
  }
  // A job that pins a model digest goes only to a worker that serves that model with exactly that digest.
  const digests = request.modelDigests ?? {};
  const known = request.models.filter((m) => digests[m] !== undefined);
  const unknown = request.models.filter((m) => digests[m] === undefined);
  if (unknown.length > 0) {
    match.push(`(model IN (${placeholders(unknown.length)}) AND model_digest IS NULL)`);
    matchParams.push(...unknown);
  }
  for (const model of known) {
    match.push('(model = ? AND (model_digest IS NULL OR model_digest = ?))');
    matchParams.push(model, digests[model]!);
  }
  return { canServe: match.length > 0 ? match.join(' OR ') : '1 = 0', matchParams };
}
