import type { BatchProof } from '../attest/zk/proof.js';
import type { Envelope } from '../attest/dsse.js';
import type { StepType, VerificationLevel, WorkflowDefinition } from '../workflow/types.js';

/**
 * The records the store keeps. Times are integer milliseconds since the epoch; money is integer
 * micro-units. JSON payloads (inputs, outputs, definitions) are stored as text and come back byte-for-byte,
 * because what is stored is what gets digested.
 */

export type ExecutionStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'timed_out' | 'budget_exceeded';
/**
 * pending: waiting for its dependencies (or for its decision); ready: decided to run, waiting for a slot
 * (the execution's concurrency) or for budget; queued and running: a job is out; then an end.
 */
export type StepStatus = 'pending' | 'ready' | 'queued' | 'running' | 'completed' | 'skipped' | 'failed' | 'cancelled';
export const STEP_STATUSES: readonly StepStatus[] = [
  'pending',
  'ready',
  'queued',
  'running',
  'completed',
  'skipped',
  'failed',
  'cancelled',
];
export type JobStatus = 'queued' | 'assigned' | 'running' | 'completed' | 'failed' | 'expired' | 'cancelled';
export type WorkerStatus = 'active' | 'stopped' | 'dead';

export const EXECUTION_STATUSES: readonly ExecutionStatus[] = [
  'running',
  'completed',
  'failed',
  'cancelled',
  'timed_out',
  'budget_exceeded',
];
export const TERMINAL_EXECUTION_STATUSES: ReadonlySet<ExecutionStatus> = new Set(EXECUTION_STATUSES.slice(1));
// The one definition of which job and step statuses are still in progress: the engine, the coordinator, the
// store's queries and the API all use these. (The SQL migrations spell them out as they stood when each ran:
// a migration is history, and does not change.)
/** Jobs a worker holds under a lease. */
export const LEASED_JOB_STATUSES: readonly JobStatus[] = ['assigned', 'running'];
/** Jobs not over yet: waiting for a worker, or held by one. Every other status is final. */
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ['queued', ...LEASED_JOB_STATUSES];
/** Steps with a job out: they count against the execution's concurrency. */
export const ACTIVE_STEP_STATUSES: readonly StepStatus[] = ['queued', 'running'];
/** Steps done with: a dependant may run (or be skipped). */
export const DONE_STEP_STATUSES: readonly StepStatus[] = ['completed', 'skipped'];

/** A failure as recorded: a stable code to branch on and a message for people. */
export interface ErrorInfo {
  code: string;
  message: string;
  retryable?: boolean;
  stepId?: string;
  /** Anything else worth keeping: the disagreeing workers, the refused worker, ... */
  details?: Record<string, unknown>;
}

export interface WorkflowRecord {
  digest: string;
  workflowId: string;
  version: number;
  name: string;
  definition: WorkflowDefinition;
  createdAt: number;
}

export interface ExecutionRecord {
  id: string;
  workflowDigest: string;
  workflowId: string;
  workflowVersion: number;
  clientId: string;
  status: ExecutionStatus;
  inputs: unknown;
  inputDigest: string;
  result?: unknown;
  resultDigest?: string;
  error?: ErrorInfo;
  /** Integer micro-units; 0 = no limit. */
  budget: number;
  spent: number;
  /** Estimates reserved for jobs dispatched and not yet settled. */
  reserved: number;
  idempotencyKey?: string;
  /** Asked for by the client at start; the workflow's own level when absent. */
  verificationLevel?: VerificationLevel;
  createdAt: number;
  startedAt: number;
  deadlineAt: number;
  finishedAt?: number;
  updatedAt: number;
  /**
   * Counts of its steps, kept by the engine with every status it changes, so scheduling never scans the
   * steps: all of them, those done (completed or skipped), active (queued or running) and ready.
   */
  stepsTotal: number;
  stepsDone: number;
  stepsActive: number;
  stepsReady: number;
}

