import type { VerificationReport } from '../attest/verify/report.js';
import { ChildPool } from './child-pool.js';
import type { VerifyRequest } from './verify-child.js';

export interface VerifierPoolOptions {
  /** Verifier processes. Default: 1. */
  processes: number;
  /** The longest one verification may take. Default: 30 s. */
  timeoutMs: number;
  /** Each verifier's heap. Default: 512 MiB. */
  memoryMb: number;
  /** Verifications that may wait; more are refused. Default: 64. */
  maxQueue: number;
}

export const DEFAULT_VERIFIER_POOL_OPTIONS: VerifierPoolOptions = {
  processes: 1,
  timeoutMs: 30_000,
  memoryMb: 512,
  maxQueue: 64,
};

export type VerifyOutcome = { ok: true; report: VerificationReport } | { ok: false; busy: boolean; message: string };

/**
 * Verification on behalf of clients (POST /v1/receipts/verify), in processes of its own: a bundle is a
 * stranger's, and even a bundle signed by a key the caller trusts carries its own definition's expressions
 * and as many step ids as the body holds. Whatever it costs, it costs a process that can be stopped, never
 * the server's event loop.
 */
export class VerifierPool {
  readonly options: VerifierPoolOptions;
  private readonly pool: ChildPool<VerifyRequest, VerificationReport>;

  constructor(options: Partial<VerifierPoolOptions> = {}) {
    this.options = { ...DEFAULT_VERIFIER_POOL_OPTIONS, ...options };
    this.pool = new ChildPool({
      name: 'verifier',
      script: new URL(`./verify-child${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
      processes: this.options.processes,
      memoryMb: this.options.memoryMb,
      maxQueue: this.options.maxQueue,
    });
  }

  async verify(request: VerifyRequest): Promise<VerifyOutcome> {
    const outcome = await this.pool.run(request, this.options.timeoutMs);
    if (outcome.ok) return { ok: true, report: outcome.reply };
    if (outcome.reason === 'busy' || outcome.reason === 'closed')
      return { ok: false, busy: true, message: outcome.message };
    const why =
      outcome.reason === 'timeout'
        ? `it took longer than ${this.options.timeoutMs} ms`
        : outcome.reason === 'memory'
          ? `it needed more than ${this.options.memoryMb} MiB`
          : outcome.message;
    return { ok: false, busy: false, message: `the verification of this bundle was stopped: ${why}` };
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
