import type {
  ChainAttestorBindingKey,
  ClaimRequest,
  ExecutionChangeKey,
  ExecutionFilter,
  ExecutionPageFilter,
  ExecutionSummary,
  LeasedJob,
  RecentActivity,
  ExecutionPatch,
  JobGuard,
  JobPatch,
  LedgerAmounts,
  LedgerPage,
  LockedJob,
  Patch,
  ListingSearch,
  ListingSearchPage,
  StepPatch,
  StepProgress,
  StepResultSummary,
  StoreReads,
  StoreTx,
  WorkerPatch,
  ZkProofGuard,
  ZkProofPatch,
} from '../store.js';
import type {
  ApiKeyRecord,
  BlobRecord,
  ChainAddressBindingRecord,
  ChainAttestorBindingRecord,
  ReplicaResultRecord,
  EventAt,
  WorkflowVersionRecord,
  KeyRecord,
  LedgerBalance,
  LedgerCheckReport,
  LedgerPosting,
  LedgerTransactionRecord,
  ListingRecord,
  ListingStats,
  LogNode,
  MarketRatingRecord,
  MarketRunRecord,
  MarketSettlementRecord,
  MarketSubscriptionRecord,
  ReceiptRecord,
  EventRecord,
  ExecutionRecord,
  ExecutionStatus,
  JobRecord,
  JobStatus,
  NewEvent,
  StepRecord,
  StepResultRecord,
  StepStatus,
  WorkerRecord,
  WorkflowRecord,
  ZkLeafRecord,
  ZkProofRecord,
  ZkRegistryRecord,
} from '../records.js';
import { LEASED_JOB_STATUSES } from '../records.js';
import { StoreError } from '../errors.js';
import { peekStatement } from './claim.js';
import { listPriceOf, listingOf, listingStats, searchListings, searchTextOf } from './market-sql.js';
import { aliased, placeholders } from './columns.js';
import type { Row, SqlValue, Table } from './columns.js';
import * as t from './tables.js';

/**
 * The store's queries in SQL that SQLite and PostgreSQL both accept (`?` placeholders, `ON CONFLICT`,
 * `RETURNING`, partial indexes). What differs between them (locking, claiming, DDL) comes from the adapter
 * through `SqlDialect`.
 */
export interface SqlConnection {
  all(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * A statement whose answer nobody reads (a write, or a lock taken for its effect), sent without waiting
   * for it: it runs after the statements before it and before those after it. If it fails, the
   * transaction's next `all`/`run`, or its commit, throws that failure. (SQLite runs it at once.)
   */
  send(sql: string, params?: readonly SqlValue[]): void;
}

export interface SqlDialect {
  /** Reads one execution row and holds it for the rest of the transaction. */
  readonly lockExecutionSql: string;
  /** Reads one ledger account's balances (as decimal text) and holds the row for the rest of the transaction. */
  readonly lockLedgerAccountSql: string;
  /** What makes a SELECT hold the rows it reads until commit: ` FOR UPDATE`, or nothing where the write lock does. */
  readonly forUpdate: string;
  /** The same for the rows of one table of a join, by its alias (` FOR UPDATE OF e`). */
  forUpdateOf(alias: string): string;
  claimJob(conn: SqlConnection, request: ClaimRequest): Promise<Row | undefined>;
  /**
   * Called right before a transaction inserts its events, and holding until it commits: after this, no other
   * transaction inserts events of these executions until this one has committed. That is what makes an
   * execution's seq order its commit order, so that a reader paging by seq never passes an event whose
   * transaction commits later. SQLite needs nothing (its writes are serialized already).
   */
  serializeEvents?(conn: SqlConnection, executionIds: readonly string[]): void;
  /**
   * The same lock as serializeEvents for one execution, as an expression a statement that touches the
   * execution's row once can RETURN: the update of the execution row then takes it, and the events insert
   * needs no statement of its own for it.
   */
  eventLockExpression?(executionId: string): { sql: string; params: SqlValue[] };
}

const CHUNK = 200;

export class SqlReads implements StoreReads {
  constructor(
    protected readonly conn: SqlConnection,
    protected readonly sqlDialect: SqlDialect,
  ) {}

  protected async one<R>(table: Table<R>, where: string, params: SqlValue[]): Promise<R | undefined> {
    const rows = await this.conn.all(`SELECT ${table.columns} FROM ${table.name} WHERE ${where}`, params);
    return rows[0] ? table.fromRow(rows[0]) : undefined;
  }

  protected async many<R>(table: Table<R>, rest: string, params: SqlValue[]): Promise<R[]> {
    const rows = await this.conn.all(`SELECT ${table.columns} FROM ${table.name} ${rest}`, params);
    return rows.map((row) => table.fromRow(row));
  }

  getWorkflow(digest: string): Promise<WorkflowRecord | undefined> {
    return this.one(t.workflows, 'digest = ?', [digest]);
  }

  listWorkflows(workflowId?: string): Promise<WorkflowRecord[]> {
    return workflowId === undefined
      ? this.many(t.workflows, 'ORDER BY workflow_id, version, created_at', [])
      : this.many(t.workflows, 'WHERE workflow_id = ? ORDER BY version, created_at', [workflowId]);
  }

  getExecution(id: string): Promise<ExecutionRecord | undefined> {
    return this.one(t.executions, 'id = ?', [id]);
  }

  async findExecutionIds(prefix: string, limit: number): Promise<string[]> {
    // A range scan on the primary key: ids are lowercase hex and dashes, so prefix + 'g' bounds the range.
    // Not '~': linguistic collations (en_US.UTF-8, ICU) sort symbols before digits, which empties the range.
    const rows = await this.conn.all('SELECT id FROM executions WHERE id >= ? AND id < ? ORDER BY id LIMIT ?', [
      prefix,
      `${prefix}g`,
      limit,
    ]);
    return rows.map((r) => r.id as string);
  }

  listExecutions(filter: ExecutionFilter): Promise<ExecutionRecord[]> {
    const { where, params } = executionConditions(filter);
    if (filter.before !== undefined) {
      where.push('id < ?');
      params.push(filter.before);
    }
    params.push(filter.limit ?? 100);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    return this.many(t.executions, `${clause} ORDER BY id DESC LIMIT ?`, params);
  }

  listExecutionSummaries(filter: ExecutionPageFilter): Promise<ExecutionSummary[]> {
    const { where, params } = executionConditions(filter);
    if (filter.after !== undefined) {
      // The first conjunct is a range on the index on both databases (an OR alone is a filter: PostgreSQL and
      // SQLite would walk the index from the top, page 200 costing 200 pages); the second settles the ties.
      where.push('created_at <= ? AND (created_at < ? OR id < ?)');
      params.push(filter.after.createdAt, filter.after.createdAt, filter.after.id);
    }
    return this.summaries(where, params, 'created_at DESC, id DESC', filter.limit);
  }

  listExecutionChanges(filter: {
    clientId?: string;
    after?: ExecutionChangeKey;
    limit: number;
  }): Promise<ExecutionSummary[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.clientId !== undefined) {
      where.push('client_id = ?');
      params.push(filter.clientId);
    }
    if (filter.after !== undefined) {
      // As in listExecutionSummaries: a range on the index, then the ties.
      where.push('updated_at >= ? AND (updated_at > ? OR id > ?)');
      params.push(filter.after.updatedAt, filter.after.updatedAt, filter.after.id);
    }
    return this.summaries(where, params, 'updated_at, id', filter.limit);
  }

