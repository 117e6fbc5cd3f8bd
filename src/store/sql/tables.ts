import type {
  ApiKeyRecord,
  BlobRecord,
  ReplicaResultRecord,
  WorkflowVersionRecord,
  EventRecord,
  KeyRecord,
  LedgerPosting,
  LedgerTransactionRecord,
  ListingRecord,
  LogNode,
  MarketRatingRecord,
  MarketSubscriptionRecord,
  MarketRunRecord,
  MarketSettlementRecord,
  ChainAddressBindingRecord,
  ChainAttestorBindingRecord,
  ReceiptRecord,
  ExecutionRecord,
  JobRecord,
  StepRecord,
  StepResultRecord,
  WorkerRecord,
  WorkflowRecord,
  ZkLeafRecord,
  ZkProofRecord,
  ZkRegistryRecord,
} from '../records.js';
import { table } from './columns.js';

export const workflows = table<WorkflowRecord>('workflows', {
  digest: 'text',
  workflowId: 'text',
  version: 'int',
  name: 'text',
  definition: 'json',
  createdAt: 'int',
});

export const executions = table<ExecutionRecord>('executions', {
  id: 'text',
  workflowDigest: 'text',
  workflowId: 'text',
  workflowVersion: 'int',
  clientId: 'text',
  status: 'text',
  inputs: 'json',
  inputDigest: 'text',
  result: 'json',
  resultDigest: 'text',
  error: 'json',
  budget: 'int',
  spent: 'int',
  reserved: 'int',
  idempotencyKey: 'text',
  verificationLevel: 'text',
  createdAt: 'int',
  startedAt: 'int',
  deadlineAt: 'int',
  finishedAt: 'int',
  updatedAt: 'int',
  stepsTotal: 'int',
  stepsDone: 'int',
  stepsActive: 'int',
  stepsReady: 'int',
});

export const steps = table<StepRecord>('steps', {
  executionId: 'text',
  stepId: 'text',
  position: 'int',
  status: 'text',
  attempts: 'int',
  roundStart: 'int',
  pendingDeps: 'int',
  currentJobId: 'text',
  inputDigest: 'text',
  error: 'json',
  skipReason: 'text',
  cost: 'int',
  queuedAt: 'int',
  startedAt: 'int',
  finishedAt: 'int',
});

export const stepResults = table<StepResultRecord>('step_results', {
  executionId: 'text',
  stepId: 'text',
  jobId: 'text',
  attempt: 'int',
  workerId: 'text',
  output: 'json',
  outputDigest: 'text',
  outputStorage: 'text',
  cost: 'int',
  createdAt: 'int',
  attestation: 'json',
  attestationDigest: 'text',
  workerKeyId: 'text',
});

export const jobs = table<JobRecord>('jobs', {
  id: 'text',
  executionId: 'text',
  stepId: 'text',
  attempt: 'int',
  status: 'text',
  stepType: 'text',
  model: 'text',
  modelDigest: 'text',
  replica: 'int',
  spec: 'json',
  input: 'json',
  inputDigest: 'text',
  reserved: 'int',
  cost: 'int',
  nonce: 'text',
  workerId: 'text',
  principal: 'text',
  error: 'json',
  timeoutMs: 'int',
  availableAt: 'int',
  createdAt: 'int',
  assignedAt: 'int',
  startedAt: 'int',
  finishedAt: 'int',
  leaseExpiresAt: 'int',
  deadlineAt: 'int',
});

export const workers = table<WorkerRecord>('workers', {
  id: 'text',
  name: 'text',
  kind: 'text',
  host: 'text',
  pid: 'int',
  capabilities: 'json',
  concurrency: 'int',
  status: 'text',
  startedAt: 'int',
  lastSeenAt: 'int',
  keyId: 'text',
  principal: 'text',
  zkPublicKey: 'json',
});

export const apiKeys = table<ApiKeyRecord>('api_keys', {
  id: 'text',
  principal: 'text',
  role: 'text',
  secretHash: 'text',
  createdAt: 'int',
  revokedAt: 'int',
  lastUsedAt: 'int',
});

export const workflowVersions = table<WorkflowVersionRecord>('workflow_versions', {
  workflowId: 'text',
  version: 'int',
  digest: 'text',
  owner: 'text',
  createdAt: 'int',
});

export const keys = table<KeyRecord>('keys', {
  keyId: 'text',
  role: 'text',
  publicKeyPem: 'text',
  createdAt: 'int',
});

export const receipts = table<ReceiptRecord>('receipts', {
  executionId: 'text',
  revision: 'int',
  status: 'text',
  envelope: 'json',
  payloadDigest: 'text',
  logIndex: 'int',
  createdAt: 'int',
});

export const logNodes = table<LogNode>('tlog_nodes', {
  level: 'int',
  nodeIndex: 'int',
  hash: 'text',
});

export const events = table<EventRecord>('events', {
  seq: 'int',
  executionId: 'text',
  at: 'int',
  type: 'text',
  stepId: 'text',
  jobId: 'text',
  attempt: 'int',
  actor: 'text',
  data: 'json',
});

export const blobs = table<BlobRecord>('blobs', {
  digest: 'text',
  size: 'int',
  mediaType: 'text',
  createdAt: 'int',
});