export interface StepRecord {
  executionId: string;
  stepId: string;
  /** Position in the definition, for stable listing. */
  position: number;
  status: StepStatus;
  /** Jobs created for this step so far (the attempt number of the latest). */
  attempts: number;
  /** `attempts` when the current round began (an execution retry starts a new round of the retry policy). */
  roundStart: number;
  /** Dependencies not yet done: the step is decided when this reaches 0. */
  pendingDeps: number;
  currentJobId?: string;
  inputDigest?: string;
  error?: ErrorInfo;
  skipReason?: string;
  cost: number;
  queuedAt?: number;
  startedAt?: number;
  finishedAt?: number;
}

/** The accepted output of a step: written once per (execution, step). */
export interface StepResultRecord {
  executionId: string;
  stepId: string;
  jobId: string;
  attempt: number;
  workerId: string;
  output: unknown;
  outputDigest: string;
  /**
   * 'blob': the output was too large for a row; `output` is the reference of a blob holding its canonical
   * JSON (whose digest is `outputDigest`). Read it with readStepOutput (src/blobs/step-output.ts).
   */
  outputStorage?: 'blob';
  cost: number;
  createdAt: number;
  /** The worker's signed statement about this result (absent only for results from before receipts). */
  attestation?: Envelope;
  attestationDigest?: string;
  workerKeyId?: string;
}

/** One replica's accepted result of a redundant step, kept until q replicas agree (or cannot). */
export interface ReplicaResultRecord extends StepResultRecord {
  replica: number;
  /** The principal of the worker that ran it, from its job (absent only in rows from before migration 9). */
  principal?: string;
}

/** What a worker needs to run a job, frozen when the job is queued. */
export interface JobSpec {
  workflowDigest: string;
  stepType: StepType;
  model?: { name: string; version?: string; digest?: string };
  expression?: string;
  outputMappings?: Record<string, string>;
  /** The step's result must carry a signed attestation, whatever the coordinator's policy. */
  requiresProof?: boolean;
  /** The execution runs at verification level zk: the attestation must carry the worker's Baby Jubjub signature of the step leaf. */
  zkLeaf?: boolean;
}

export interface JobRecord {
  id: string;
  executionId: string;
  stepId: string;
  attempt: number;
  status: JobStatus;
  stepType: StepType;
  /** Model name the job needs, when it needs one: what workers match on. */
  model?: string;
  /** The model's digest (hex SHA-256), when the step pins it: only a worker serving exactly it may claim. */
  modelDigest?: string;
  /** Which of a redundant step's k jobs for this attempt (0 for a step that runs once). */
  replica?: number;
  spec: JobSpec;
  input: unknown;
  inputDigest: string;
  /** Budget reserved for this job; settled when it ends. */
  reserved: number;
  cost?: number;
  /** Issued at assignment; a result must echo it. */
  nonce?: string;
  workerId?: string;
  /**
   * Who the worker it was assigned to speaks for (the API key principal that registered it, or the node's
   * own for in-process workers), recorded at assignment: a redundancy quorum counts these, not keys.
   */
  principal?: string;
  error?: ErrorInfo;
  timeoutMs: number;
  availableAt: number;
  createdAt: number;
  assignedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  leaseExpiresAt?: number;
  deadlineAt?: number;
}

export interface Capabilities {
  /** Step types this worker runs without a model (data_processing expressions, for instance). */
  stepTypes: StepType[];
  /** Model names this worker serves, for any step type. */
  models: string[];
  /** The digest (hex SHA-256) of a served model's files, by model name, where the worker knows it. */
  modelDigests?: Record<string, string>;
}

export interface WorkerRecord {
  id: string;
  name: string;
  kind: 'local' | 'remote';
  host: string;
  pid: number;
  capabilities: Capabilities;
  concurrency: number;
  status: WorkerStatus;
  startedAt: number;
  lastSeenAt: number;
  /** The worker's Ed25519 identity: attestations from this worker must be signed by it. */
  keyId?: string;
  /** Who registered a remote worker (an API key's principal): only they may speak for it. */
  principal?: string;
  /** The worker's Baby Jubjub key (decimal coordinates): it signs step leaves for zero-knowledge proofs. */
  zkPublicKey?: { x: string; y: string };
}

