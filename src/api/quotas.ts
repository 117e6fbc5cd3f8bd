import type { StoreReads } from '../store/store.js';
import { QuotaError } from './errors.js';

/**
 * What one principal (the name behind its API keys: every key of a principal shares these) may hold at
 * once. A request over a quota is a 429 naming it (QuotaError) and changes nothing. The defaults leave
 * room for real use (10,000 executions running at once for one principal, more than a benchmark starts) while keeping one key from
 * exhausting the server. docs/security.md, "Limits and quotas", lists them with their environment variables.
 */
export interface Quotas {
  /** Executions running at once (VERITY_QUOTA_RUNNING_EXECUTIONS). Default: 10,000. */
  runningExecutions: number;
  /** Event streams (GET /v1/executions/{id}/events) open at once on this server process (VERITY_QUOTA_STREAMS). Default: 100. */
  streams: number;
  /** Bytes of blobs uploaded, in total, each digest counted once (VERITY_QUOTA_BLOB_BYTES). Default: 10 GiB. */
  blobBytes: number;
  /**
   * Bundles verified at once through POST /v1/receipts/verify, on this server process
   * (VERITY_QUOTA_VERIFICATIONS). Default: 1. The verifier processes are shared by everyone, and a hostile
   * bundle may hold one for its whole time limit: one principal must not fill the queue for the rest.
   */
  verifications: number;
}

export const DEFAULT_QUOTAS: Quotas = {
  runningExecutions: 10_000,
  streams: 100,
  blobBytes: 10 * 1024 ** 3,
  verifications: 1,
};

/**
 * Enforces the quotas. Running executions and stored bytes are counted in the store, so every replica
 * sees every other's; what is in flight in this process (starts not yet committed, uploads still
 * streaming) is counted here too, so that concurrent requests of one principal cannot all pass one check.
 * Open streams live in one process, so they are counted per process.
 */
export class QuotaGuard {
  readonly quotas: Quotas;
  private readonly starting = new Map<string, number>();
  private readonly uploading = new Map<string, number>();
  private readonly streams = new Map<string, number>();
  private readonly verifying = new Map<string, number>();

  constructor(
    private readonly store: { read: StoreReads },
    quotas: Partial<Quotas> = {},
  ) {
    this.quotas = { ...DEFAULT_QUOTAS, ...quotas };
  }

  /**
   * Runs `start` (which makes an execution running: a start, a retry) unless the principal is at its
   * running-executions quota. A refused start runs nothing.
   */
  async admitExecution<T>(principal: string, start: () => Promise<T>): Promise<T> {
    const limit = this.quotas.runningExecutions;
    const running = await this.store.read.countRunningExecutions(principal, limit);
    if (running + (this.starting.get(principal) ?? 0) >= limit) {
      throw new QuotaError(
        'running_executions',
        limit,
        `quota running_executions: ${principal} has ${limit} executions running or starting, the most it may have at once; wait for some to end (or cancel them), then retry`,
      );
    }
    const release = hold(this.starting, principal, 1);
    try {
      return await start();
    } finally {
      release();
    }
  }

  /** Opens one event stream for the principal; call the returned function (any number of times) when it closes. */
  openStream(principal: string): () => void {
    const limit = this.quotas.streams;
    if ((this.streams.get(principal) ?? 0) >= limit) {
      throw new QuotaError(
        'streams',
        limit,
        `quota streams: ${principal} has ${limit} event streams open, the most it may hold at once; close one, or poll /v1/executions/{id}/history instead`,
      );
    }
    return hold(this.streams, principal, 1);
  }

  /** Starts one verification for the principal; call the returned function (any number of times) when it ends. */
  startVerification(principal: string): () => void {
    const limit = this.quotas.verifications;
    if ((this.verifying.get(principal) ?? 0) >= limit) {
      throw new QuotaError(
        'verifications',
        limit,
        `quota verifications: ${principal} already has ${limit} bundle${limit === 1 ? '' : 's'} being verified, the most at once; wait for ${limit === 1 ? 'it' : 'one'} to finish, or verify offline with verity verify`,
      );
    }
    return hold(this.verifying, principal, 1);
  }

  /**
   * Holds a received upload's bytes against the principal while it is recorded, so that its other uploads
   * recorded meanwhile count them. `check(stored, fresh)` throws the quota error when the upload is new to
   * the principal (`fresh`) and would take it past its quota, given the bytes the store says it holds.
   */
  holdUpload(principal: string, size: number): { check(stored: number, fresh: boolean): void; release(): void } {
    const release = hold(this.uploading, principal, size);
    return {
      check: (stored, fresh) => {
        const others = (this.uploading.get(principal) ?? 0) - size;
        if (fresh && stored + others + size > this.quotas.blobBytes) throw this.blobBytesExceeded(principal);
      },
      release,
    };
  }

  blobBytesExceeded(principal: string): QuotaError {
    const limit = this.quotas.blobBytes;
    return new QuotaError(
      'blob_bytes',
      limit,
      `quota blob_bytes: this upload would take the blobs ${principal} uploaded past ${limit} bytes in total; ask an operator for a larger quota`,
    );
  }
}

/** Adds `amount` to a principal's count until the returned function is called (once; later calls do nothing). */
function hold(counts: Map<string, number>, principal: string, amount: number): () => void {
  counts.set(principal, (counts.get(principal) ?? 0) + amount);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    const left = (counts.get(principal) ?? 0) - amount;
    if (left > 0) counts.set(principal, left);
    else counts.delete(principal);
  };
}
