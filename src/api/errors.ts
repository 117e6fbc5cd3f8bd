import { VerityError } from '../errors.js';
import { WorkflowError } from '../workflow/errors.js';

export type ApiErrorCode = 'unauthorized' | 'forbidden' | 'not_found' | 'conflict' | 'validation' | 'too_large' | 'rate_limited' | 'quota_exceeded' | 'unavailable' | 'invalid_config';

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
  // A setting the server refuses at start; never an answer to a request.
  invalid_config: 500,
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
export type QuotaName = 'running_executions' | 'streams' | 'blob_bytes' | 'workers_per_principal' | 'zk_keys_per_principal' | 'verifications';

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

/** Verity's own error codes, by the HTTP status they mean to a client. */
const BY_CODE: Record<string, [number, string]> = {
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
  conflict: [409, 'conflict'],
  worker_stopped: [409, 'worker_stopped'],
  invalid_inputs: [400, 'validation'],
  invalid_workflow: [400, 'invalid_workflow'],
  invalid_cursor: [400, 'validation'],
  invalid_role: [400, 'validation'],
  invalid_principal: [400, 'validation'],
  invalid_key: [400, 'validation'],
  out_of_range: [400, 'validation'],
};

/** What to answer for an error; undefined means it is not one to show a client (a 500). */
export function clientError(error: unknown): { status: number; body: { error: { code: string; message: string; details?: unknown; quota?: QuotaName; limit?: number } } } | undefined {
  if (error instanceof QuotaError) {
    return { status: error.status, body: { error: { code: error.code, quota: error.quota, limit: error.limit, message: error.message } } };
  }
  if (error instanceof ApiError) {
    return { status: error.status, body: { error: { code: error.code, message: error.message, ...(error.details !== undefined && { details: error.details }) } } };
  }
  const mapped = error instanceof VerityError ? BY_CODE[(error as VerityError<string>).code] : undefined;
  if (error instanceof VerityError && mapped) {
    const [status, code] = mapped;
    const details = error instanceof WorkflowError && error.issues.length > 0 ? { issues: error.issues } : undefined;
    return { status, body: { error: { code, message: error.message, ...(details && { details }) } } };
  }
  return undefined;
}
