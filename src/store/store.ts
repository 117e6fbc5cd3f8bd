import type {
  ApiKeyRecord,
  ChainAddressBindingRecord,
  ChainAttestorBindingRecord,
  BlobRecord,
  ReplicaResultRecord,
  EventAt,
  WorkflowVersionRecord,
  KeyRecord,
  LedgerBalance,
  LedgerCheckReport,
  LedgerTransactionRecord,
  ListingRecord,
  ListingSearchKey,
  ListingSort,
  ListingStats,
  LogNode,
  MarketRatingRecord,
  MarketRunRecord,
  MarketSettlementRecord,
  MarketSubscriptionRecord,
  ReceiptRecord,
  ExecutionRecord,
  ExecutionStatus,
  EventRecord,
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
  ZkProofStatus,
  ZkRegistryRecord,
} from './records.js';
import type { StepType } from '../workflow/types.js';

/**
 * The store: every piece of durable state, behind one interface with an embedded SQLite adapter and a
 * PostgreSQL adapter. The engine and the coordinator speak only this interface; SQL lives in store/.
 *
 * Every change happens inside `transaction`, which is serializable with respect to one execution: the
 * transaction that first calls `lockExecution(id)` holds that execution until it commits. Reads outside a
 * transaction see committed state only.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the data lives, for people: a file path or a database URL without its password. */
  readonly location: string;
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  readonly read: StoreReads;
  /**
   * Calls `listener` with the earliest `availableAt` of jobs that another process sharing the database
   * queued, soon after it commits, so idle workers here claim at once instead of at their next poll. Only
   * where the database can push (PostgreSQL's LISTEN/NOTIFY); a missed call costs latency, never work,
   * since workers still poll. Returns the unsubscribe.
   */
  onJobsQueued?(listener: (availableAt: number) => void): () => void;
  close(): Promise<void>;
}

export interface ExecutionFilter {
  status?: readonly ExecutionStatus[];
  workflowId?: string;
  clientId?: string;
  /** Newest first; only executions created before this id. */
  before?: string;
  limit?: number;
}

/** How many of an execution's steps are in each state a list shows (counted from the steps table). */
export interface StepCounts {
  total: number;
  completed: number;
  failed: number;
  /** Steps whose job a worker has started (status running; queued ones wait for a worker). */
  running: number;
}

/** An execution as a list shows it: no inputs or result (they may be large), with its step counts. */
export interface ExecutionSummary {
  id: string;
  workflowId: string;
  workflowVersion: number;
  clientId: string;
  status: ExecutionStatus;
  spent: number;
  budget: number;
  createdAt: number;
  startedAt: number;
  finishedAt?: number;
  updatedAt: number;
  steps: StepCounts;
}

/** Where a page of executions, newest first, continues: strictly older than this (created_at, id). */
export interface ExecutionKey {
  createdAt: number;
  id: string;
}

export interface ExecutionPageFilter {
  status?: readonly ExecutionStatus[];
  workflowId?: string;
  clientId?: string;
  after?: ExecutionKey;
  limit: number;
}

/** Where a read of changed executions continues: strictly later than this (updated_at, id). */
export interface ExecutionChangeKey {
  updatedAt: number;
  id: string;
}

/** A job a worker holds under a lease: what an admin's worker view lists. */
export interface LeasedJob {
  id: string;
  executionId: string;
  stepId: string;
  attempt: number;
  status: JobStatus;
  workerId: string;
  leaseExpiresAt?: number;
  startedAt?: number;
}

/** What the last stretch of time saw, for the metrics summary: counts per minute bucket since `since`. */
export interface RecentActivity {
  /** Bucket index (minutes since `since`) → executions created in it. */
  executionsStarted: Map<number, number>;
  /** Bucket index → executions that ended in it, by final status. */
  executionsFinished: Map<number, Record<string, number>>;
  /** Steps completed since `since`: when each finished and how long it ran (ms), oldest first, at most the cap. */
  stepsCompleted: { finishedAt: number; durationMs: number }[];
  /** Whether more steps completed than the cap let through (the latencies are then of the first ones only). */
  stepsTruncated: boolean;
  /** Jobs queued now. */
  queueDepth: number;
}