export type Role = 'client' | 'publisher' | 'worker' | 'admin';
export const ROLES: readonly Role[] = ['client', 'publisher', 'worker', 'admin'];

/** An API key. Only a hash of its secret is kept. */
export interface ApiKeyRecord {
  id: string;
  /** Whose key it is: the client that owns the executions it starts (keys of one principal share them). */
  principal: string;
  role: Role;
  secretHash: string;
  createdAt: number;
  revokedAt?: number;
  lastUsedAt?: number;
}

/** A published version of a workflow: (id, version) names one definition digest, forever. */
export interface WorkflowVersionRecord {
  workflowId: string;
  version: number;
  digest: string;
  owner: string;
  createdAt: number;
}

/** A public key Verity has seen sign something. Append-only: a receipt must stay checkable forever. */
export interface KeyRecord {
  keyId: string;
  role: 'coordinator' | 'worker';
  publicKeyPem: string;
  createdAt: number;
}

/** The coordinator's signed statement about an execution; a retried execution gets a new revision. */
export interface ReceiptRecord {
  executionId: string;
  revision: number;
  status: ExecutionStatus;
  envelope: Envelope;
  /** Hex SHA-256 of the envelope's payload: the transparency log's leaf data. */
  payloadDigest: string;
  logIndex: number;
  createdAt: number;
}

/** One key of the coordinator's worker registry: a leaf of its Poseidon Merkle tree, in registration order. */
export interface ZkRegistryRecord {
  leafIndex: number;
  keyX: string;
  keyY: string;
  /** The worker that first registered the key. */
  workerId: string;
  registeredAt: number;
}

/**
 * A worker's Baby Jubjub signature of the leaf of a step result it ran (level zk). It comes after the result,
 * which is accepted on its Ed25519 attestation, and is checked off the step path: only the proof waits for
 * it. 'unchecked' until checked against the key the worker registered (after a restart too: the prover
 * checks what it finds unchecked).
 */
export interface ZkLeafRecord {
  /** The job whose accepted result the leaf is of. */
  jobId: string;
  executionId: string;
  stepId: string;
  workerId: string;
  keyX: string;
  keyY: string;
  r8x: string;
  r8y: string;
  s: string;
  status: 'unchecked' | 'valid' | 'invalid';
  /** Why an invalid signature is invalid. */
  problem?: string;
  createdAt: number;
  checkedAt?: number;
}

export type ZkProofStatus = 'pending' | 'proving' | 'completed' | 'failed';

/**
 * The zero-knowledge side of a receipt revision: the public values the coordinator signed (in the receipt
 * and in the zk statement), the salt that hides the commitment chain (never leaves the coordinator and its
 * prover), and the proofs once they exist.
 */
export interface ZkProofRecord {
  executionId: string;
  revision: number;
  circuitId: string;
  salt: string;
  commitment: string;
  registryRoot: string;
  registrySize: number;
  /** The coordinator-signed zk statement (DSSE): what a zk-only bundle carries instead of the receipt. */
  statement: Envelope;
  status: ZkProofStatus;
  batchesTotal: number;
  batchesDone: number;
  /** Proofs of the batches done so far, in batch order. */
  proofs: BatchProof[];
  error?: ErrorInfo;
  /** The node proving it, and until when that claim holds: another node takes over after. */
  leaseOwner?: string;
  leaseExpiresAt?: number;
  createdAt: number;
  updatedAt: number;
}

/** A hash of the transparency log: level 0 are leaf hashes, level l the complete subtrees of 2^l leaves. */
export interface LogNode {
  level: number;
  nodeIndex: number;
  hash: string;
}

export interface EventRecord {
  seq: number;
  executionId?: string;
  at: number;
  type: string;
  stepId?: string;
  jobId?: string;
  attempt?: number;
  /** Who caused it: `engine`, `worker:<id>`, `client:<id>`, `sweeper`. */
  actor: string;
  data?: Record<string, unknown>;
}

export type NewEvent = Omit<EventRecord, 'seq'>;

/** An event and the opaque cursor after it: what a stream resumes from (`Last-Event-ID`). */
export interface EventAt {
  event: EventRecord;
  cursor: string;
}

