import type { ExecutionRecord, ReceiptRecord } from '../store/records.js';
import type { StoreTx } from '../store/store.js';

/**
 * What another part does inside the engine's own transactions, so that its state moves with the execution's
 * or not at all: the marketplace places a hold in the transaction that starts a run, settles in the one that
 * ends it (with its receipt), and places a new hold in the one that retries it. The engine knows this
 * interface only, never the market.
 */
export interface ExecutionHooks {
  /**
   * In the transaction that ended an execution, after its receipt was issued (undefined when this node
   * issues none). Throwing rolls the end back with it: keep what may fail out of here.
   */
  ended(tx: StoreTx, execution: ExecutionRecord, receipt: ReceiptRecord | undefined, now: number): Promise<void>;
  /** In the transaction that resumes an ended execution (`retry`); throwing refuses the retry. */
  resumed(tx: StoreTx, execution: ExecutionRecord, now: number): Promise<void>;
}

/** Runs inside the transaction that starts an execution, before any step is dispatched; throwing starts nothing. */
export type OnStarted = (tx: StoreTx, execution: ExecutionRecord, now: number) => Promise<void>;