export interface ClaimRequest {
  workerId: string;
  stepTypes: readonly StepType[];
  models: readonly string[];
  /** The digest of each served model the worker knows: jobs pinned to another digest are not for it. */
  modelDigests?: Readonly<Record<string, string>>;
  now: number;
  leaseMs: number;
  nonce: string;
  /** The worker begins at once (an in-process one): the job goes straight to RUNNING, started now. */
  start?: boolean;
}

/**
 * A step result without its output and attestation (what a receipt needs), with the principal its job was
 * assigned to (JobRecord.principal; absent for jobs recorded without one): whom the step's attested cost pays.
 */
export type StepResultSummary = Omit<StepResultRecord, 'output' | 'attestation'> & { principal?: string };

export interface StepProgress {
  stepId: string;
  status: StepStatus;
  pendingDeps: number;
}

/** A change to a record: fields to set; a field set to `undefined` is cleared. */
export type Patch<T> = { [K in keyof T]?: T[K] | undefined };
export type ExecutionPatch = Patch<Omit<ExecutionRecord, 'id' | 'workflowDigest' | 'createdAt'>>;
/** An execution locked with one of its jobs and the job's step (lockExecutionWithJob). */
export interface LockedJob {
  execution: ExecutionRecord;
  job?: JobRecord;
  step?: StepRecord;
}

export type StepPatch = Patch<Omit<StepRecord, 'executionId' | 'stepId' | 'position'>>;
export type JobPatch = Patch<Omit<JobRecord, 'id' | 'executionId' | 'stepId' | 'attempt'>>;
export type WorkerPatch = Patch<Omit<WorkerRecord, 'id'>>;

/** Guards for conditional updates: the update applies only when the row still matches. */
export interface JobGuard {
  status?: readonly JobStatus[];
  workerId?: string;
  nonce?: string;
  /** Only if the lease or the deadline had passed at this time. */
  expiredAt?: number;
}

export type ZkProofPatch = Patch<Omit<ZkProofRecord, 'executionId' | 'revision' | 'createdAt'>>;

/** Guards for a zk proof update: it applies only when the row still matches. */
export interface ZkProofGuard {
  status?: readonly ZkProofStatus[];
  leaseOwner?: string;
  /** Claimable at this time: pending, or proving under a lease that had passed (a node that stopped). */
  claimableAt?: number;
}

/** A page of an account's ledger transactions, newest first; `cursor` fetches the next, when there is one. */
export interface LedgerPage {
  transactions: LedgerTransactionRecord[];
  cursor?: string;
}

/** Exact amounts, as the ledger computes with them (sums can pass 2^53 before a check refuses them). */
export interface LedgerAmounts {
  available: bigint;
  held: bigint;
}

/**
 * A search of the marketplace's listings as one principal sees them: active listings that are public or
 * that it owns or is authorized for, and its own paused ones (an admin: every listing not retired).
 */
export interface ListingSearch {
  viewer: string;
  admin: boolean;
  /** Each must occur in the title, description or tags, case-insensitively (no wildcards). */
  terms?: readonly string[];
  /** An exact tag (tags are stored lowercase). */
  tag?: string;
  sort: ListingSort;
  limit: number;
  /** The `next` of the page before. */
  after?: ListingSearchKey;
}

export interface ListingSearchPage {
  listings: ListingRecord[];
  /** Where the next page starts, when there is one. */
  next?: ListingSearchKey;
}

export interface StoreReads {
  getWorkflow(digest: string): Promise<WorkflowRecord | undefined>;
  listWorkflows(workflowId?: string): Promise<WorkflowRecord[]>;

