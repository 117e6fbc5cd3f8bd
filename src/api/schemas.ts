import { z } from 'zod';
import type { OverQuotaPolicy, PricingModel } from '../attest/settlement/terms.js';
import {
  EXECUTION_STATUSES,
  LEDGER_BUCKETS,
  LEDGER_KINDS,
  LISTING_SORTS,
  LISTING_STATUSES,
  ROLES,
  STEP_STATUSES,
} from '../store/records.js';
import type { LedgerBucket, LedgerKind, ListingSort, ListingStatus } from '../store/records.js';

/**
 * The REST API's request and response schemas. The server validates with them, the OpenAPI document is
 * generated from them, and the SDK parses responses with them: one definition of the wire format.
 * Field names: the plan's snake_case where the plan names them (workflow definitions, `inputs`,
 * `verification_level`, `workflow_id`); camelCase for Verity's own resources, as the CLI prints them.
 */

export const errorBody = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'stable, machine-readable: validation, not_found, forbidden, conflict, …' }),
      message: z.string().meta({ description: 'what is wrong and what to do' }),
      details: z.unknown().optional(),
      quota: z.string().optional().meta({
        description: 'quota_exceeded: which per-principal quota was hit (running_executions, streams, blob_bytes, …)',
      }),
      limit: z.number().optional().meta({ description: "quota_exceeded: that quota's limit" }),
    }),
  })
  .meta({ id: 'Error' });