  /**
   * One page of execution rows and their step counts in one statement: the page is chosen first (a CTE, so
   * the LIMIT applies to executions), then only its executions' steps are grouped and joined.
   */
  private async summaries(where: string[], params: SqlValue[], order: string, limit: number) {
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const rows = await this.conn.all(
      `WITH page AS (
        SELECT id, workflow_id, workflow_version, client_id, status, spent, budget, created_at, started_at,
          finished_at, updated_at
        FROM executions ${clause} ORDER BY ${order} LIMIT ?
      )
      SELECT page.*, COALESCE(c.total, 0) AS n_total, COALESCE(c.completed, 0) AS n_completed,
        COALESCE(c.failed, 0) AS n_failed, COALESCE(c.running, 0) AS n_running
      FROM page LEFT JOIN (
        SELECT execution_id, COUNT(*) AS total,
          SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END) AS completed,
          SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
          SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running
        FROM steps WHERE execution_id IN (SELECT id FROM page) GROUP BY execution_id
      ) c ON c.execution_id = page.id
      ORDER BY ${order.replaceAll(/(^|, )/g, '$1page.')}`,
      [...params, limit],
    );
    return rows.map((r): ExecutionSummary => ({
      id: r.id as string,
      workflowId: r.workflow_id as string,
      workflowVersion: Number(r.workflow_version),
      clientId: r.client_id as string,
      status: r.status as ExecutionStatus,
      spent: Number(r.spent),
      budget: Number(r.budget),
      createdAt: Number(r.created_at),
      startedAt: Number(r.started_at),
      ...(r.finished_at !== null && r.finished_at !== undefined && { finishedAt: Number(r.finished_at) }),
      updatedAt: Number(r.updated_at),
      steps: {
        total: Number(r.n_total),
        completed: Number(r.n_completed),
        failed: Number(r.n_failed),
        running: Number(r.n_running),
      },
    }));
  }

  findExecutionByIdempotencyKey(clientId: string, key: string): Promise<ExecutionRecord | undefined> {
    return this.one(t.executions, 'client_id = ? AND idempotency_key = ?', [clientId, key]);
  }

  async listExecutionIdsPastDeadline(now: number, limit: number): Promise<string[]> {
    const rows = await this.conn.all(
      "SELECT id FROM executions WHERE status = 'running' AND deadline_at <= ? ORDER BY deadline_at LIMIT ?",
      [now, limit],
    );
    return rows.map((r) => r.id as string);
  }

  listSteps(executionId: string): Promise<StepRecord[]> {
    return this.many(t.steps, 'WHERE execution_id = ? ORDER BY position', [executionId]);
  }

  async listStepStatuses(executionId: string): Promise<{ stepId: string; status: StepStatus }[]> {
    const rows = await this.conn.all('SELECT step_id, status FROM steps WHERE execution_id = ? ORDER BY position', [
      executionId,
    ]);
    return rows.map((r) => ({ stepId: r.step_id as string, status: r.status as StepStatus }));
  }

  async getStepStatuses(executionId: string, stepIds: readonly string[]): Promise<StepProgress[]> {
    const out: StepProgress[] = [];
    for (let i = 0; i < stepIds.length; i += CHUNK) {
      const chunk = stepIds.slice(i, i + CHUNK);
      const rows = await this.conn.all(
        `SELECT step_id, status, pending_deps FROM steps WHERE execution_id = ? AND step_id IN (${placeholders(chunk.length)})`,
        [executionId, ...chunk],
      );
      out.push(...rows.map(progressOf));
    }
    return out;
  }

  async listDecidableSteps(executionId: string): Promise<string[]> {
    const rows = await this.conn.all(
      "SELECT step_id FROM steps WHERE execution_id = ? AND status = 'pending' AND pending_deps = 0 ORDER BY position",
      [executionId],
    );
    return rows.map((r) => r.step_id as string);
  }

  async listReadySteps(executionId: string, limit: number): Promise<{ stepId: string; input: unknown }[]> {
    const rows = await this.conn.all(
      `SELECT s.step_id, r.input FROM steps s JOIN ready_inputs r ON r.execution_id = s.execution_id AND r.step_id = s.step_id
        WHERE s.execution_id = ? AND s.status = 'ready' ORDER BY s.position LIMIT ?`,
      [executionId, limit],
    );
    return rows.map((r) => ({ stepId: r.step_id as string, input: JSON.parse(r.input as string) as unknown }));
  }

  async listExecutionsToAdvance(limit: number): Promise<string[]> {
    const rows = await this.conn.all(
      `SELECT id FROM executions e WHERE status = 'running'
         AND (steps_done = steps_total OR EXISTS (SELECT 1 FROM steps s WHERE s.execution_id = e.id AND s.status = 'pending' AND s.pending_deps = 0))
       ORDER BY id LIMIT ?`,
      [limit],
    );
    return rows.map((r) => r.id as string);
  }

  getStep(executionId: string, stepId: string): Promise<StepRecord | undefined> {
    return this.one(t.steps, 'execution_id = ? AND step_id = ?', [executionId, stepId]);
  }

  listReplicaResults(executionId: string, of?: { stepId: string; attempt: number }): Promise<ReplicaResultRecord[]> {
    if (of === undefined)
      return this.many(t.replicaResults, 'WHERE execution_id = ? ORDER BY step_id, attempt, replica', [executionId]);
    return this.many(t.replicaResults, 'WHERE execution_id = ? AND step_id = ? AND attempt = ? ORDER BY replica', [
      executionId,
      of.stepId,
      of.attempt,
    ]);
  }

  async getStepResults(executionId: string, stepIds?: readonly string[]): Promise<StepResultRecord[]> {
    if (stepIds === undefined) return this.many(t.stepResults, 'WHERE execution_id = ?', [executionId]);
    const out: StepResultRecord[] = [];
    for (let i = 0; i < stepIds.length; i += CHUNK) {
      const chunk = stepIds.slice(i, i + CHUNK);
      if (chunk.length === 0) continue;
      out.push(
        ...(await this.many(t.stepResults, `WHERE execution_id = ? AND step_id IN (${placeholders(chunk.length)})`, [
          executionId,
          ...chunk,
        ])),
      );
    }
    return out;
  }

  async listStepResultSummaries(executionId: string): Promise<StepResultSummary[]> {
    const fields = t.stepResults.fields.filter((f) => f !== 'output' && f !== 'attestation');
    // The job's principal comes along in the same read: the receipt states whom each step's cost pays.
    const rows = await this.conn.all(
      `SELECT ${fields.map((f) => `r.${t.stepResults.column(f)}`).join(', ')}, j.principal AS job_principal
       FROM step_results r LEFT JOIN jobs j ON j.id = r.job_id WHERE r.execution_id = ?`,
      [executionId],
    );
    return rows.map((row) => {
      const summary: StepResultSummary = t.stepResults.fromRow(row);
      const principal = row.job_principal;
      return typeof principal === 'string' ? { ...summary, principal } : summary;
    });
  }

  getJob(id: string): Promise<JobRecord | undefined> {
    return this.one(t.jobs, 'id = ?', [id]);
  }

  listJobs(executionId: string, status?: readonly JobStatus[]): Promise<JobRecord[]> {
    if (status === undefined) return this.many(t.jobs, 'WHERE execution_id = ? ORDER BY created_at, id', [executionId]);
    return this.many(
      t.jobs,
      `WHERE execution_id = ? AND status IN (${placeholders(status.length)}) ORDER BY created_at, id`,
      [executionId, ...status],
    );
  }

  async listExpiredJobIds(now: number, limit: number): Promise<string[]> {
    // The statuses are written out, not bound: only then can SQLite's planner match the partial indexes
    // jobs_leased and jobs_leased_deadline (WHERE status IN ('assigned', 'running')) instead of scanning
    // every job ever run, four times a second.
    const rows = await this.conn.all(EXPIRED_JOBS_SQL, [now, now, limit]);
    return rows.map((r) => r.id as string);
  }

  listJobsOfStep(executionId: string, stepId: string): Promise<JobRecord[]> {
    // jobs_one_per_replica (execution_id, step_id, attempt, replica) answers it without reading other steps' jobs.
    return this.many(t.jobs, 'WHERE execution_id = ? AND step_id = ? ORDER BY attempt, COALESCE(replica, 0)', [
      executionId,
      stepId,
    ]);
  }

  async getReadyInput(executionId: string, stepId: string): Promise<{ input: unknown } | undefined> {
    const rows = await this.conn.all('SELECT input FROM ready_inputs WHERE execution_id = ? AND step_id = ?', [
      executionId,
      stepId,
    ]);
    return rows[0] ? { input: JSON.parse(rows[0].input as string) as unknown } : undefined;
  }