  getExecution(id: string): Promise<ExecutionRecord | undefined>;
  findExecutionIds(prefix: string, limit: number): Promise<string[]>;
  listExecutions(filter: ExecutionFilter): Promise<ExecutionRecord[]>;
  /**
   * A page of executions newest first by (created_at, id), with each one's step counts: one query however
   * long the page, keyset-paged (no OFFSET) so that page 1000 costs what page 1 does.
   */
  listExecutionSummaries(filter: ExecutionPageFilter): Promise<ExecutionSummary[]>;
  /**
   * Executions whose row changed (status, spent, steps done) after `after`, oldest change first by
   * (updated_at, id), with their step counts: what a live list follows.
   */
  listExecutionChanges(filter: {
    clientId?: string;
    after?: ExecutionChangeKey;
    limit: number;
  }): Promise<ExecutionSummary[]>;
  findExecutionByIdempotencyKey(clientId: string, key: string): Promise<ExecutionRecord | undefined>;
  listExecutionIdsPastDeadline(now: number, limit: number): Promise<string[]>;

  listSteps(executionId: string): Promise<StepRecord[]>;
  getStep(executionId: string, stepId: string): Promise<StepRecord | undefined>;
  /** Just the status of every step, in definition order: what a full look at an execution needs. */
  listStepStatuses(executionId: string): Promise<{ stepId: string; status: StepStatus }[]>;
  /** The status and pending dependencies of some steps. */
  getStepStatuses(executionId: string, stepIds: readonly string[]): Promise<StepProgress[]>;
  /** Steps still pending whose dependencies are all done: each waits for its decision. In definition order. */
  listDecidableSteps(executionId: string): Promise<string[]>;
  /** Steps decided to run and waiting for a slot, with their inputs, in definition order. */
  listReadySteps(executionId: string, limit: number): Promise<{ stepId: string; input: unknown }[]>;
  /**
   * Running executions that wait on a decision nobody may be making: a step decidable but undecided, or
   * every step done and no result yet (what a process that stopped between two transactions leaves).
   */
  listExecutionsToAdvance(limit: number): Promise<string[]>;
  getStepResults(executionId: string, stepIds?: readonly string[]): Promise<StepResultRecord[]>;
  /** The replica results of an execution's redundant steps (of one step's attempt, if given), in replica order. */
  listReplicaResults(executionId: string, of?: { stepId: string; attempt: number }): Promise<ReplicaResultRecord[]>;
  /** Step results without their payloads (output, attestation): what a receipt needs. */
  listStepResultSummaries(executionId: string): Promise<StepResultSummary[]>;

  getJob(id: string): Promise<JobRecord | undefined>;
  listJobs(executionId: string, status?: readonly JobStatus[]): Promise<JobRecord[]>;
  /** One step's jobs, by attempt then replica: its attempts as a step view lists them. */
  listJobsOfStep(executionId: string, stepId: string): Promise<JobRecord[]>;
  /** The input kept for a step decided to run and waiting for a slot (setReadyInput), if any. */
  getReadyInput(executionId: string, stepId: string): Promise<{ input: unknown } | undefined>;
  /** Leased jobs whose lease or deadline has passed. */
  listExpiredJobIds(now: number, limit: number): Promise<string[]>;
  /** Jobs held by workers under a lease now (assigned or running), by worker then start. */
  listLeasedJobs(): Promise<LeasedJob[]>;
  /**
   * Counts over the executions and steps tables since `since` in minute buckets (each read bounded by an
   * index on its time column), at most `stepCap` completed steps' latencies, and the queue depth now.
   */
  recentActivity(since: number, stepCap: number): Promise<RecentActivity>;
  listJobIdsOfWorkers(workerIds: readonly string[], status: readonly JobStatus[]): Promise<string[]>;
  /** Whether a job is claimable now by a worker with these capabilities (a read; claiming may still lose a race). */
  hasClaimableJob(
    request: Pick<ClaimRequest, 'workerId' | 'stepTypes' | 'models' | 'modelDigests' | 'now'>,
  ): Promise<boolean>;
  /** The earliest time a queued job becomes claimable, if any is waiting. */
  nextAvailableAt(): Promise<number | undefined>;