const errorInfo = z.object({
  code: z.string(),
  message: z.string(),
  retryable: z.boolean().optional(),
  stepId: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const executionStatus = z.enum(EXECUTION_STATUSES);
export const verificationLevel = z.enum(['basic', 'full', 'zk']);
export const role = z.enum(ROLES);

export const stepSummary = z.object({
  id: z.string(),
  status: z.enum(STEP_STATUSES),
  attempts: z.int(),
  queuedAt: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  cost: z.int(),
  error: errorInfo.optional(),
  skipReason: z.string().optional(),
});

export const executionView = z
  .object({
    executionId: z.string(),
    workflowId: z.string(),
    workflowVersion: z.int(),
    workflowDigest: z.string(),
    status: executionStatus,
    result: z.unknown(),
    error: errorInfo.optional(),
    createdAt: z.string(),
    finishedAt: z.string().optional(),
    spent: z.int().meta({ description: 'integer micro-units' }),
    budget: z.int().meta({ description: 'integer micro-units; 0 = no limit' }),
    steps: z.array(stepSummary),
    zk: z
      .object({
        status: z.enum(['pending', 'proving', 'completed', 'failed']),
        circuit: z.string(),
        batchesDone: z.int(),
        batchesTotal: z.int(),
        error: errorInfo.optional(),
      })
      .optional()
      .meta({ description: 'at verification level zk: progress of the proofs of the latest receipt' }),
  })
  .meta({ id: 'Execution' });

export const eventView = z
  .object({
    seq: z.int(),
    at: z.string(),
    type: z.string(),
    stepId: z.string().optional(),
    jobId: z.string().optional(),
    attempt: z.int().optional(),
    actor: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'Event' });

export const historyPage = z.object({
  events: z.array(
    eventView.extend({ cursor: z.string().meta({ description: 'resume after this event (after=, Last-Event-ID)' }) }),
  ),
  /** Pass as `after` for the next page; absent on the last page. */
  next: z.string().optional(),
});

export const stepCounts = z
  .object({
    total: z.int(),
    completed: z.int(),
    failed: z.int(),
    running: z.int().meta({ description: 'steps whose job a worker has started' }),
  })
  .meta({ id: 'StepCounts' });

export const executionListItem = z
  .object({
    executionId: z.string(),
    workflowId: z.string(),
    workflowVersion: z.int(),
    status: executionStatus,
    createdAt: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().optional(),
    updatedAt: z.string(),
    durationMs: z.int().optional().meta({ description: 'finishedAt − startedAt, once it has ended' }),
    spent: z.int().meta({ description: 'integer micro-units' }),
    budget: z.int().meta({ description: 'integer micro-units; 0 = no limit' }),
    steps: stepCounts,
  })
  .meta({ id: 'ExecutionListItem' });

export const executionList = z.object({
  executions: z.array(executionListItem),
  /** Pass as `before` to get the next page; absent on the last page. */
  next: z.string().optional(),
});

export const executionStreamQuery = z.strictObject({
  since: z
    .string()
    .max(120)
    .optional()
    .meta({ description: "an event's id: resume after it (as the Last-Event-ID header does)" }),
});

export const stepAttempt = z.object({
  jobId: z.string(),
  attempt: z.int(),
  replica: z.int().optional(),
  status: z.string(),
  workerId: z.string().optional(),
  queuedAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  leaseExpiresAt: z.string().optional(),
  error: errorInfo.optional(),
  cost: z.int().optional().meta({ description: 'integer micro-units' }),
});

/**
 * The shape of the workflow an execution ran: what its owner may see of the definition even when the
 * workflow is another publisher's and its definition is not shown (a marketplace run): steps, their
 * dependencies (explicit and read through mappings), types and models; no expressions or mappings.
 */
export const executionGraph = z
  .object({
    workflowId: z.string(),
    workflowVersion: z.int(),
    workflowDigest: z.string(),
    verificationLevel: verificationLevel,
    steps: z.array(
      z.object({
        id: z.string(),
        dependsOn: z.array(z.string()),
        stepType: z.enum(['inference', 'training', 'data_processing']),
        model: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'ExecutionGraph' });

export const stepDetail = z
  .object({
    executionId: z.string(),
    stepId: z.string(),
    status: z.enum(STEP_STATUSES),
    stepType: z.string().optional(),
    model: z.object({ name: z.string(), version: z.string().optional(), digest: z.string().optional() }).optional(),
    queuedAt: z.string().optional(),
    startedAt: z.string().optional(),
    finishedAt: z.string().optional(),
    cost: z.int(),
    error: errorInfo.optional(),
    skipReason: z.string().optional(),
    attempts: z.array(stepAttempt),
    input: z.unknown().optional().meta({ description: 'the resolved input, once the step was decided to run' }),
    inputDigest: z.string().optional(),
    output: z
      .unknown()
      .optional()
      .meta({ description: "the accepted output; with outputStorage 'blob', a reference to the blob holding it" }),
    outputDigest: z.string().optional(),
    outputStorage: z.enum(['inline', 'blob']).optional(),
  })
  .meta({ id: 'StepDetail' });

export const stepParams = z.strictObject({ id: z.string().min(1).max(64), stepId: z.string().min(1).max(100) });

const minuteBucket = z.object({
  start: z.string(),
  executionsStarted: z.int(),
  executionsCompleted: z.int(),
  executionsFailed: z.int().meta({ description: 'ended in any status but completed' }),
  stepsCompleted: z.int(),
  stepLatencyP50Ms: z.int().optional(),
  stepLatencyP95Ms: z.int().optional(),
});

export const metricsSummary = z
  .object({
    source: z.literal('store').meta({ description: 'counted from the store: every replica, not only this process' }),
    from: z.string(),
    to: z.string(),
    bucketMs: z.int(),
    queueDepth: z.int().meta({ description: 'jobs queued now' }),
    totals: minuteBucket.omit({ start: true }),
    latencySampled: z
      .boolean()
      .meta({ description: 'true when more steps completed than the summary reads: latencies are of the first ones' }),
    buckets: z.array(minuteBucket),
  })
  .meta({ id: 'MetricsSummary' });

export const executeRequest = z
  .strictObject({
    inputs: z.unknown().optional().meta({ description: "the workflow's inputs; must match its `inputs` JSON Schema" }),
    version: z.int().min(1).optional().meta({ description: 'run this published version instead of the latest' }),
    verification_level: verificationLevel
      .optional()
      .meta({ description: "overrides the workflow's verification_level" }),
    budget: z
      .int()
      .min(0)
      .max(Number.MAX_SAFE_INTEGER)
      .optional()
      .meta({ description: 'overrides max_cost_budget (integer micro-units)' }),
  })
  .meta({ id: 'ExecuteRequest' });

export const listExecutionsQuery = z.strictObject({
  status: z
    .string()
    .regex(/^[a-z_]+(,[a-z_]+)*$/, { error: 'a comma-separated list of statuses' })
    .optional()
    .meta({ description: `comma-separated: ${EXECUTION_STATUSES.join(', ')}` }),
  workflow_id: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z
    .string()
    .max(64)
    .optional()
    .meta({ description: "the previous page's `next` (an execution id): the executions created before it" }),
});

export const retryRequest = z.strictObject({
  budget: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

export const workflowVersion = z
  .object({
    workflowId: z.string(),
    version: z.int(),
    digest: z.string(),
    name: z.string(),
    description: z.string(),
    owner: z.string(),
    createdAt: z.string(),
    steps: z.int(),
  })
  .meta({ id: 'WorkflowVersion' });

export const workflowDetail = workflowVersion
  .extend({ definition: z.record(z.string(), z.unknown()) })
  .meta({ id: 'WorkflowDetail' });

export const validationIssue = z.object({
  path: z.string(),
  code: z.string(),
  message: z.string(),
  line: z.int().optional(),
  column: z.int().optional(),
});

export const validationResult = z
  .object({
    valid: z.boolean(),
    errors: z.array(validationIssue),
    warnings: z.array(validationIssue),
    summary: z
      .object({ id: z.string(), version: z.int(), digest: z.string(), steps: z.int(), depth: z.int(), width: z.int() })
      .optional(),
  })
  .meta({ id: 'ValidationResult' });

/** A definition as JSON, or its YAML/JSON text (Content-Type application/yaml or text/plain). */
export const definitionBody = z.union([z.record(z.string(), z.unknown()), z.string()]).meta({
  description: 'a workflow definition (see `verity schema`): a JSON object, or YAML/JSON text sent as application/yaml',
});

export const verifyRequest = z
  .strictObject({
    bundle: z.unknown(),
    level: z.enum(['basic', 'full', 'zk']).default('basic'),
    trustedKeys: z
      .array(z.string().max(1000))
      .max(16)
      .optional()
      .meta({ description: "coordinator public keys (PEM) to trust; default: this server's own coordinator keys" }),
  })
  .meta({ id: 'VerifyRequest' });

export const verificationReport = z
  .object({
    ok: z.boolean(),
    level: z.enum(['basic', 'full', 'zk']),
    unusable: z.string().optional(),
    executionId: z.string().optional(),
    workflow: z.object({ id: z.string(), version: z.int(), digest: z.string() }).optional(),
    status: z.string().optional(),
    checks: z.array(
      z.object({ name: z.string(), ok: z.boolean(), skipped: z.boolean().optional(), message: z.string() }),
    ),
  })
  .meta({ id: 'VerificationReport' });

export const coordinatorKey = z.object({ keyid: z.string(), publicKeyPem: z.string() });

export const checkpointResponse = z.object({
  origin: z.string(),
  size: z.int(),
  rootHash: z.string(),
  checkpoint: z.string(),
});
export const inclusionQuery = z.strictObject({
  index: z.coerce.number().int().min(0),
  size: z.coerce.number().int().min(1).optional(),
});
export const inclusionResponse = z.object({
  index: z.int(),
  size: z.int(),
  proof: z.array(z.string()),
  checkpoint: z.string(),
});
export const consistencyQuery = z.strictObject({
  from: z.coerce.number().int().min(0),
  to: z.coerce.number().int().min(0).optional(),
});
export const consistencyResponse = z.object({
  from: z.int(),
  to: z.int(),
  proof: z.array(z.string()),
  checkpoint: z.string(),
});

export const apiKeyView = z.object({
  id: z.string(),
  principal: z.string(),
  role,
  createdAt: z.string(),
  revokedAt: z.string().optional(),
  lastUsedAt: z.string().optional(),
});
export const whoAmI = z.object({ keyId: z.string(), principal: z.string(), role }).meta({ id: 'WhoAmI' });
export const createKeyRequest = z.strictObject({ principal: z.string().min(1).max(64), role });
export const createdKey = apiKeyView.extend({
  token: z.string().meta({ description: 'shown once; only its hash is kept' }),
});

export const workerJob = z.object({
  jobId: z.string(),
  executionId: z.string(),
  stepId: z.string(),
  attempt: z.int(),
  status: z.enum(['assigned', 'running']),
  startedAt: z.string().optional(),
  leaseExpiresAt: z.string().optional(),
});

export const workerView = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['local', 'remote']),
    status: z.enum(['active', 'stopped', 'dead']),
    principal: z.string().optional(),
    keyId: z.string().optional(),
    capabilities: z.object({
      stepTypes: z.array(z.string()),
      models: z.array(z.string()),
      modelDigests: z.record(z.string(), z.string()).optional(),
    }),
    concurrency: z.int(),
    startedAt: z.string(),
    lastSeenAt: z.string(),
    responsive: z.boolean().meta({
      description:
        'active and heard from in the last 30 s (workers ping every 10 s); a killed remote worker stays active but turns unresponsive',
    }),
    jobs: z.array(workerJob).meta({ description: 'the jobs it holds under a lease now' }),
  })
  .meta({ id: 'Worker' });

export const idParam = z.strictObject({ id: z.string().min(1).max(64) });

// ---------------------------------------------------------------------------------------------------------
// The worker protocol

const capabilities = z.strictObject({
  stepTypes: z.array(z.enum(['inference', 'training', 'data_processing'])).max(3),
  models: z.array(z.string().min(1).max(200)).max(1000),
  modelDigests: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)).optional(),
});

export const challengeResponse = z.object({ challenge: z.string(), expiresAt: z.string() });

export const registerRequest = z
  .strictObject({
    name: z.string().min(1).max(200),
    publicKeyPem: z.string().min(1).max(1000),
    capabilities,
    concurrency: z.int().min(1).max(1024),
    challenge: z.string().min(1).max(1000),
    signature: z.string().min(1).max(200).meta({
      description:
        'base64 Ed25519 signature of "verity-worker-registration\n" + challenge (+ "\nzk X Y" with a Baby Jubjub key)',
    }),
    zkPublicKey: z
      .strictObject({ x: z.string().regex(/^[0-9]{1,78}$/), y: z.string().regex(/^[0-9]{1,78}$/) })
      .optional()
      .meta({
        description: 'the Baby Jubjub key that signs step leaves at verification level zk (decimal coordinates)',
      }),
  })
  .meta({ id: 'WorkerRegistration' });

export const registerResponse = z.object({ workerId: z.string(), leaseMs: z.int() });

export const workerRef = z.strictObject({ workerId: z.string().min(1).max(100) });

export const claimRequest = z.strictObject({
  workerId: z.string().min(1).max(100),
  waitMs: z.int().min(0).max(60_000).default(20_000),
  /** Claim and start in one step (one round trip fewer per job): the job is RUNNING when it is handed out. */
  start: z.boolean().default(false),
});

export const envelope = z.strictObject({
  payloadType: z.string().max(200),
  payload: z.string().max(2_000_000),
  signatures: z.array(z.strictObject({ keyid: z.string().max(200), sig: z.string().max(200) })).max(8),
});

export const assignment = z
  .object({
    jobId: z.string(),
    executionId: z.string(),
    stepId: z.string(),
    attempt: z.int(),
    nonce: z.string(),
    stepType: z.enum(['inference', 'training', 'data_processing']),
    spec: z.record(z.string(), z.unknown()),
    input: z.unknown(),
    inputDigest: z.string(),
    maxCost: z.int(),
    assignedAt: z.int(),
    deadlineAt: z.int(),
    leaseMs: z.int(),
    started: z.boolean(),
  })
  .meta({ id: 'Assignment' });

export const jobReport = z.strictObject({
  workerId: z.string().min(1).max(100),
  attempt: z.int().min(1),
  nonce: z.string().min(1).max(100),
});

/** A blob reference (src/blobs/blob-ref.ts): bytes kept apart from the JSON that names them. */
export const blobDigest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'a blob digest: sha256:<64 lowercase hex digits>');
export const blobRef = z
  .strictObject({ $blob: blobDigest, size: z.int().min(0), mediaType: z.string().min(1).max(200) })
  .meta({ id: 'BlobRef' });

export const completeRequest = jobReport
  .extend({
    output: z.unknown().optional(),
    /** Instead of `output`, for an output too large to send inline: the blob holding its canonical JSON. */
    outputBlob: blobRef.optional(),
    attestation: envelope,
  })
  .refine((r) => (r.output === undefined) !== (r.outputBlob === undefined), {
    error: 'send the output inline (output) or as a blob (outputBlob), exactly one',
    path: ['output'],
  });

const decimalField = z.string().regex(/^[0-9]{1,78}$/);

export const zkLeafRequest = jobReport.extend({
  publicKey: z.strictObject({ x: decimalField, y: decimalField }),
  signature: z.strictObject({ r8x: decimalField, r8y: decimalField, s: decimalField }).meta({
    description: "the EdDSA-Poseidon signature of the step leaf (decimal), with the worker's registered key",
  }),
});

export const failRequest = jobReport.extend({
  error: z.strictObject({
    code: z.string().min(1).max(100),
    message: z.string().max(10_000),
    retryable: z.boolean().optional(),
  }),
  cost: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

export const reportOutcome = z.object({
  accepted: z.boolean(),
  reason: z.string().optional(),
  message: z.string().optional(),
});
export const heartbeatResponse = z.object({ state: z.enum(['ok', 'cancelled', 'lost']) });

// ---------------------------------------------------------------------------------------------------------
// The ledger (snake_case, as the plan names marketplace and ledger fields). Amounts are integer micro-units.

const principalName = z.string().min(1).max(64);
/** A positive safe integer of micro-units: what a credit or a payout moves. */
const ledgerAmount = z
  .int()
  .min(1)
  .max(Number.MAX_SAFE_INTEGER)
  .meta({ description: 'integer micro-units, at least 1' });
const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .meta({ description: 'the same key with the same content returns the same transaction; with other content, 409' });

export const ledgerBalance = z
  .object({
    principal: z.string(),
    available: z.int().meta({ description: 'integer micro-units the principal may spend or be paid out' }),
    held: z.int().meta({ description: 'integer micro-units set aside for runs not settled yet' }),
  })
  .meta({ id: 'LedgerBalance' });

export const ledgerPosting = z.object({
  account: z.string(),
  bucket: z.enum(LEDGER_BUCKETS as readonly [LedgerBucket, ...LedgerBucket[]]),
  amount: z.int().meta({ description: 'integer micro-units: positive into the account, negative out' }),
  reason: z.string(),
});

export const ledgerTransaction = z
  .object({
    id: z.string(),
    kind: z.enum(LEDGER_KINDS as readonly [LedgerKind, ...LedgerKind[]]),
    created_at: z.string(),
    execution_id: z.string().optional(),
    revision: z.int().optional(),
    listing_id: z.string().optional(),
    postings: z.array(ledgerPosting).meta({ description: "the caller's own postings (an admin sees them all)" }),
  })
  .meta({ id: 'LedgerTransaction' });

export const ledgerTransactionPage = z.object({
  transactions: z.array(ledgerTransaction),
  next_cursor: z.string().optional().meta({ description: 'pass as `cursor` for the next page; absent on the last' }),
});

export const ledgerPrincipalQuery = z.strictObject({
  principal: principalName.optional().meta({ description: "admins: another principal's account" }),
});

export const ledgerTransactionsQuery = ledgerPrincipalQuery.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().min(1).max(200).optional(),
});

export const ledgerCreditRequest = z
  .strictObject({
    principal: principalName,
    amount: ledgerAmount,
    idempotency_key: idempotencyKey.optional(),
    memo: z.string().min(1).max(200).optional().meta({ description: "the postings' reason; default credit" }),
  })
  .meta({ id: 'LedgerCreditRequest' });

export const ledgerPayoutRequest = z
  .strictObject({
    principal: principalName,
    amount: ledgerAmount,
    idempotency_key: idempotencyKey.optional(),
    memo: z.string().min(1).max(200).optional().meta({ description: "the postings' reason; default payout" }),
  })
  .meta({ id: 'LedgerPayoutRequest' });

// ---------------------------------------------------------------------------------------------------------
// The marketplace's listings (snake_case, the plan's names). Prices are integer micro-units; rates are basis
// points. The rules past the shape (the least markup, a free listing's budget, who owns the workflow) are
// src/market/'s, shared by the routes and the CLI.

const microUnits = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
// Spelled out rather than imported from src/attest/settlement/, which the SDK's bundle must not pull in; the
// types keep them to the settlement's own lists.
const pricingModel = z.enum(['per_execution', 'per_usage', 'subscription'] as const satisfies readonly PricingModel[]);
const overQuota = z.enum(['charge', 'refuse'] as const satisfies readonly OverQuotaPolicy[]);
const listingTitle = z.string().min(1).max(200);
const listingDescription = z.string().max(10_000);
const listingTags = z
  .array(z.string().min(1).max(40))
  .max(20)
  .meta({ description: 'at most 20 tags of 1 to 40 characters; stored lowercase, each once' });
const authorizedUsers = z
  .array(principalName)
  .max(1000)
  .meta({ description: 'principals (API key names) that may see and run the listing when it is not public' });
const listingStatus = z.enum(LISTING_STATUSES as readonly [ListingStatus, ...ListingStatus[]]);

const pricingFields = {
  model: pricingModel,
  markup_bps: microUnits.meta({
    description:
      'per_usage: m, the markup on the compute cost in basis points; at least ⌈f·10⁴/(10⁴ − f)⌉ for the platform fee f',
  }),
  max_price: microUnits.nullable().meta({ description: 'per_usage: the most one run costs (required there)' }),
  included_executions: microUnits.meta({ description: 'subscription: runs included in each period at price 0' }),
  over_quota: overQuota.meta({ description: 'subscription: past the included runs, charge execution_price or refuse' }),
};

export const listingPricingInput = z.strictObject({
  model: pricingFields.model,
  markup_bps: pricingFields.markup_bps.optional(),
  max_price: pricingFields.max_price.optional(),
  included_executions: pricingFields.included_executions.optional(),
  over_quota: pricingFields.over_quota.optional(),
});

export const createListingRequest = z
  .strictObject({
    workflow_id: z.string().min(1).max(64),
    workflow_version: z.int().min(1).optional().meta({ description: 'default: the latest version' }),
    title: listingTitle,
    description: listingDescription.optional(),
    tags: listingTags.optional(),
    execution_price: microUnits.optional().meta({ description: 'E: per completed run, or per run past a quota' }),
    subscription_price: microUnits.optional().meta({ description: 'per 30-day subscription period' }),
    pricing: listingPricingInput,
    verification_level: verificationLevel
      .optional()
      .meta({ description: "default: the workflow's own; only a stricter one may be chosen" }),
    is_public: z.boolean().optional().meta({ description: 'default true' }),
    authorized_users: authorizedUsers.optional(),
    show_definition: z
      .boolean()
      .optional()
      .meta({ description: "whether buyers see the workflow's definition; default false" }),
  })
  .meta({ id: 'CreateListingRequest' });

/** Derived from settled runs and ratings, or kept by the server: a change that names one is refused, by name. */
export const LISTING_READ_ONLY_FIELDS = [
  'id',
  'owner',
  'workflow_id',
  'workflow_digest',
  'status',
  'rating',
  'rating_count',
  'total_executions',
  'success_rate',
  'median_duration_ms',
  'created_at',
  'updated_at',
] as const;

const readOnly = z.never({ error: 'is derived or kept by the server; nobody can write it' }).optional();
const readOnlyShape = Object.fromEntries(LISTING_READ_ONLY_FIELDS.map((field) => [field, readOnly])) as Record<
  (typeof LISTING_READ_ONLY_FIELDS)[number],
  typeof readOnly
>;

export const updateListingRequest = z
  .strictObject({
    title: listingTitle.optional(),
    description: listingDescription.optional(),
    tags: listingTags.optional(),
    execution_price: microUnits.optional(),
    subscription_price: microUnits.optional(),
    pricing: z
      .strictObject({
        model: pricingFields.model.optional(),
        markup_bps: pricingFields.markup_bps.optional(),
        max_price: pricingFields.max_price.optional(),
        included_executions: pricingFields.included_executions.optional(),
        over_quota: pricingFields.over_quota.optional(),
      })
      .optional()
      .meta({ description: 'the fields given replace those of the current pricing' }),
    workflow_version: z
      .int()
      .min(1)
      .optional()
      .meta({ description: 'move the listing to this version of its workflow' }),
    verification_level: verificationLevel.optional(),
    is_public: z.boolean().optional(),
    authorized_users: authorizedUsers.optional(),
    show_definition: z.boolean().optional(),
    ...readOnlyShape,
  })
  .meta({ id: 'UpdateListingRequest' });

export const listingView = z
  .object({
    id: z.string(),
    owner: z.string(),
    workflow_id: z.string(),
    workflow_version: z.int(),
    workflow_digest: z.string(),
    title: z.string(),
    description: z.string(),
    tags: z.array(z.string()),
    execution_price: microUnits,
    subscription_price: microUnits,
    pricing: z.object(pricingFields),
    verification_level: verificationLevel,
    is_public: z.boolean(),
    authorized_users: z.array(z.string()).optional().meta({ description: 'shown to the owner and admins only' }),
    show_definition: z.boolean(),
    status: listingStatus,
    rating: z
      .number()
      .nullable()
      .meta({ description: 'average stars of ratings by others than the owner; null without' }),
    rating_count: z.int(),
    total_executions: z.int().meta({ description: 'settled completed runs by others than the owner' }),
    success_rate: z
      .number()
      .nullable()
      .meta({ description: 'completed / (completed + failed) settled runs; null without' }),
    median_duration_ms: z.int().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    inputs_schema: z.record(z.string(), z.unknown()).optional().meta({
      description:
        "the JSON Schema the run's inputs must match (the workflow's `inputs`), for everyone who may see the listing; one listing's reads only, absent when the workflow declares none",
    }),
    definition: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "the workflow's definition: when show_definition, or for the owner and admins" }),
  })
  .meta({ id: 'Listing' });

