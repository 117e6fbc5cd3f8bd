import type { AttestErrorCode } from '../attest/errors.js';
import type { AuthErrorCode } from '../auth/errors.js';
import type { BlobErrorCode } from '../blobs/errors.js';
import type { BindingErrorCode } from '../chain/binding-errors.js';
import type { CoordinatorErrorCode } from '../coordinator/errors.js';
import type { EngineErrorCode } from '../engine/errors.js';
import type { EnvErrorCode } from '../env.js';
import { VerityError } from '../errors.js';
import type { ExpressionErrorCode } from '../expressions/evaluator.js';
import type { KeyStoreErrorCode } from '../keys/errors.js';
import type { LedgerErrorCode } from '../ledger/errors.js';
import type { MarketErrorCode } from '../market/errors.js';
import { MarketError } from '../market/errors.js';
import type { ReceiptErrorCode } from '../receipts/errors.js';
import type { RegistryErrorCode } from '../registry/errors.js';
import type { StoreErrorCode } from '../store/errors.js';
import type { LogErrorCode } from '../tlog/errors.js';
import type { WorkflowErrorCode } from '../workflow/errors.js';
import { WorkflowError } from '../workflow/errors.js';
import type { ZkErrorCode } from '../attest/zk/errors.js';

export type ApiErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'validation'
  | 'too_large'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'unavailable';

const STATUS: Record<ApiErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  validation: 400,
  too_large: 413,
  rate_limited: 429,
  quota_exceeded: 429,
  unavailable: 503,
};

/** An error the API answers with on purpose: its status, code and message go to the client as they are. */
export class ApiError extends VerityError<ApiErrorCode> {
  readonly details: unknown;

  constructor(code: ApiErrorCode, message: string, details?: unknown) {
    super(code, message);
    this.details = details;
  }

  get status(): number {
    return STATUS[this.code];
  }
}

/** The per-principal quotas (docs/security.md, "Limits and quotas"), as a 429 names them. */
export type QuotaName =
  'running_executions' | 'streams' | 'blob_bytes' | 'workers_per_principal' | 'zk_keys_per_principal' | 'verifications';

/**
 * A request refused because its principal is at one of its quotas: a 429 whose body says which quota and
 * its limit (`{ error: { code: 'quota_exceeded', quota, limit, message } }`), so a client can tell it from
 * the rate limit and knows what to free (finish or cancel executions, close streams) before retrying.
 */
export class QuotaError extends ApiError {
  constructor(
    readonly quota: QuotaName,
    readonly limit: number,
    message: string,
  ) {
    super('quota_exceeded', message);
  }
}

/**
 * Every code the parts the server runs may throw (the CLI, the SDK and a remote worker's HTTP client never
 * throw inside the server; an executor's codes end as a failed step, never as an answer). A new code in one of
 * these unions must be given an answer below, or this file does not compile.
 */
export type ServerErrorCode =
  | AttestErrorCode
  | AuthErrorCode
  | BindingErrorCode
  | BlobErrorCode
  | CoordinatorErrorCode
  | EngineErrorCode
  | EnvErrorCode
  | ExpressionErrorCode
  | KeyStoreErrorCode
  | LedgerErrorCode
  | LogErrorCode
  | MarketErrorCode
  | ReceiptErrorCode
  | RegistryErrorCode
  | StoreErrorCode
  | WorkflowErrorCode
  | ZkErrorCode;

/**
 * What a client is told for each of Verity's own codes: the HTTP status and the code it sees, or `internal`
 * for a code that means the server (its store, its files, its configuration) is at fault: a 500 whose
 * details stay in the server log. A part that means a code as a client's answer says so here, or throws an
 * ApiError that names one.
 */
export type ErrorAnswers = Record<ServerErrorCode, readonly [status: number, code: string] | 'internal'>;