  getWorker(id: string): Promise<WorkerRecord | undefined>;
  listWorkers(): Promise<WorkerRecord[]>;

  listEvents(executionId: string, afterSeq: number, limit: number): Promise<EventRecord[]>;

  /**
   * An execution's events after `cursor` (undefined: from the start), in commit order, so that a reader
   * resuming from the last cursor it saw never misses one that committed late.
   */
  readEvents(executionId: string, cursor: string | undefined, limit: number): Promise<EventAt[]>;

  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;

  getBlob(digest: string): Promise<BlobRecord | undefined>;
  /** Whether a principal may read a blob (it uploaded it, or one of its executions named or produced it). */
  hasBlobGrant(digest: string, principal: string): Promise<boolean>;
  /** The total size of the blobs a principal uploaded (each digest once): what its stored-bytes quota counts. */
  blobBytesUploaded(principal: string): Promise<number>;
  /** How many of a client's executions are running, counting no further than `upTo`: its running-executions quota. */
  countRunningExecutions(clientId: string, upTo: number): Promise<number>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  getWorkflowVersion(workflowId: string, version?: number): Promise<WorkflowVersionRecord | undefined>;
  /** The latest version of each published workflow, or every version of one. */
  listWorkflowVersions(workflowId?: string): Promise<WorkflowVersionRecord[]>;

  getKeys(keyIds: readonly string[]): Promise<KeyRecord[]>;
  listKeys(role: KeyRecord['role']): Promise<KeyRecord[]>;
  /** How many rows of a table have each status: for metrics. */
  countByStatus(table: 'executions' | 'steps' | 'jobs'): Promise<Record<string, number>>;
  /** Receipts of an execution, newest revision first. */
  listReceipts(executionId: string): Promise<ReceiptRecord[]>;
  getReceiptAt(logIndex: number): Promise<ReceiptRecord | undefined>;
  /** How many leaves the transparency log holds. */
  getLogSize(): Promise<number>;
  getLogOrigin(): Promise<string | undefined>;
  getLogNodes(refs: readonly { level: number; nodeIndex: number }[]): Promise<LogNode[]>;

  /** The worker registry's first `size` leaves (all by default), in leaf order. */
  listZkRegistry(size?: number): Promise<ZkRegistryRecord[]>;
  findZkRegistryKey(keyX: string, keyY: string): Promise<ZkRegistryRecord | undefined>;
  /** The distinct keys of a principal's active workers: what its worker registration cap counts. */
  listActiveWorkerKeyIds(principal: string): Promise<string[]>;
  /** How many worker registry leaves belong to workers of a principal: what its zk key cap counts. */
  countZkKeysOfPrincipal(principal: string): Promise<number>;
  /** An execution's zk proof record for a receipt revision (the newest by default). */
  getZkProof(executionId: string, revision?: number): Promise<ZkProofRecord | undefined>;
  /** Receipt revisions waiting for proofs: pending, or being proven under a lease that ran out. */
  listZkProofsToProve(now: number, limit: number): Promise<{ executionId: string; revision: number }[]>;
  /** The Baby Jubjub leaf signatures workers sent for an execution's accepted results. */
  listZkLeaves(executionId: string): Promise<ZkLeafRecord[]>;

  /** The ledger transaction posted under an idempotency key, with its postings. */
  findLedgerTransaction(idempotencyKey: string): Promise<LedgerTransactionRecord | undefined>;
  /** An account's cached balance (zero for an account nothing touched); StoreError corrupt if not a safe integer. */
  getLedgerBalance(account: string): Promise<LedgerBalance>;
  /**
   * The transactions that post to an account, newest first, each with all its postings (the API decides
   * which of them a principal may see). `cursor`: one this store gave out; StoreError invalid_cursor if not.
   */
  listLedgerTransactions(account: string, page: { limit: number; cursor?: string }): Promise<LedgerPage>;
  /**
   * Recomputes every balance from the postings and compares it with the cached one, and finds every
   * transaction that does not sum to zero or has fewer than two postings. A report: it never throws for
   * what it finds.
   */
  checkLedger(): Promise<LedgerCheckReport>;