/** A blob the server knows of (its bytes are in the blob store, named by the digest). */
export interface BlobRecord {
  digest: string;
  size: number;
  mediaType: string;
  createdAt: number;
}

// ---------------------------------------------------------------------------------------------------------
// The ledger (src/ledger/ holds its rules; the store keeps its rows)

/** What each account holds: money it may spend, and money set aside by holds until a settlement or a release. */
export type LedgerBucket = 'available' | 'held';
export const LEDGER_BUCKETS: readonly LedgerBucket[] = ['available', 'held'];
/**
 * Why money moved: a top-up, a withdrawal, a hold and its release, a settled execution, a subscription, and a
 * settlement the escrow paid on chain (src/chain/payment-ledger.ts).
 */
export type LedgerKind = 'credit' | 'payout' | 'hold' | 'release' | 'settlement' | 'subscription' | 'chain_payment';
export const LEDGER_KINDS: readonly LedgerKind[] = [
  'credit',
  'payout',
  'hold',
  'release',
  'settlement',
  'subscription',
  'chain_payment',
];

/** One line of a transaction: a signed amount of micro-units into (positive) or out of one account's bucket. */
export interface LedgerPosting {
  account: string;
  bucket: LedgerBucket;
  amount: number;
  reason: string;
}

/** What a transaction is about, when it is about something: the execution and revision, the listing. */
export interface LedgerReference {
  executionId?: string;
  revision?: number;
  listingId?: string;
}

/** A ledger transaction: at least two postings that sum to zero, written once under its idempotency key. */
export interface LedgerTransactionRecord extends LedgerReference {
  id: string;
  idempotencyKey: string;
  kind: LedgerKind;
  createdAt: number;
  /** In the order they were posted. */
  postings: LedgerPosting[];
}

/** An account's balance (an account no transaction touched has zero in both). */
export interface LedgerBalance {
  account: string;
  available: number;
  held: number;
}

/**
 * What `checkLedger` found. Amounts are decimal strings: a broken ledger's sums need not be safe integers.
 * `ok` when every cached balance equals the sum of its postings and every transaction sums to zero with at
 * least two postings.
 */
export interface LedgerCheckReport {
  ok: boolean;
  accounts: number;
  transactions: number;
  mismatches: {
    account: string;
    cached: { available: string; held: string };
    computed: { available: string; held: string };
  }[];
  unbalanced: { transactionId: string; sum: string; postings: number }[];
}

// ---------------------------------------------------------------------------------------------------------
// The marketplace (src/market/ holds its rules; the store keeps its rows)

export type ListingStatus = 'active' | 'paused' | 'retired';
export const LISTING_STATUSES: readonly ListingStatus[] = ['active', 'paused', 'retired'];

/**
 * A listing: a workflow version a publisher offers to others, at terms. The pricing fields are the plan's
 * (`SettlementTerms` of src/attest/settlement/ without the fee, which is the platform's and frozen at each
 * hold). Its rating and execution counts are never stored here: they are derived (ListingStats).
 */
export interface ListingRecord {
  id: string;
  owner: string;
  workflowId: string;
  workflowVersion: number;
  workflowDigest: string;
  title: string;
  description: string;
  /** Lowercase, each once, in the order given. */
  tags: string[];
  model: 'per_execution' | 'per_usage' | 'subscription';
  executionPrice: number;
  subscriptionPrice: number;
  markupBps: number;
  /** Absent: no cap (only per_usage needs one). */
  maxPrice?: number;
  includedExecutions: number;
  overQuota: 'charge' | 'refuse';
  verificationLevel: 'basic' | 'full' | 'zk';
  isPublic: boolean;
  /** Principals that may see and run a listing that is not public. */
  authorizedUsers: string[];
  /** Whether buyers see the workflow's definition (its owner and admins always do). */
  showDefinition: boolean;
  status: ListingStatus;
  createdAt: number;
  updatedAt: number;
}

/**
 * What a listing's settled runs and ratings say of it, derived on every read and never written. The
 * publisher's own runs and ratings do not count.
 */