export const replicaResults = table<ReplicaResultRecord>('replica_results', {
  executionId: 'text',
  stepId: 'text',
  attempt: 'int',
  replica: 'int',
  jobId: 'text',
  workerId: 'text',
  workerKeyId: 'text',
  output: 'json',
  outputDigest: 'text',
  outputStorage: 'text',
  attestation: 'json',
  attestationDigest: 'text',
  cost: 'int',
  createdAt: 'int',
  principal: 'text',
});

export const zkRegistry = table<ZkRegistryRecord>('zk_registry', {
  leafIndex: 'int',
  keyX: 'text',
  keyY: 'text',
  workerId: 'text',
  registeredAt: 'int',
});

export const zkProofs = table<ZkProofRecord>('zk_proofs', {
  executionId: 'text',
  revision: 'int',
  circuitId: 'text',
  salt: 'text',
  commitment: 'text',
  registryRoot: 'text',
  registrySize: 'int',
  statement: 'json',
  status: 'text',
  batchesTotal: 'int',
  batchesDone: 'int',
  proofs: 'json',
  error: 'json',
  leaseOwner: 'text',
  leaseExpiresAt: 'int',
  createdAt: 'int',
  updatedAt: 'int',
});

export const zkLeaves = table<ZkLeafRecord>('zk_leaves', {
  jobId: 'text',
  executionId: 'text',
  stepId: 'text',
  workerId: 'text',
  keyX: 'text',
  keyY: 'text',
  r8x: 'text',
  r8y: 'text',
  s: 'text',
  status: 'text',
  problem: 'text',
  createdAt: 'int',
  checkedAt: 'int',
});

/** A ledger transaction's row: the record without its postings, which are rows of their own. */
export type LedgerTransactionRow = Omit<LedgerTransactionRecord, 'postings'>;

export const ledgerTransactions = table<LedgerTransactionRow>('ledger_transactions', {
  id: 'text',
  idempotencyKey: 'text',
  kind: 'text',
  executionId: 'text',
  revision: 'int',
  listingId: 'text',
  createdAt: 'int',
});

export type LedgerPostingRow = LedgerPosting & { transactionId: string; position: number };

export const ledgerPostings = table<LedgerPostingRow>('ledger_postings', {
  transactionId: 'text',
  position: 'int',
  account: 'text',
  bucket: 'text',
  amount: 'int',
  reason: 'text',
});

/** A listing's row: the record, and what a search matches and orders by, rewritten with it. */
export type ListingRow = ListingRecord & { searchText: string; listPrice: number };

export const listings = table<ListingRow>('market_listings', {
  id: 'text',
  owner: 'text',
  workflowId: 'text',
  workflowVersion: 'int',
  workflowDigest: 'text',
  title: 'text',
  description: 'text',
  tags: 'json',
  model: 'text',
  executionPrice: 'int',
  subscriptionPrice: 'int',
  markupBps: 'int',
  maxPrice: 'int',
  includedExecutions: 'int',
  overQuota: 'text',
  verificationLevel: 'text',
  isPublic: 'bool',
  authorizedUsers: 'json',
  showDefinition: 'bool',
  status: 'text',
  searchText: 'text',
  listPrice: 'int',
  createdAt: 'int',
  updatedAt: 'int',
});

export const marketRuns = table<MarketRunRecord>('market_runs', {
  executionId: 'text',
  listingId: 'text',
  buyer: 'text',
  publisher: 'text',
  terms: 'json',
  buyerMaxPrice: 'int',
  includedRun: 'int',
  subscriptionId: 'text',
  quotaHeld: 'int',
  hold: 'int',
  outcome: 'text',
  durationMs: 'int',
  settledRevision: 'int',
  createdAt: 'int',
  settledAt: 'int',
});

export const marketRatings = table<MarketRatingRecord>('market_ratings', {
  listingId: 'text',
  buyer: 'text',
  executionId: 'text',
  stars: 'int',
  review: 'text',
  createdAt: 'int',
});

export const marketSettlements = table<MarketSettlementRecord>('market_settlements', {
  executionId: 'text',
  revision: 'int',
  envelope: 'json',
  payloadDigest: 'text',
  logIndex: 'int',
  createdAt: 'int',
});

export const marketSubscriptions = table<MarketSubscriptionRecord>('market_subscriptions', {
  id: 'text',
  listingId: 'text',
  buyer: 'text',
  publisher: 'text',
  price: 'int',
  terms: 'json',
  periodStart: 'int',
  periodEnd: 'int',
  includedExecutions: 'int',
  usedExecutions: 'int',
  cancelledAt: 'int',
  createdAt: 'int',
});

export const chainAttestorBindings = table<ChainAttestorBindingRecord>('chain_attestor_bindings', {
  chainId: 'int',
  attestor: 'text',
  token: 'text',
  settlement: 'text',
  envelope: 'json',
  payloadDigest: 'text',
  logIndex: 'int',
  createdAt: 'int',
});

export const chainAddressBindings = table<ChainAddressBindingRecord>('chain_address_bindings', {
  chainId: 'int',
  account: 'text',
  address: 'text',
  settlement: 'text',
  signature: 'text',
  envelope: 'json',
  payloadDigest: 'text',
  logIndex: 'int',
  createdAt: 'int',
});