export const listingPage = z
  .object({
    listings: z.array(listingView),
    next_cursor: z.string().optional().meta({ description: 'pass as `cursor` for the next page; absent on the last' }),
  })
  .meta({ id: 'ListingPage' });

export const listingSearchQuery = z.strictObject({
  q: z
    .string()
    .max(200)
    .optional()
    .meta({ description: 'words that must all occur in the title, description or tags' }),
  tag: z.string().min(1).max(40).optional(),
  sort: z.enum(LISTING_SORTS as readonly [ListingSort, ...ListingSort[]]).default('newest'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(500).optional(),
});

export const listingIdParams = z.strictObject({ id: z.string().min(1).max(100) });

/**
 * A run through a listing: the inputs, and the most the buyer will pay. The workflow version, the budget and
 * the verification level are the listing's: a body that names them is refused, like any unknown field.
 */
export const listingExecuteRequest = z.strictObject({
  inputs: z.unknown().optional().meta({ description: "the workflow's inputs; must match its `inputs` JSON Schema" }),
  max_price: z.int().min(0).max(Number.MAX_SAFE_INTEGER).optional().meta({
    description:
      'the most you will pay, in micro-units: caps a per_usage price; a fixed price above it is refused (400)',
  }),
});

// ---------------------------------------------------------------------------------------------------------
// Settlements: the signed statements that moved a run's money, decoded (snake_case like the ledger's views)

export const settlementPostingView = z.object({
  account: z.string(),
  amount: z.int().meta({ description: 'integer micro-units: positive into the account, negative out' }),
  why: z.string().meta({
    description: 'price, compute, fee, proceeds, failed_run, cancelled_run, unverified_receipt: which rule moved it',
  }),
});

export const settlementView = z
  .object({
    execution_id: z.string(),
    revision: z.int(),
    listing_id: z.string(),
    outcome: z.enum(['completed', 'failed', 'cancelled', 'unverified']),
    settled_at: z.string(),
    log_index: z.int().meta({ description: "the statement's entry in the transparency log" }),
    buyer: z.string().optional().meta({ description: 'buyer and admins only' }),
    publisher: z.string().optional(),
    verification_level: z.enum(['basic', 'full', 'zk']).optional(),
    compute_cost: z.int().optional().meta({ description: 'C, the counted attested cost (buyer, publisher, admins)' }),
    price: z.int().optional().meta({ description: 'what the buyer pays (buyer, publisher, admins)' }),
    fee: z.int().optional().meta({ description: "F, the platform's fee (buyer, publisher, admins)" }),
    postings: z.array(settlementPostingView).meta({
      description: "what this revision posted: all of it for the buyer and admins, a payee's own lines otherwise",
    }),
    total: z.array(settlementPostingView).optional().meta({
      description: 'the full settlement as of this revision (buyer and admins)',
    }),
    envelope: envelope.optional().meta({
      description: 'the signed DSSE envelope, to verify offline (buyer and admins: it names every party)',
    }),
  })
  .meta({ id: 'Settlement' });

export const executionSettlements = z.object({ settlements: z.array(settlementView) });

export const settlementPage = z.object({
  settlements: z.array(settlementView),
  next_cursor: z.string().optional().meta({ description: 'pass as `cursor` for the next page; absent on the last' }),
});
// Subscriptions and ratings (src/api/routes/market-subscriptions.ts)

const isoTime = z.string().meta({ description: 'ISO 8601 time' });

export const subscriptionSchema = z
  .object({
    id: z.string(),
    listing_id: z.string(),
    buyer: z.string(),
    publisher: z.string(),
    price: z.int().meta({ description: 'what the period cost, in micro-units, charged at subscribe time' }),
    period_start: isoTime,
    period_end: isoTime,
    included_executions: z.int(),
    used_executions: z
      .int()
      .meta({ description: 'included runs taken; a run that does not complete gives its one back' }),
    status: z.enum(['active', 'cancelled', 'ended']).meta({
      description: 'cancelled: unsubscribed, still in its period until period_end; nothing ever renews',
    }),
    cancelled_at: isoTime.nullable(),
    created_at: isoTime,
  })
  .meta({ id: 'Subscription' });

export const ratingSchema = z
  .object({
    listing_id: z.string(),
    buyer: z.string(),
    execution_id: z.string(),
    stars: z.int().min(1).max(5),
    review: z.string().nullable(),
    created_at: isoTime,
  })
  .meta({ id: 'Rating' });

export const rateListingRequest = z.strictObject({
  execution_id: z
    .string()
    .min(1)
    .max(200)
    .meta({ description: 'your execution of this listing that settled completed: what entitles the rating' }),
  stars: z.int().min(1).max(5),
  review: z.string().max(2000).optional(),
});

export const ratingsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(500).optional(),
});