  getListing(id: string): Promise<ListingRecord | undefined>;
  /** One page of listings in the search's order, each exactly once across pages (a unique tiebreak on the id). */
  searchListings(search: ListingSearch): Promise<ListingSearchPage>;
  /** The derived stats of each listing (zeros and nulls for one with no runs or ratings). */
  getListingStats(ids: readonly string[]): Promise<Map<string, ListingStats>>;
  getMarketRun(executionId: string): Promise<MarketRunRecord | undefined>;
  /** The settlement statements of an execution, in revision order. */
  listMarketSettlements(executionId: string): Promise<MarketSettlementRecord[]>;
  /**
   * The settlement statements whose ledger transaction posts to an account (a publisher's, a worker's, a
   * buyer's), newest first; `cursor`: one this store gave out (StoreError invalid_cursor if not).
   */
  listSettlementsPostingTo(
    account: string,
    page: { limit: number; cursor?: string },
  ): Promise<{ settlements: MarketSettlementRecord[]; cursor?: string }>;
  /**
   * What is held now: the runs through listings whose hold no settlement or release has closed yet, and
   * the sum of every account's held balance (exact, as a bigint).
   */
  getHeldTotals(): Promise<{ holds: number; total: bigint }>;
  getMarketSubscription(id: string): Promise<MarketSubscriptionRecord | undefined>;
  /** A buyer's subscription to a listing whose period holds `now` (begun, not ended), if any. */
  findActiveSubscription(listingId: string, buyer: string, now: number): Promise<MarketSubscriptionRecord | undefined>;
  /** A buyer's subscriptions, newest first, at most `limit` (ended ones too). */
  listMarketSubscriptions(buyer: string, limit: number): Promise<MarketSubscriptionRecord[]>;
  /**
   * A listing's ratings, newest first (ties: by buyer), `after` the last one of the page before; the
   * publisher's own never shows (it does not count either).
   */
  listMarketRatings(
    listingId: string,
    page: { limit: number; after?: { createdAt: number; buyer: string } },
  ): Promise<MarketRatingRecord[]>;

  /** The attestor-binding statement of one deployment, if the coordinator made it. */
  getChainAttestorBinding(key: ChainAttestorBindingKey): Promise<ChainAttestorBindingRecord | undefined>;
  /** The address a ledger account is bound to on a chain now, if any: how settlements find whom to pay. */
  chainAddressOf(chainId: number, account: string): Promise<ChainAddressBindingRecord | undefined>;
  /** The current bindings on a chain (of one account, if given), by account; at most `limit`. */
  listChainAddressBindings(
    chainId: number,
    filter: { account?: string; limit: number },
  ): Promise<ChainAddressBindingRecord[]>;
}

/** What makes an attestor binding the same one: the deployment it is about. */
export type ChainAttestorBindingKey = Pick<ChainAttestorBindingRecord, 'chainId' | 'attestor' | 'token' | 'settlement'>;

/**
 * A transaction. Its writes that return nothing (`Promise<void>`, and `updateStep` without `expect`) may go
 * out without waiting for their answer (PostgreSQL pipelines them behind each other): a write that fails
 * then fails the transaction at its next read or at commit, never silently. Reads and writes that return
 * what they changed wait, and see every write sent before them.
 */
export interface StoreTx extends StoreReads {
  /** Runs after the transaction commits (never if it rolls back): wake-ups, notifications. */
  afterCommit(fn: () => void): void;

  putWorkflow(record: WorkflowRecord): Promise<void>;