  async listLeasedJobs(): Promise<LeasedJob[]> {
    const rows = await this.conn.all(
      `SELECT id, execution_id, step_id, attempt, status, worker_id, lease_expires_at, started_at FROM jobs
       WHERE status IN (${placeholders(LEASED_JOB_STATUSES.length)}) ORDER BY worker_id, assigned_at, id`,
      [...LEASED_JOB_STATUSES],
    );
    return rows.map((r): LeasedJob => ({
      id: r.id as string,
      executionId: r.execution_id as string,
      stepId: r.step_id as string,
      attempt: Number(r.attempt),
      status: r.status as JobStatus,
      workerId: r.worker_id as string,
      ...(r.lease_expires_at !== null && { leaseExpiresAt: Number(r.lease_expires_at) }),
      ...(r.started_at !== null && { startedAt: Number(r.started_at) }),
    }));
  }

  async recentActivity(since: number, stepCap: number): Promise<RecentActivity> {
    // Minute buckets by integer division, in a subquery so GROUP BY names the bucket rather than repeating an
    // expression with a placeholder (PostgreSQL numbers each placeholder apart, so two copies differ). The
    // CAST: SQLite binds a JavaScript number as a double, which would make the division fractional.
    const started = await this.conn.all(
      `SELECT b, COUNT(*) AS n FROM (
        SELECT CAST(created_at - ? AS BIGINT) / 60000 AS b FROM executions WHERE created_at >= ?
      ) recent GROUP BY b`,
      [since, since],
    );
    const finished = await this.conn.all(
      `SELECT b, status, COUNT(*) AS n FROM (
        SELECT CAST(finished_at - ? AS BIGINT) / 60000 AS b, status FROM executions
        WHERE finished_at IS NOT NULL AND finished_at >= ?
      ) recent GROUP BY b, status`,
      [since, since],
    );
    const steps = await this.conn.all(
      `SELECT finished_at, started_at FROM steps
       WHERE finished_at IS NOT NULL AND finished_at >= ? AND status = 'completed' ORDER BY finished_at LIMIT ?`,
      [since, stepCap + 1],
    );
    const queued = await this.conn.all("SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued'", []);
    const executionsFinished = new Map<number, Record<string, number>>();
    for (const r of finished) {
      const bucket = Number(r.b);
      const counts = executionsFinished.get(bucket) ?? {};
      counts[r.status as string] = Number(r.n);
      executionsFinished.set(bucket, counts);
    }
    return {
      executionsStarted: new Map(started.map((r) => [Number(r.b), Number(r.n)])),
      executionsFinished,
      stepsCompleted: steps.slice(0, stepCap).map((r) => ({
        finishedAt: Number(r.finished_at),
        // A step that never started (none should complete so) counts as taking no time rather than failing the summary.
        durationMs: r.started_at === null ? 0 : Math.max(0, Number(r.finished_at) - Number(r.started_at)),
      })),
      stepsTruncated: steps.length > stepCap,
      queueDepth: Number(queued[0]?.n ?? 0),
    };
  }

  async listJobIdsOfWorkers(workerIds: readonly string[], status: readonly JobStatus[]): Promise<string[]> {
    if (workerIds.length === 0) return [];
    const rows = await this.conn.all(
      `SELECT id FROM jobs WHERE worker_id IN (${placeholders(workerIds.length)}) AND status IN (${placeholders(status.length)})`,
      [...workerIds, ...status],
    );
    return rows.map((r) => r.id as string);
  }

  async hasClaimableJob(
    request: Pick<ClaimRequest, 'workerId' | 'stepTypes' | 'models' | 'modelDigests' | 'now'>,
  ): Promise<boolean> {
    const { sql, params } = peekStatement(request);
    return (await this.conn.all(sql, params)).length > 0;
  }

  async nextAvailableAt(): Promise<number | undefined> {
    const rows = await this.conn.all("SELECT MIN(available_at) AS at FROM jobs WHERE status = 'queued'", []);
    const at = rows[0]?.at;
    return at === null || at === undefined ? undefined : Number(at);
  }

  getWorker(id: string): Promise<WorkerRecord | undefined> {
    return this.one(t.workers, 'id = ?', [id]);
  }

  listWorkers(): Promise<WorkerRecord[]> {
    return this.many(t.workers, 'ORDER BY started_at', []);
  }

  listEvents(executionId: string, afterSeq: number, limit: number): Promise<EventRecord[]> {
    return this.many(t.events, 'WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?', [
      executionId,
      afterSeq,
      limit,
    ]);
  }