export interface ListingStats {
  /** The average of the stars, null without ratings. */
  rating: number | null;
  ratingCount: number;
  /** Settled runs that completed. */
  totalExecutions: number;
  /** completed / (completed + failed) among settled runs; null when none settled either way. */
  successRate: number | null;
  /** Over completed runs; null when none completed. */
  medianDurationMs: number | null;
}

/** One execution started through a listing: the terms it runs at, and how it settled. */
export interface MarketRunRecord {
  executionId: string;
  listingId: string;
  buyer: string;
  publisher: string;
  /** The SettlementTerms frozen when the hold was placed (snake_case, as src/attest/settlement/ takes them). */
  terms: Record<string, unknown>;
  buyerMaxPrice?: number;
  /** 1 when the run was one a subscription included. */
  includedRun: number;
  subscriptionId?: string;
  /**
   * 1 while an included run holds one of its subscription's executions; 0 once settling gave it back (the
   * run did not complete). A retry takes it again only when it was given back, so each run holds at most one.
   */
  quotaHeld?: number;
  hold: number;
  /** A SettlementOutcome once settled. */
  outcome?: string;
  durationMs?: number;
  settledRevision?: number;
  createdAt: number;
  settledAt?: number;
}

/** A settlement statement the coordinator signed for one revision of a run, and its place in the log. */
export interface MarketSettlementRecord {
  executionId: string;
  revision: number;
  envelope: Envelope;
  /** Hex SHA-256 of the envelope's payload: the transparency log's leaf data. */
  payloadDigest: string;
  logIndex: number;
  createdAt: number;
}

/**
 * The coordinator's statement that a deployment's attestor speaks for it: one per (chain, attestor, token,
 * escrow), whatever replicas and restarts do (its key is the row's primary key).
 */
export interface ChainAttestorBindingRecord {
  chainId: number;
  /** Checksummed (EIP-55), as the statement says. */
  attestor: string;
  token: string;
  settlement: string;
  envelope: Envelope;
  /** Hex SHA-256 of the envelope's payload: the transparency log's leaf data. */
  payloadDigest: string;
  logIndex: number;
  createdAt: number;
}

/**
 * The address a ledger account (a principal, or `sys:platform`) is paid at on one chain: the current one only
 * (a rebind replaces it; every earlier binding stays in the transparency log).
 */
export interface ChainAddressBindingRecord {
  chainId: number;
  account: string;
  /** Checksummed (EIP-55). */
  address: string;
  /** The escrow whose EIP-712 domain the account signed in. */
  settlement: string;
  /** The account key's EIP-712 signature of AddressBinding(keccak256(account), address), 0x and 130 hex. */
  signature: string;
  envelope: Envelope;
  payloadDigest: string;
  logIndex: number;
  createdAt: number;
}

/**
 * A buyer's subscription to a subscription listing, for one period (no automatic renewal). Its price and
 * quota are those in force when it began, whatever the listing says later.
 */
export interface MarketSubscriptionRecord {
  id: string;
  listingId: string;
  buyer: string;
  publisher: string;
  price: number;
  /** The SettlementTerms frozen when it began: every run it includes or charges settles at them. */
  terms: Record<string, unknown>;
  periodStart: number;
  periodEnd: number;
  includedExecutions: number;
  /** Included runs taken this period; a run that does not complete gives its one back. */
  usedExecutions: number;
  /** When the buyer unsubscribed: the period still runs to periodEnd, and nothing renews it (there is no renewal). */
  cancelledAt?: number;
  createdAt: number;
}

/** One buyer's rating of a listing (a new one replaces the old). */
export interface MarketRatingRecord {
  listingId: string;
  buyer: string;
  executionId: string;
  stars: number;
  review?: string;
  createdAt: number;
}

/** How a search orders listings; each has a unique tiebreak on the id, so pages never overlap or skip. */
export type ListingSort = 'rating' | 'executions' | 'price' | 'newest';
export const LISTING_SORTS: readonly ListingSort[] = ['rating', 'executions', 'price', 'newest'];

/** Where a page of a search ends: the last listing's sort key and id. */
export interface ListingSearchKey {
  key: number;
  id: string;
}