  insertExecution(record: ExecutionRecord): Promise<void>;
  /** Locks the execution for the rest of the transaction (PostgreSQL: FOR UPDATE; SQLite: the write lock). */
  lockExecution(id: string): Promise<ExecutionRecord | undefined>;
  /**
   * lockExecution, reading in the same statement one of its jobs and that job's step (a report's
   * transaction needs all three): `job` and `step` are absent when the execution has no such job.
   */
  lockExecutionWithJob(executionId: string, jobId: string): Promise<LockedJob | undefined>;
  updateExecution(id: string, patch: ExecutionPatch): Promise<void>;

  insertSteps(records: readonly StepRecord[]): Promise<void>;
  /**
   * Whether the step was updated: with `expect`, only a step in one of those states is. Without it, the
   * update is a write sent without waiting (the step exists under its execution's lock), and it is true.
   */
  updateStep(executionId: string, stepId: string, patch: StepPatch, expect?: readonly StepStatus[]): Promise<boolean>;
  /**
   * One more dependency of each step is done (`counts`: how many of its dependencies, by step); returns
   * the steps as they are after the change.
   */
  releaseDependents(executionId: string, counts: ReadonlyMap<string, number>): Promise<StepRecord[]>;
  /** Keeps the input of a step decided to run (`undefined` removes it, once it is dispatched or the execution ends). */
  setReadyInput(executionId: string, stepId: string, input: unknown): Promise<void>;
  /**
   * Marks a queued step running for the job that started, without the execution lock: one guarded
   * statement (the step must still be queued for that very job), so it cannot race an engine decision.
   * Sent without waiting: a step no longer queued for that job is simply left as it is.
   */
  markStepRunning(executionId: string, stepId: string, jobId: string, now: number): Promise<void>;
  /** Inserts the one result of a step; false when the step already has one (the new one is not written). */
  insertStepResult(record: StepResultRecord): Promise<boolean>;
  /** Keeps one replica's result; false when that replica's result is already in. */
  insertReplicaResult(record: ReplicaResultRecord): Promise<boolean>;

  insertJob(record: JobRecord): Promise<void>;
  /** Atomically assigns the oldest claimable queued job that the worker can serve; two workers never get one job. */
  claimJob(request: ClaimRequest): Promise<JobRecord | undefined>;
  updateJob(id: string, patch: JobPatch, guard?: JobGuard): Promise<boolean>;
  /**
   * updateJob sent without waiting to learn whether the guard held: for a job whose state the transaction
   * has already read under its execution's lock, where the guard is only a backstop.
   */
  writeJob(id: string, patch: JobPatch, guard?: JobGuard): Promise<void>;

  upsertWorker(record: WorkerRecord): Promise<void>;
  updateWorker(id: string, patch: WorkerPatch): Promise<void>;

  /**
   * Appends to the history: buffered here, at once, and written right before the transaction commits, in the
   * order appended (nothing to await; a rolled-back transaction writes none of them).
   */
  appendEvents(events: readonly NewEvent[]): void;

  insertApiKey(record: ApiKeyRecord): Promise<void>;

  /** Records blobs (first record wins) and lets `principal` read them. */
  grantBlobs(blobs: readonly BlobRecord[], principal: string, now: number): Promise<void>;
  /** Counts an upload against its principal; false when that principal had uploaded this digest already (counted once). */
  recordBlobUpload(principal: string, blob: { digest: string; size: number }, now: number): Promise<boolean>;
  updateApiKey(id: string, patch: Patch<Omit<ApiKeyRecord, 'id'>>): Promise<void>;
  /** Publishes a version; StoreError conflict when (workflowId, version) is taken. */
  insertWorkflowVersion(record: WorkflowVersionRecord): Promise<void>;

  /** Records a public key (idempotent: a keyid names one key). */
  putKey(record: KeyRecord): Promise<void>;
  insertReceipt(record: ReceiptRecord): Promise<void>;
  /**
   * Takes the next index of the transparency log, holding the log's head until commit so that appends
   * from concurrent transactions (and replicas) are serialized and leave no gaps.
   */
  reserveLogIndex(): Promise<number>;
  putLogNodes(nodes: readonly LogNode[]): Promise<void>;
  /** Names the log `origin` unless it already has a name; returns the name it has. */
  initLogOrigin(origin: string): Promise<string>;