  /** The cursor is the seq: within one execution, seq order is commit order (see SqlDialect.serializeEvents). */
  async readEvents(executionId: string, cursor: string | undefined, limit: number): Promise<EventAt[]> {
    const after = cursor === undefined ? 0 : Number(cursor);
    if (cursor !== undefined && (!/^\d{1,16}$/.test(cursor) || !Number.isSafeInteger(after))) {
      throw new StoreError(
        'invalid_cursor',
        `event cursor "${cursor}" is not one this store gave out; resume from an event's id, or from the start`,
      );
    }
    const events = await this.listEvents(executionId, after, limit);
    return events.map((event) => ({ event, cursor: String(event.seq) }));
  }

  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.one(t.apiKeys, 'id = ?', [id]);
  }

  getBlob(digest: string): Promise<BlobRecord | undefined> {
    return this.one(t.blobs, 'digest = ?', [digest]);
  }

  async hasBlobGrant(digest: string, principal: string): Promise<boolean> {
    const rows = await this.conn.all('SELECT 1 AS found FROM blob_grants WHERE digest = ? AND principal = ?', [
      digest,
      principal,
    ]);
    return rows.length > 0;
  }

  async blobBytesUploaded(principal: string): Promise<number> {
    const rows = await this.conn.all('SELECT COALESCE(SUM(size), 0) AS bytes FROM blob_uploads WHERE principal = ?', [
      principal,
    ]);
    // PostgreSQL's SUM of a BIGINT is a NUMERIC, which arrives as text.
    return Number(rows[0]?.bytes ?? 0);
  }

  async countRunningExecutions(clientId: string, upTo: number): Promise<number> {
    // Bounded: a client with more running than its quota costs no more to check than one at the quota.
    const rows = await this.conn.all(
      "SELECT COUNT(*) AS n FROM (SELECT 1 FROM executions WHERE client_id = ? AND status = 'running' LIMIT ?) AS running",
      [clientId, upTo],
    );
    return Number(rows[0]?.n ?? 0);
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.many(t.apiKeys, 'ORDER BY created_at', []);
  }

  getWorkflowVersion(workflowId: string, version?: number): Promise<WorkflowVersionRecord | undefined> {
    return version === undefined
      ? this.many(t.workflowVersions, 'WHERE workflow_id = ? ORDER BY version DESC LIMIT 1', [workflowId]).then(
          (r) => r[0],
        )
      : this.one(t.workflowVersions, 'workflow_id = ? AND version = ?', [workflowId, version]);
  }

  listWorkflowVersions(workflowId?: string): Promise<WorkflowVersionRecord[]> {
    if (workflowId !== undefined)
      return this.many(t.workflowVersions, 'WHERE workflow_id = ? ORDER BY version', [workflowId]);
    return this.many(
      t.workflowVersions,
      'WHERE version = (SELECT MAX(v.version) FROM workflow_versions v WHERE v.workflow_id = workflow_versions.workflow_id) ORDER BY workflow_id',
      [],
    );
  }

  async getKeys(keyIds: readonly string[]): Promise<KeyRecord[]> {
    if (keyIds.length === 0) return [];
    return this.many(t.keys, `WHERE key_id IN (${placeholders(keyIds.length)})`, [...keyIds]);
  }

  async countByStatus(table: 'executions' | 'steps' | 'jobs'): Promise<Record<string, number>> {
    const name = { executions: 'executions', steps: 'steps', jobs: 'jobs' }[table];
    const rows = await this.conn.all(`SELECT status, COUNT(*) AS n FROM ${name} GROUP BY status`, []);
    return Object.fromEntries(rows.map((r) => [r.status as string, Number(r.n)]));
  }

  listKeys(role: KeyRecord['role']): Promise<KeyRecord[]> {
    return this.many(t.keys, 'WHERE role = ? ORDER BY created_at', [role]);
  }

  listReceipts(executionId: string): Promise<ReceiptRecord[]> {
    return this.many(t.receipts, 'WHERE execution_id = ? ORDER BY revision DESC', [executionId]);
  }

  getReceiptAt(logIndex: number): Promise<ReceiptRecord | undefined> {
    return this.one(t.receipts, 'log_index = ?', [logIndex]);
  }

  listZkRegistry(size?: number): Promise<ZkRegistryRecord[]> {
    return size === undefined
      ? this.many(t.zkRegistry, 'ORDER BY leaf_index', [])
      : this.many(t.zkRegistry, 'WHERE leaf_index < ? ORDER BY leaf_index', [size]);
  }

  findZkRegistryKey(keyX: string, keyY: string): Promise<ZkRegistryRecord | undefined> {
    return this.one(t.zkRegistry, 'key_x = ? AND key_y = ?', [keyX, keyY]);
  }

  async listActiveWorkerKeyIds(principal: string): Promise<string[]> {
    const rows = await this.conn.all(
      "SELECT DISTINCT key_id FROM workers WHERE principal = ? AND status = 'active' AND key_id IS NOT NULL",
      [principal],
    );
    return rows.map((r) => r.key_id as string);
  }

  async countZkKeysOfPrincipal(principal: string): Promise<number> {
    const rows = await this.conn.all(
      'SELECT COUNT(*) AS n FROM zk_registry z JOIN workers w ON w.id = z.worker_id WHERE w.principal = ?',
      [principal],
    );
    return Number(rows[0]?.n ?? 0);
  }

  getZkProof(executionId: string, revision?: number): Promise<ZkProofRecord | undefined> {
    return revision === undefined
      ? this.many(t.zkProofs, 'WHERE execution_id = ? ORDER BY revision DESC LIMIT 1', [executionId]).then(
          (rows) => rows[0],
        )
      : this.one(t.zkProofs, 'execution_id = ? AND revision = ?', [executionId, revision]);
  }

  listZkLeaves(executionId: string): Promise<ZkLeafRecord[]> {
    return this.many(t.zkLeaves, 'WHERE execution_id = ?', [executionId]);
  }

  async listZkProofsToProve(now: number, limit: number): Promise<{ executionId: string; revision: number }[]> {
    const rows = await this.conn.all(
      "SELECT execution_id, revision FROM zk_proofs WHERE status = 'pending' OR (status = 'proving' AND lease_expires_at < ?) ORDER BY created_at LIMIT ?",
      [now, limit],
    );
    return rows.map((r) => ({ executionId: r.execution_id as string, revision: Number(r.revision) }));
  }

  async findLedgerTransaction(idempotencyKey: string): Promise<LedgerTransactionRecord | undefined> {
    const row = await this.one(t.ledgerTransactions, 'idempotency_key = ?', [idempotencyKey]);
    return row ? (await this.withPostings([row]))[0] : undefined;
  }

  /** Transaction rows with their postings, in posting order. */
  protected async withPostings(rows: readonly t.LedgerTransactionRow[]): Promise<LedgerTransactionRecord[]> {
    const postings = new Map<string, LedgerPosting[]>(rows.map((r) => [r.id, []]));
    for (let i = 0; i < rows.length; i += CHUNK) {
      const ids = rows.slice(i, i + CHUNK).map((r) => r.id);
      const found = await this.many(
        t.ledgerPostings,
        `WHERE transaction_id IN (${placeholders(ids.length)}) ORDER BY transaction_id, position`,
        ids,
      );
      for (const p of found) {
        postings
          .get(p.transactionId)!
          .push({ account: p.account, bucket: p.bucket, amount: p.amount, reason: p.reason });
      }
    }
    return rows.map((r) => ({ ...r, postings: postings.get(r.id)! }));
  }

  async getLedgerBalance(account: string): Promise<LedgerBalance> {
    const rows = await this.conn.all(
      'SELECT CAST(available AS TEXT) AS available, CAST(held AS TEXT) AS held FROM ledger_accounts WHERE account = ?',
      [account],
    );
    if (!rows[0]) return { account, available: 0, held: 0 };
    return {
      account,
      available: safeAmount(rows[0].available, `the available balance of ${account}`),
      held: safeAmount(rows[0].held, `the held balance of ${account}`),
    };
  }

  async listLedgerTransactions(account: string, page: { limit: number; cursor?: string }): Promise<LedgerPage> {
    if (page.cursor !== undefined && !LEDGER_CURSOR.test(page.cursor)) {
      throw new StoreError(
        'invalid_cursor',
        `ledger cursor "${page.cursor}" is not one this store gave out; start from the newest transaction`,
      );
    }
    const limit = Math.max(1, Math.min(Math.trunc(page.limit), 1000));
    // One more than asked for, to know whether there is a next page.
    const ids = await this.conn.all(
      `SELECT DISTINCT transaction_id FROM ledger_postings WHERE account = ?${page.cursor === undefined ? '' : ' AND transaction_id < ?'}
        ORDER BY transaction_id DESC LIMIT ?`,
      page.cursor === undefined ? [account, limit + 1] : [account, page.cursor, limit + 1],
    );
    const wanted = ids.slice(0, limit).map((r) => r.transaction_id as string);
    if (wanted.length === 0) return { transactions: [] };
    const rows = await this.many(
      t.ledgerTransactions,
      `WHERE id IN (${placeholders(wanted.length)}) ORDER BY id DESC`,
      wanted,
    );
    const transactions = await this.withPostings(rows);
    return ids.length > limit ? { transactions, cursor: wanted.at(-1)! } : { transactions };
  }

  async checkLedger(): Promise<LedgerCheckReport> {
    // Sums as text: PostgreSQL's SUM of a BIGINT is a NUMERIC, and neither database's sum need fit 2^53.
    const cached = await this.conn.all(
      'SELECT account, CAST(available AS TEXT) AS available, CAST(held AS TEXT) AS held FROM ledger_accounts',
    );
    const sums = await this.conn.all(
      'SELECT account, bucket, CAST(SUM(amount) AS TEXT) AS total FROM ledger_postings GROUP BY account, bucket',
    );
    const computed = new Map<string, { available: bigint; held: bigint; other: bigint }>();
    const of = (account: string) => {
      let entry = computed.get(account);
      if (!entry) computed.set(account, (entry = { available: 0n, held: 0n, other: 0n }));
      return entry;
    };
    for (const row of sums) {
      const entry = of(row.account as string);
      const total = BigInt(row.total as string);
      if (row.bucket === 'available') entry.available += total;
      else if (row.bucket === 'held') entry.held += total;
      else entry.other += total;
    }
    const mismatches: LedgerCheckReport['mismatches'] = [];
    const seen = new Set<string>();
    const compare = (account: string, available: bigint, held: bigint) => {
      const c = computed.get(account) ?? { available: 0n, held: 0n, other: 0n };
      if (c.available !== available || c.held !== held || c.other !== 0n) {
        mismatches.push({
          account,
          cached: { available: String(available), held: String(held) },
          computed: { available: String(c.available), held: String(c.held) },
        });
      }
    };
    for (const row of cached) {
      seen.add(row.account as string);
      compare(row.account as string, BigInt(row.available as string), BigInt(row.held as string));
    }
    for (const account of computed.keys()) if (!seen.has(account)) compare(account, 0n, 0n);
    const unbalancedRows = await this.conn.all(
      `SELECT t.id AS id, CAST(COALESCE(SUM(p.amount), 0) AS TEXT) AS total, COUNT(p.transaction_id) AS n
         FROM ledger_transactions t LEFT JOIN ledger_postings p ON p.transaction_id = t.id
        GROUP BY t.id HAVING COALESCE(SUM(p.amount), 0) <> 0 OR COUNT(p.transaction_id) < 2 ORDER BY t.id`,
    );
    const counted = await this.conn.all('SELECT COUNT(*) AS n FROM ledger_transactions');
    const unbalanced = unbalancedRows.map((r) => ({
      transactionId: r.id as string,
      sum: String(BigInt(r.total as string)),
      postings: Number(r.n),
    }));
    mismatches.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
    return {
      ok: mismatches.length === 0 && unbalanced.length === 0,
      accounts: new Set([...seen, ...computed.keys()]).size,
      transactions: Number(counted[0]?.n ?? 0),
      mismatches,
      unbalanced,
    };
  }

  async getLogSize(): Promise<number> {
    const rows = await this.conn.all('SELECT size FROM tlog_head WHERE id = 1', []);
    return Number(rows[0]?.size ?? 0);
  }

  async getLogOrigin(): Promise<string | undefined> {
    const rows = await this.conn.all('SELECT origin FROM tlog_head WHERE id = 1', []);
    return (rows[0]?.origin as string | null | undefined) ?? undefined;
  }

  async getLogNodes(refs: readonly { level: number; nodeIndex: number }[]): Promise<LogNode[]> {
    const out: LogNode[] = [];
    for (let i = 0; i < refs.length; i += CHUNK) {
      const chunk = refs.slice(i, i + CHUNK);
      const where = chunk.map(() => '(level = ? AND node_index = ?)').join(' OR ');
      out.push(
        ...(await this.many(
          t.logNodes,
          `WHERE ${where}`,
          chunk.flatMap((r) => [r.level, r.nodeIndex]),
        )),
      );
    }
    return out;
  }

  async getListing(id: string): Promise<ListingRecord | undefined> {
    const row = await this.one(t.listings, 'id = ?', [id]);
    return row && listingOf(row);
  }

  searchListings(search: ListingSearch): Promise<ListingSearchPage> {
    return searchListings(this.conn, search);
  }

  getListingStats(ids: readonly string[]): Promise<Map<string, ListingStats>> {
    return listingStats(this.conn, ids);
  }

  getMarketRun(executionId: string): Promise<MarketRunRecord | undefined> {
    return this.one(t.marketRuns, 'execution_id = ?', [executionId]);
  }

  getChainAttestorBinding(key: ChainAttestorBindingKey): Promise<ChainAttestorBindingRecord | undefined> {
    return this.one(t.chainAttestorBindings, 'chain_id = ? AND attestor = ? AND token = ? AND settlement = ?', [
      key.chainId,
      key.attestor,
      key.token,
      key.settlement,
    ]);
  }

  chainAddressOf(chainId: number, account: string): Promise<ChainAddressBindingRecord | undefined> {
    return this.one(t.chainAddressBindings, 'chain_id = ? AND account = ?', [chainId, account]);
  }

  listChainAddressBindings(
    chainId: number,
    filter: { account?: string; limit: number },
  ): Promise<ChainAddressBindingRecord[]> {
    const byAccount = filter.account !== undefined ? ' AND account = ?' : '';
    return this.many(t.chainAddressBindings, `WHERE chain_id = ?${byAccount} ORDER BY account LIMIT ?`, [
      chainId,
      ...(filter.account !== undefined ? [filter.account] : []),
      filter.limit,
    ]);
  }

  listMarketSettlements(executionId: string): Promise<MarketSettlementRecord[]> {
    return this.many(t.marketSettlements, 'WHERE execution_id = ? ORDER BY revision', [executionId]);
  }

  async listSettlementsPostingTo(
    account: string,
    page: { limit: number; cursor?: string },
  ): Promise<{ settlements: MarketSettlementRecord[]; cursor?: string }> {
    if (page.cursor !== undefined && !LEDGER_CURSOR.test(page.cursor)) {
      throw new StoreError(
        'invalid_cursor',
        `settlement cursor "${page.cursor}" is not one this store gave out; start from the newest settlement`,
      );
    }
    const limit = Math.max(1, Math.min(Math.trunc(page.limit), 1000));
    // The account's postings by transaction id (its index), kept to settlement transactions, joined to the
    // statement signed for that execution and revision, in one query; one more row than asked, to know of
    // a next page. An account has at most a few postings per transaction: DISTINCT folds them.
    const columns = t.marketSettlements.fields.map((f) => `s.${t.marketSettlements.column(f)}`).join(', ');
    const rows = await this.conn.all(
      `SELECT DISTINCT p.transaction_id, ${columns}
         FROM ledger_postings p
         JOIN ledger_transactions l ON l.id = p.transaction_id
         JOIN market_settlements s ON s.execution_id = l.execution_id AND s.revision = l.revision
        WHERE p.account = ? AND l.kind = 'settlement'${page.cursor === undefined ? '' : ' AND p.transaction_id < ?'}
        ORDER BY p.transaction_id DESC LIMIT ?`,
      page.cursor === undefined ? [account, limit + 1] : [account, page.cursor, limit + 1],
    );
    const settlements = rows.slice(0, limit).map((row) => t.marketSettlements.fromRow(row));
    return rows.length > limit ? { settlements, cursor: rows[limit - 1]!.transaction_id as string } : { settlements };
  }

  async getHeldTotals(): Promise<{ holds: number; total: bigint }> {
    // A run's row keeps the hold it still has: set when it starts or is retried, zero once settled or released.
    const open = await this.conn.all('SELECT COUNT(*) AS holds FROM market_runs WHERE hold > 0');
    // As text: PostgreSQL's SUM of a BIGINT is a NUMERIC, and the sum need not fit 2^53.
    const held = await this.conn.all(
      'SELECT CAST(COALESCE(SUM(held), 0) AS TEXT) AS total FROM ledger_accounts WHERE held <> 0',
    );
    return { holds: Number(open[0]?.holds ?? 0), total: BigInt((held[0]?.total as string | undefined) ?? '0') };
  }

  getMarketSubscription(id: string): Promise<MarketSubscriptionRecord | undefined> {
    return this.one(t.marketSubscriptions, 'id = ?', [id]);
  }

  async findActiveSubscription(
    listingId: string,
    buyer: string,
    now: number,
  ): Promise<MarketSubscriptionRecord | undefined> {
    const rows = await this.many(
      t.marketSubscriptions,
      'WHERE buyer = ? AND listing_id = ? AND period_start <= ? AND period_end > ? ORDER BY period_end DESC, id DESC LIMIT 1',
      [buyer, listingId, now, now],
    );
    return rows[0];
  }

  listMarketSubscriptions(buyer: string, limit: number): Promise<MarketSubscriptionRecord[]> {
    return this.many(t.marketSubscriptions, 'WHERE buyer = ? ORDER BY created_at DESC, id DESC LIMIT ?', [
      buyer,
      limit,
    ]);
  }

  listMarketRatings(
    listingId: string,
    page: { limit: number; after?: { createdAt: number; buyer: string } },
  ): Promise<MarketRatingRecord[]> {
    const params: SqlValue[] = [listingId];
    let after = '';
    if (page.after) {
      after = ' AND (g.created_at < ? OR (g.created_at = ? AND g.buyer > ?))';
      params.push(page.after.createdAt, page.after.createdAt, page.after.buyer);
    }
    const columns = t.marketRatings.fields.map((f) => `g.${t.marketRatings.column(f)}`).join(', ');
    return this.conn
      .all(
        `SELECT ${columns} FROM market_ratings g JOIN market_listings l ON l.id = g.listing_id
         WHERE g.listing_id = ? AND g.buyer <> l.owner${after} ORDER BY g.created_at DESC, g.buyer ASC LIMIT ?`,
        [...params, page.limit],
      )
      .then((rows) => rows.map((row) => t.marketRatings.fromRow(row)));
  }
}