export const subscriptionsQuery = z.strictObject({
  principal: z.string().min(1).max(200).optional().meta({ description: "admins only: another principal's" }),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

export const subscriptionList = z.object({ subscriptions: z.array(subscriptionSchema) });
export const ratingPage = z.object({ ratings: z.array(ratingSchema), next_cursor: z.string().optional() });

/** `POST /v1/executions/{id}/chain-payments`: a mined transaction of the escrow to record in the ledger. */
export const chainPaymentsRequest = z.strictObject({
  chain_id: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  transaction_hash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a transaction hash: 0x and 64 hex digits'),
});

export const chainPaymentsResponse = z.object({
  transaction_hash: z.string(),
  payments: z.array(
    z.object({
      revision: z.int(),
      log_index: z.int(),
      paid_now: z.int(),
      token: z.string(),
      ledger_transaction_id: z.string(),
      replayed: z.boolean(),
    }),
  ),
});

// ---------------------------------------------------------------------------------------------------------
// Chain bindings (routes/chain.ts)

const chainIdField = z.int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'the EVM chain id' });
const evmAddress = z
  .string()
  .max(42)
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address: 0x and 40 hex digits')
  .meta({ description: 'an EVM address (EIP-55 checksummed in answers)' });
const accountSignature = z
  .string()
  .max(132)
  .regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature: 0x and 130 hex digits')
  .meta({ description: "the address key's EIP-712 signature of the AddressBinding message" });