  /** Adds a key to the worker registry unless it is there; returns its leaf index either way. */
  registerZkKey(keyX: string, keyY: string, workerId: string, now: number): Promise<number>;
  insertZkProof(record: ZkProofRecord): Promise<void>;
  updateZkProof(executionId: string, revision: number, patch: ZkProofPatch, guard?: ZkProofGuard): Promise<boolean>;
  /** Records a leaf signature unless the job has one already (the first one sent stays); true if recorded. */
  insertZkLeaf(record: ZkLeafRecord): Promise<boolean>;
  /** Records the check of an unchecked leaf signature; false if it was checked already. */
  checkedZkLeaf(jobId: string, status: 'valid' | 'invalid', problem: string | undefined, now: number): Promise<boolean>;

  /**
   * Locks ledger accounts for the rest of the transaction, creating those that do not exist (with zero
   * balances), in name order whatever the order given (the lock order: after the execution, accounts by
   * name), and returns their balances as they are under the lock. PostgreSQL: `SELECT … FOR UPDATE`.
   * Callers go through src/ledger (postTransaction), which checks what it writes.
   */
  lockLedgerAccounts(accounts: readonly string[], now: number): Promise<Map<string, LedgerAmounts>>;
  /** Writes a transaction and its postings; StoreError conflict when its idempotency key is taken. */
  insertLedgerTransaction(record: LedgerTransactionRecord): Promise<void>;
  /** Sets the cached balances of accounts this transaction has locked. */
  setLedgerBalances(balances: ReadonlyMap<string, LedgerAmounts>, now: number): Promise<void>;

  insertListing(record: ListingRecord): Promise<void>;
  /** Reads a listing and holds it for the rest of the transaction (PostgreSQL: FOR UPDATE; SQLite: the write lock). */
  lockListing(id: string): Promise<ListingRecord | undefined>;
  /** Rewrites a listing (its id and owner never change), with its tags and authorized users. */
  updateListing(record: ListingRecord): Promise<void>;
  /** Records an execution started through a listing; StoreError conflict if the execution has one. */
  insertMarketRun(record: MarketRunRecord): Promise<void>;
  /** Records how a run settled (outcome, duration, revision, time). */
  updateMarketRun(
    executionId: string,
    patch: Patch<
      Pick<MarketRunRecord, 'outcome' | 'durationMs' | 'settledRevision' | 'settledAt' | 'hold' | 'quotaHeld'>
    >,
  ): Promise<void>;
  /** Records a settlement statement; StoreError conflict if that revision has one. */
  insertMarketSettlement(record: MarketSettlementRecord): Promise<void>;
  /** A buyer's rating of a listing, replacing the one it gave before. */
  putMarketRating(record: MarketRatingRecord): Promise<void>;
  insertMarketSubscription(record: MarketSubscriptionRecord): Promise<void>;
  /** Reads a subscription and holds it for the rest of the transaction (PostgreSQL: FOR UPDATE). */
  lockMarketSubscription(id: string): Promise<MarketSubscriptionRecord | undefined>;
  updateMarketSubscription(
    id: string,
    patch: Patch<Pick<MarketSubscriptionRecord, 'usedExecutions' | 'cancelledAt'>>,
  ): Promise<void>;

  /** Records an attestor binding unless its deployment has one (then false: the other one stays). */
  insertChainAttestorBinding(record: ChainAttestorBindingRecord): Promise<boolean>;
  /**
   * Makes `record` the account's binding on its chain, only if the current one is still `replacing` (its log
   * index; undefined: there is none). False when another writer got there first: nothing was written.
   */
  replaceChainAddressBinding(record: ChainAddressBindingRecord, replacing: number | undefined): Promise<boolean>;
}