export const ERROR_ANSWERS: ErrorAnswers = {
  execution_not_found: [404, 'not_found'],
  ambiguous_id: [404, 'not_found'],
  workflow_not_found: [404, 'not_found'],
  unknown_key: [404, 'not_found'],
  unknown_worker: [404, 'not_found'],
  invalid_state: [409, 'conflict'],
  zk_unavailable: [409, 'zk_unavailable'],
  not_owner: [403, 'forbidden'],
  no_receipt: [409, 'conflict'],
  no_zk_proofs: [409, 'conflict'],
  cost_overflow: 'internal',
  conflict: [409, 'conflict'],
  worker_stopped: [409, 'worker_stopped'],
  invalid_inputs: [400, 'validation'],
  invalid_workflow: [400, 'invalid_workflow'],
  invalid_cursor: [400, 'validation'],
  invalid_role: [400, 'validation'],
  invalid_principal: [400, 'validation'],
  invalid_key: [400, 'validation'],
  out_of_range: [400, 'validation'],
  invalid_transaction: [400, 'validation'],
  unbalanced_transaction: [400, 'validation'],
  // 402 Payment Required: the message says how much is missing, and nothing was started or written.
  insufficient_funds: [402, 'insufficient_funds'],
  idempotency_conflict: [409, 'conflict'],
  invalid_listing: [400, 'validation'],
  listing_not_found: [404, 'not_found'],
  unknown_workflow: [404, 'not_found'],
  listing_retired: [409, 'conflict'],
  listing_unavailable: [409, 'conflict'],
  subscription_required: [409, 'conflict'],
  corrupt_settlement: 'internal',
  // The chain routes catch these and answer naming the field (routes/chain.ts); these are the backstop.
  unknown_chain: [404, 'not_found'],
  bad_signature: [400, 'validation'],
  contended: [409, 'conflict'],
  // A deployment record in the server's own data directory that cannot be read: the operator's to fix.
  invalid_record: 'internal',
  // Their own codes, so that a script can tell "already subscribed" from "quota used up" without reading prose.
  subscription_active: [409, 'subscription_active'],
  over_quota: [409, 'over_quota'],
  no_subscription: [404, 'not_found'],
  run_not_found: [404, 'not_found'],
  rating_forbidden: [403, 'forbidden'],
  // The routes that mean these as answers catch them and throw an ApiError (a missing blob is a 404 there,
  // a registration past its cap a 429 with its quota); anywhere else they are the server's fault.
  not_found: 'internal',
  quota_exceeded: 'internal',
  invalid_envelope: 'internal',
  invalid_statement: 'internal',
  invalid_proof: 'internal',
  invalid_note: 'internal',
  invalid_ref: 'internal',
  too_large: 'internal',
  corrupt: 'internal',
  forbidden: 'internal',
  unavailable: 'internal',
  syntax: 'internal',
  evaluation: 'internal',
  timeout: 'internal',
  memory: 'internal',
  busy: 'internal',
  unreadable: 'internal',
  wrong_type: 'internal',
  insecure_permissions: 'internal',
  missing_record: 'internal',
  schema_too_new: 'internal',
  migration_failed: 'internal',
  invalid_url: 'internal',
  invalid_config: 'internal',
  invalid_env: 'internal',
  not_set_up: 'internal',
  artifacts_refused: 'internal',
  setup_failed: 'internal',
  compile_failed: 'internal',
  invalid_signature: 'internal',
  unregistered_key: 'internal',
  not_provable: 'internal',
  witness_failed: 'internal',
  proving_failed: 'internal',
};

/** What to answer for an error; undefined means it is not one to show a client (a 500). */
export function clientError(error: unknown):
  | {
      status: number;
      body: { error: { code: string; message: string; details?: unknown; quota?: QuotaName; limit?: number } };
    }
  | undefined {
  if (error instanceof QuotaError) {
    return {
      status: error.status,
      body: { error: { code: error.code, quota: error.quota, limit: error.limit, message: error.message } },
    };
  }
  if (error instanceof ApiError) {
    return {
      status: error.status,
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(error.details !== undefined && { details: error.details }),
        },
      },
    };
  }
  const code: string | undefined = error instanceof VerityError ? (error as VerityError<string>).code : undefined;
  // A code from outside the union (an executor's own) is not an answer either.
  const answer =
    code !== undefined && Object.hasOwn(ERROR_ANSWERS, code) ? ERROR_ANSWERS[code as ServerErrorCode] : 'internal';
  if (error instanceof VerityError && answer !== 'internal') {
    const [status, shown] = answer;
    if (error instanceof MarketError && status === 400 && typeof error.context.field === 'string') {
      // The market names fields as a request spells them; the API says where in the request, as zod's do.
      const where = error.context.in === 'query' ? 'query' : 'body';
      const field = `${where}.${error.context.field}`;
      const message = `${where}.${error.message}`;
      return { status, body: { error: { code: shown, message, details: { issues: [{ field, message }] } } } };
    }
    const details = error instanceof WorkflowError && error.issues.length > 0 ? { issues: error.issues } : undefined;
    return { status, body: { error: { code: shown, message: error.message, ...(details && { details }) } } };
  }
  return undefined;
}