/* eslint-disable @typescript-eslint/require-await --
 * A write is sent without waiting for its answer (SqlConnection.send), so many of these methods await
 * nothing; they stay async so that SQLite's failure, thrown at once, still reaches the caller as a
 * rejection, like every other store call. */
export class SqlTx extends SqlReads implements StoreTx {
  readonly committed: (() => void)[] = [];
  /** Events are written together just before commit, in the order they were appended. */
  private readonly pendingEvents: NewEvent[] = [];
  /** Executions whose event lock this transaction already holds (taken with their row's update). */
  private readonly eventsLocked = new Set<string>();

  constructor(
    conn: SqlConnection,
    private readonly dialect: SqlDialect,
  ) {
    super(conn, dialect);
  }

  afterCommit(fn: () => void): void {
    this.committed.push(fn);
  }

  /** The INSERT statements of `records`, CHUNK rows each. */
  private *inserts<R>(
    table: Table<R>,
    records: readonly Partial<R>[],
    fields: readonly (keyof R & string)[],
    suffix: string,
  ): Generator<[string, SqlValue[]]> {
    const columns = fields.map((f) => table.column(f)).join(', ');
    const rowSql = `(${placeholders(fields.length)})`;
    for (let i = 0; i < records.length; i += CHUNK) {
      const chunk = records.slice(i, i + CHUNK);
      const sql = `INSERT INTO ${table.name} (${columns}) VALUES ${chunk.map(() => rowSql).join(', ')} ${suffix}`;
      yield [sql, chunk.flatMap((r) => table.values(r, fields))];
    }
  }