export const chainIdQuery = z.strictObject({
  chain_id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'the EVM chain id' }),
});

const chainTlog = z.object({
  origin: z.string(),
  logIndex: z.int(),
  treeSize: z.int(),
  inclusionProof: z.array(z.string()),
  checkpoint: z.string(),
});

export const chainDeploymentList = z
  .object({
    deployments: z.array(
      z.object({
        chain_id: chainIdField,
        token: evmAddress,
        settlement: evmAddress,
        attestor: evmAddress,
        admin: evmAddress,
        attestor_binding: z.object({
          statement: envelope.meta({
            description:
              'the coordinator-signed attestor-binding statement (https://verity.dev/attestation/chain-attestor/v1)',
          }),
          log_index: z.int(),
          tlog: chainTlog.meta({
            description: 'its inclusion proof under a signed checkpoint, as in a receipt bundle',
          }),
        }),
      }),
    ),
  })
  .meta({ id: 'ChainDeployments' });

export const addressBindingRequest = z
  .strictObject({
    chain_id: chainIdField,
    address: evmAddress,
    signature: accountSignature,
    principal: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: "the ledger account to bind: the caller's own (default), or sys:platform for an admin" }),
  })
  .meta({ id: 'AddressBindingRequest' });

export const addressBindingView = z
  .object({
    chain_id: chainIdField,
    principal: z.string().meta({ description: 'the ledger account bound' }),
    address: evmAddress,
    settlement: evmAddress,
    signature: accountSignature,
    statement: envelope.meta({
      description:
        'the coordinator-signed address-binding statement (https://verity.dev/attestation/address-binding/v1)',
    }),
    log_index: z.int(),
    bound_at: z.string(),
  })
  .meta({ id: 'AddressBinding' });

export const addressBindingList = z.object({ bindings: z.array(addressBindingView) });

export const adminAddressBindingList = z
  .object({
    bindings: z.array(
      z.object({ principal: z.string(), address: evmAddress, signature: accountSignature, log_index: z.int() }),
    ),
  })
  .meta({ id: 'ChainBindings' });