  /** Inserts and waits for the count of rows inserted (for `ON CONFLICT DO NOTHING`'s answer). */
  private async insertCounted<R>(
    table: Table<R>,
    records: readonly Partial<R>[],
    fields: readonly (keyof R & string)[],
    suffix = '',
  ): Promise<number> {
    let changed = 0;
    for (const [sql, params] of this.inserts(table, records, fields, suffix))
      changed += await this.conn.run(sql, params);
    return changed;
  }

  /** Inserts without waiting (see SqlConnection.send). */
  private insert<R>(
    table: Table<R>,
    records: readonly Partial<R>[],
    fields: readonly (keyof R & string)[],
    suffix = '',
  ): void {
    for (const [sql, params] of this.inserts(table, records, fields, suffix)) this.conn.send(sql, params);
  }

  /** The UPDATE statement of `patch`, or nothing when the patch names no column of the table. */
  private updateOf<R>(
    table: Table<R>,
    patch: { [K in keyof R]?: R[K] | undefined },
    where: string,
    params: SqlValue[],
  ): [string, SqlValue[]] | undefined {
    const fields = (Object.keys(patch) as (keyof R & string)[]).filter((f) => table.fields.includes(f));
    if (fields.length === 0) return undefined;
    const set = fields.map((f) => `${table.column(f)} = ?`).join(', ');
    // An explicit `undefined` in a patch clears the column (NULL), which is how optional fields are unset.
    return [`UPDATE ${table.name} SET ${set} WHERE ${where}`, [...table.values(patch, fields), ...params]];
  }

  /** Updates and waits for the count of rows changed (for a guarded update's answer). */
  private async updateCounted<R>(
    table: Table<R>,
    patch: { [K in keyof R]?: R[K] | undefined },
    where: string,
    params: SqlValue[],
  ): Promise<number> {
    const statement = this.updateOf(table, patch, where, params);
    return statement === undefined ? 0 : this.conn.run(...statement);
  }

  /** Updates without waiting (see SqlConnection.send); false when the patch had nothing to write. */
  private update<R>(
    table: Table<R>,
    patch: { [K in keyof R]?: R[K] | undefined },
    where: string,
    params: SqlValue[],
    returning?: { returning: string; params: SqlValue[] },
  ): boolean {
    const statement = this.updateOf(table, patch, where, params);
    if (statement === undefined) return false;
    const [sql, values] = statement;
    if (returning) this.conn.send(`${sql} RETURNING ${returning.returning}`, [...values, ...returning.params]);
    else this.conn.send(sql, values);
    return true;
  }

  async putWorkflow(record: WorkflowRecord): Promise<void> {
    this.insert(t.workflows, [record], t.workflows.fields, 'ON CONFLICT (digest) DO NOTHING');
  }

  async insertExecution(record: ExecutionRecord): Promise<void> {
    this.insert(t.executions, [record], t.executions.fields);
  }

  async lockExecution(id: string): Promise<ExecutionRecord | undefined> {
    const rows = await this.conn.all(this.dialect.lockExecutionSql, [id]);
    return rows[0] ? t.executions.fromRow(rows[0]) : undefined;
  }

  async lockExecutionWithJob(executionId: string, jobId: string): Promise<LockedJob | undefined> {
    const row = (await this.conn.all(lockWithJobSql(this.dialect), [jobId, executionId]))[0];
    if (!row) return undefined;
    const job = withJob.job.read(row);
    const step = withJob.step.read(row);
    return { execution: withJob.execution.read(row)!, ...(job && { job }), ...(step && { step }) };
  }

  async updateExecution(id: string, patch: ExecutionPatch): Promise<void> {
    const lock = this.eventsLocked.has(id) ? undefined : this.dialect.eventLockExpression?.(id);
    if (!lock) {
      this.update(t.executions, patch, 'id = ?', [id]);
      return;
    }
    // The update of an execution's row is nearly always followed by its events: it takes their lock too.
    // The row is there (the transaction holds it, or the update fails the transaction), so the lock is
    // taken as soon as the statement has been sent.
    const sent = this.update(t.executions, patch, 'id = ?', [id], {
      returning: `${lock.sql} AS locked`,
      params: lock.params,
    });
    if (sent) this.eventsLocked.add(id);
  }

  async insertSteps(records: readonly StepRecord[]): Promise<void> {
    this.insert(t.steps, records, t.steps.fields);
  }

  async updateStep(
    executionId: string,
    stepId: string,
    patch: StepPatch,
    expect?: readonly StepStatus[],
  ): Promise<boolean> {
    let where = 'execution_id = ? AND step_id = ?';
    const params: SqlValue[] = [executionId, stepId];
    if (!expect) {
      this.update(t.steps, patch, where, params);
      return true;
    }
    where += ` AND status IN (${placeholders(expect.length)})`;
    params.push(...expect);
    return (await this.updateCounted(t.steps, patch, where, params)) > 0;
  }

  async releaseDependents(executionId: string, counts: ReadonlyMap<string, number>): Promise<StepRecord[]> {
    // Grouped by how many dependencies each step had done at once: almost always one statement. Whole rows
    // come back, since a step released is usually dispatched next and would be read again.
    const byCount = new Map<number, string[]>();
    for (const [stepId, count] of counts) byCount.set(count, [...(byCount.get(count) ?? []), stepId]);
    const out: StepRecord[] = [];
    for (const [count, ids] of byCount) {
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        const rows = await this.conn.all(
          `UPDATE steps SET pending_deps = pending_deps - ? WHERE execution_id = ? AND step_id IN (${placeholders(chunk.length)}) RETURNING ${t.steps.columns}`,
          [count, executionId, ...chunk],
        );
        out.push(...rows.map((row) => t.steps.fromRow(row)));
      }
    }
    return out;
  }

  async setReadyInput(executionId: string, stepId: string, input: unknown): Promise<void> {
    if (input === undefined) {
      this.conn.send('DELETE FROM ready_inputs WHERE execution_id = ? AND step_id = ?', [executionId, stepId]);
    } else {
      this.conn.send(
        'INSERT INTO ready_inputs (execution_id, step_id, input) VALUES (?, ?, ?) ON CONFLICT (execution_id, step_id) DO UPDATE SET input = excluded.input',
        [executionId, stepId, JSON.stringify(input)],
      );
    }
  }

  async markStepRunning(executionId: string, stepId: string, jobId: string, now: number): Promise<void> {
    this.conn.send(
      `UPDATE steps SET status = 'running', started_at = COALESCE(started_at, ?)
        WHERE execution_id = ? AND step_id = ? AND current_job_id = ? AND status = 'queued'`,
      [now, executionId, stepId, jobId],
    );
  }

  async insertReplicaResult(record: ReplicaResultRecord): Promise<boolean> {
    const changed = await this.insertCounted(
      t.replicaResults,
      [record],
      t.replicaResults.fields,
      'ON CONFLICT (execution_id, step_id, attempt, replica) DO NOTHING',
    );
    return changed > 0;
  }

  async insertStepResult(record: StepResultRecord): Promise<boolean> {
    const changed = await this.insertCounted(
      t.stepResults,
      [record],
      t.stepResults.fields,
      'ON CONFLICT (execution_id, step_id) DO NOTHING',
    );
    return changed > 0;
  }

  async insertJob(record: JobRecord): Promise<void> {
    this.insert(t.jobs, [record], t.jobs.fields);
  }

  async claimJob(request: ClaimRequest): Promise<JobRecord | undefined> {
    const row = await this.dialect.claimJob(this.conn, request);
    return row ? t.jobs.fromRow(row) : undefined;
  }

  async updateJob(id: string, patch: JobPatch, guard: JobGuard = {}): Promise<boolean> {
    return (await this.updateCounted(t.jobs, patch, ...jobWhere(id, guard))) > 0;
  }

  async writeJob(id: string, patch: JobPatch, guard: JobGuard = {}): Promise<void> {
    this.update(t.jobs, patch, ...jobWhere(id, guard));
  }

  async upsertWorker(record: WorkerRecord): Promise<void> {
    const updates = t.workers.fields
      .filter((f) => f !== 'id')
      .map((f) => `${t.workers.column(f)} = excluded.${t.workers.column(f)}`)
      .join(', ');
    this.insert(t.workers, [record], t.workers.fields, `ON CONFLICT (id) DO UPDATE SET ${updates}`);
  }

  async updateWorker(id: string, patch: WorkerPatch): Promise<void> {
    this.update(t.workers, patch, 'id = ?', [id]);
  }

  appendEvents(events: readonly NewEvent[]): void {
    this.pendingEvents.push(...events);
  }

  async insertApiKey(record: ApiKeyRecord): Promise<void> {
    this.insert(t.apiKeys, [record], t.apiKeys.fields);
  }

  async grantBlobs(blobs: readonly BlobRecord[], principal: string, now: number): Promise<void> {
    if (blobs.length === 0) return;
    this.insert(t.blobs, blobs, t.blobs.fields, 'ON CONFLICT (digest) DO NOTHING');
    for (const blob of blobs) {
      this.conn.send(
        'INSERT INTO blob_grants (digest, principal, created_at) VALUES (?, ?, ?) ON CONFLICT (digest, principal) DO NOTHING',
        [blob.digest, principal, now],
      );
    }
  }

  async recordBlobUpload(principal: string, blob: { digest: string; size: number }, now: number): Promise<boolean> {
    const inserted = await this.conn.run(
      'INSERT INTO blob_uploads (principal, digest, size, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (principal, digest) DO NOTHING',
      [principal, blob.digest, blob.size, now],
    );
    return inserted > 0;
  }

  async updateApiKey(
    id: string,
    patch: { [K in keyof Omit<ApiKeyRecord, 'id'>]?: ApiKeyRecord[K] | undefined },
  ): Promise<void> {
    this.update(t.apiKeys, patch, 'id = ?', [id]);
  }

  async insertWorkflowVersion(record: WorkflowVersionRecord): Promise<void> {
    this.insert(t.workflowVersions, [record], t.workflowVersions.fields);
  }

  async putKey(record: KeyRecord): Promise<void> {
    this.insert(t.keys, [record], t.keys.fields, 'ON CONFLICT (key_id) DO NOTHING');
  }

  async insertReceipt(record: ReceiptRecord): Promise<void> {
    this.insert(t.receipts, [record], t.receipts.fields);
  }

  async reserveLogIndex(): Promise<number> {
    const rows = await this.conn.all('UPDATE tlog_head SET size = size + 1 WHERE id = 1 RETURNING size', []);
    return Number(rows[0]!.size) - 1;
  }

  async registerZkKey(keyX: string, keyY: string, workerId: string, now: number): Promise<number> {
    const known = await this.findZkRegistryKey(keyX, keyY);
    if (known) return known.leafIndex;
    const rows = await this.conn.all('UPDATE zk_registry_head SET size = size + 1 WHERE id = 1 RETURNING size', []);
    const leafIndex = Number(rows[0]!.size) - 1;
    // A concurrent registration of the same key wins the unique index; this index then stays empty (a zero leaf).
    const inserted = await this.insertCounted(
      t.zkRegistry,
      [{ leafIndex, keyX, keyY, workerId, registeredAt: now }],
      t.zkRegistry.fields,
      'ON CONFLICT DO NOTHING',
    );
    if (inserted === 1) return leafIndex;
    return (await this.findZkRegistryKey(keyX, keyY))!.leafIndex;
  }

  async insertZkLeaf(record: ZkLeafRecord): Promise<boolean> {
    return (await this.insertCounted(t.zkLeaves, [record], t.zkLeaves.fields, 'ON CONFLICT DO NOTHING')) === 1;
  }

  async checkedZkLeaf(
    jobId: string,
    status: 'valid' | 'invalid',
    problem: string | undefined,
    now: number,
  ): Promise<boolean> {
    const patch = { status, problem, checkedAt: now };
    return (await this.updateCounted(t.zkLeaves, patch, "job_id = ? AND status = 'unchecked'", [jobId])) > 0;
  }

  async insertZkProof(record: ZkProofRecord): Promise<void> {
    this.insert(t.zkProofs, [record], t.zkProofs.fields);
  }

  async updateZkProof(
    executionId: string,
    revision: number,
    patch: ZkProofPatch,
    guard: ZkProofGuard = {},
  ): Promise<boolean> {
    let where = 'execution_id = ? AND revision = ?';
    const params: SqlValue[] = [executionId, revision];
    if (guard.status) {
      where += ` AND status IN (${placeholders(guard.status.length)})`;
      params.push(...guard.status);
    }
    if (guard.claimableAt !== undefined) {
      where += " AND (status = 'pending' OR (status = 'proving' AND lease_expires_at < ?))";
      params.push(guard.claimableAt);
    }
    if (guard.leaseOwner !== undefined) {
      where += ' AND lease_owner = ?';
      params.push(guard.leaseOwner);
    }
    return (await this.updateCounted(t.zkProofs, patch, where, params)) > 0;
  }

  async putLogNodes(nodes: readonly LogNode[]): Promise<void> {
    this.insert(t.logNodes, nodes, t.logNodes.fields);
  }

  async initLogOrigin(origin: string): Promise<string> {
    this.conn.send('UPDATE tlog_head SET origin = ? WHERE id = 1 AND origin IS NULL', [origin]);
    return (await this.getLogOrigin())!;
  }

  async lockLedgerAccounts(accounts: readonly string[], now: number): Promise<Map<string, LedgerAmounts>> {
    const out = new Map<string, LedgerAmounts>();
    // Name order, so that two transactions touching the same accounts take them in the same order (no
    // deadlock); each row is made first if missing (on PostgreSQL a concurrent maker's insert is waited for).
    for (const account of [...new Set(accounts)].sort()) {
      this.conn.send(
        'INSERT INTO ledger_accounts (account, available, held, created_at, updated_at) VALUES (?, 0, 0, ?, ?) ON CONFLICT (account) DO NOTHING',
        [account, now, now],
      );
      const rows = await this.conn.all(this.dialect.lockLedgerAccountSql, [account]);
      out.set(account, { available: BigInt(rows[0]!.available as string), held: BigInt(rows[0]!.held as string) });
    }
    return out;
  }

  async insertLedgerTransaction(record: LedgerTransactionRecord): Promise<void> {
    const { postings, ...row } = record;
    this.insert(t.ledgerTransactions, [row], t.ledgerTransactions.fields);
    this.insert(
      t.ledgerPostings,
      postings.map((p, position) => ({ ...p, transactionId: record.id, position })),
      t.ledgerPostings.fields,
    );
  }

  async setLedgerBalances(balances: ReadonlyMap<string, LedgerAmounts>, now: number): Promise<void> {
    for (const [account, { available, held }] of balances) {
      this.conn.send('UPDATE ledger_accounts SET available = ?, held = ?, updated_at = ? WHERE account = ?', [
        safeAmount(String(available), `the available balance of ${account}`),
        safeAmount(String(held), `the held balance of ${account}`),
        now,
        account,
      ]);
    }
  }

  async insertListing(record: ListingRecord): Promise<void> {
    this.insert(t.listings, [listingRow(record)], t.listings.fields);
    await this.writeListingChildren(record);
  }

  async lockListing(id: string): Promise<ListingRecord | undefined> {
    const rows = await this.conn.all(
      `SELECT ${t.listings.columns} FROM market_listings WHERE id = ?${this.dialect.forUpdate}`,
      [id],
    );
    return rows[0] ? listingOf(t.listings.fromRow(rows[0])) : undefined;
  }

  async updateListing(record: ListingRecord): Promise<void> {
    const fields = t.listings.fields.filter((f) => f !== 'id' && f !== 'owner' && f !== 'createdAt');
    const row = listingRow(record);
    this.update(t.listings, Object.fromEntries(fields.map((f) => [f, row[f]])), 'id = ?', [record.id]);
    this.conn.send('DELETE FROM market_listing_tags WHERE listing_id = ?', [record.id]);
    this.conn.send('DELETE FROM market_listing_users WHERE listing_id = ?', [record.id]);
    await this.writeListingChildren(record);
  }

  private async writeListingChildren(record: ListingRecord): Promise<void> {
    for (const tag of new Set(record.tags)) {
      this.conn.send('INSERT INTO market_listing_tags (listing_id, tag) VALUES (?, ?)', [record.id, tag]);
    }
    for (const principal of new Set(record.authorizedUsers)) {
      this.conn.send('INSERT INTO market_listing_users (listing_id, principal) VALUES (?, ?)', [record.id, principal]);
    }
  }

  async insertMarketRun(record: MarketRunRecord): Promise<void> {
    this.insert(t.marketRuns, [record], t.marketRuns.fields);
  }

  async updateMarketRun(
    executionId: string,
    patch: Patch<
      Pick<MarketRunRecord, 'outcome' | 'durationMs' | 'settledRevision' | 'settledAt' | 'hold' | 'quotaHeld'>
    >,
  ): Promise<void> {
    this.update(t.marketRuns, patch, 'execution_id = ?', [executionId]);
  }

  async insertMarketSubscription(record: MarketSubscriptionRecord): Promise<void> {
    this.insert(t.marketSubscriptions, [record], t.marketSubscriptions.fields);
  }

  async lockMarketSubscription(id: string): Promise<MarketSubscriptionRecord | undefined> {
    const rows = await this.conn.all(
      `SELECT ${t.marketSubscriptions.columns} FROM market_subscriptions WHERE id = ?${this.dialect.forUpdate}`,
      [id],
    );
    return rows[0] ? t.marketSubscriptions.fromRow(rows[0]) : undefined;
  }

  async updateMarketSubscription(
    id: string,
    patch: Patch<Pick<MarketSubscriptionRecord, 'usedExecutions' | 'cancelledAt'>>,
  ): Promise<void> {
    this.update(t.marketSubscriptions, patch, 'id = ?', [id]);
  }
  async insertChainAttestorBinding(record: ChainAttestorBindingRecord): Promise<boolean> {
    const inserted = await this.insertCounted(
      t.chainAttestorBindings,
      [record],
      t.chainAttestorBindings.fields,
      'ON CONFLICT (chain_id, attestor, token, settlement) DO NOTHING',
    );
    return inserted === 1;
  }

  async replaceChainAddressBinding(record: ChainAddressBindingRecord, replacing: number | undefined): Promise<boolean> {
    const table = t.chainAddressBindings;
    if (replacing === undefined) {
      return (
        (await this.insertCounted(table, [record], table.fields, 'ON CONFLICT (chain_id, account) DO NOTHING')) === 1
      );
    }
    // Compare-and-set on the log index, unique per binding: a concurrent rebind that committed first makes
    // this one write nothing (PostgreSQL re-checks the WHERE on the row it waited for).
    const { chainId, account, ...rest } = record;
    return (
      (await this.updateCounted(table, rest, 'chain_id = ? AND account = ? AND log_index = ?', [
        chainId,
        account,
        replacing,
      ])) === 1
    );
  }

  async insertMarketSettlement(record: MarketSettlementRecord): Promise<void> {
    this.insert(t.marketSettlements, [record], t.marketSettlements.fields);
  }

  async putMarketRating(record: MarketRatingRecord): Promise<void> {
    this.insert(
      t.marketRatings,
      [record],
      t.marketRatings.fields,
      'ON CONFLICT (listing_id, buyer) DO UPDATE SET execution_id = excluded.execution_id, stars = excluded.stars, review = excluded.review, created_at = excluded.created_at',
    );
  }

  /** The adapter calls this right before COMMIT. */
  async beforeCommit(): Promise<void> {
    if (this.pendingEvents.length === 0) return;
    const executionIds = [
      ...new Set(this.pendingEvents.flatMap((e) => (e.executionId === undefined ? [] : [e.executionId]))),
    ];
    const unlocked = executionIds.filter((id) => !this.eventsLocked.has(id));
    if (unlocked.length > 0) this.dialect.serializeEvents?.(this.conn, unlocked);
    const fields = t.events.fields.filter((f) => f !== 'seq');
    this.insert(t.events, this.pendingEvents.splice(0), fields);
  }
}

/* eslint-enable @typescript-eslint/require-await */

/** A job update's WHERE clause: the job, and its guard. */
function jobWhere(id: string, guard: JobGuard): [string, SqlValue[]] {
  let where = 'id = ?';
  const params: SqlValue[] = [id];
  if (guard.status) {
    where += ` AND status IN (${placeholders(guard.status.length)})`;
    params.push(...guard.status);
  }
  if (guard.workerId !== undefined) {
    where += ' AND worker_id = ?';
    params.push(guard.workerId);
  }
  if (guard.nonce !== undefined) {
    where += ' AND nonce = ?';
    params.push(guard.nonce);
  }
  if (guard.expiredAt !== undefined) {
    where += ' AND (lease_expires_at <= ? OR deadline_at <= ?)';
    params.push(guard.expiredAt, guard.expiredAt);
  }
  return [where, params];
}

/** The sweeper's query (parameters: now, now, limit), with LEASED_JOB_STATUSES as literals. */
export const EXPIRED_JOBS_SQL = `SELECT id FROM jobs
  WHERE status IN (${LEASED_JOB_STATUSES.map((status) => `'${status}'`).join(', ')})
    AND (lease_expires_at <= ? OR deadline_at <= ?) ORDER BY lease_expires_at LIMIT ?`;

/** lockExecutionWithJob's join: the execution, one of its jobs, and that job's step. */
const withJob = {
  execution: aliased(t.executions, 'e'),
  job: aliased(t.jobs, 'j'),
  step: aliased(t.steps, 's'),
};
const lockWithJobSqls = new WeakMap<SqlDialect, string>();
function lockWithJobSql(dialect: SqlDialect): string {
  let sql = lockWithJobSqls.get(dialect);
  if (sql === undefined) {
    sql = `SELECT ${withJob.execution.select}, ${withJob.job.select}, ${withJob.step.select}
      FROM executions e
      LEFT JOIN jobs j ON j.id = ? AND j.execution_id = e.id
      LEFT JOIN steps s ON s.execution_id = e.id AND s.step_id = j.step_id
      WHERE e.id = ?${dialect.forUpdateOf('e')}`;
    lockWithJobSqls.set(dialect, sql);
  }
  return sql;
}

/** A listing's row: the record, and what searches match and order by, derived from it at every write. */
function listingRow(record: ListingRecord): t.ListingRow {
  return { ...record, searchText: searchTextOf(record), listPrice: listPriceOf(record) };
}

/** A ledger cursor: the id (a uuid) of the last transaction of the page before. */
const LEDGER_CURSOR = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** An amount read as decimal text, as a number: the ledger writes safe integers only, so anything else is corruption. */
function safeAmount(text: unknown, what: string): number {
  const value = BigInt(String(text));
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new StoreError('corrupt', `${what} (${value}) is past the safe integers; run the ledger check`);
  }
  return Number(value);
}

function progressOf(row: Row): StepProgress {
  return { stepId: row.step_id as string, status: row.status as StepStatus, pendingDeps: Number(row.pending_deps) };
}

/** The conditions both execution listings share: status (any of), workflow, owner. */
function executionConditions(filter: Pick<ExecutionFilter, 'status' | 'workflowId' | 'clientId'>): {
  where: string[];
  params: SqlValue[];
} {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (filter.status && filter.status.length > 0) {
    where.push(`status IN (${placeholders(filter.status.length)})`);
    params.push(...filter.status);
  }
  if (filter.workflowId !== undefined) {
    where.push('workflow_id = ?');
    params.push(filter.workflowId);
  }
  if (filter.clientId !== undefined) {
    where.push('client_id = ?');
    params.push(filter.clientId);
  }
  return { where, params };
}
