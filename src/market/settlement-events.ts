import { EventEmitter } from 'node:events';
import { SETTLEMENT_OUTCOMES } from '../attest/settlement/index.js';
import type { SettlementOutcome } from '../attest/settlement/index.js';
import type { ExecutionHooks } from '../engine/execution-hooks.js';

export interface SettlementPosted {
  executionId: string;
  revision: number;
  outcome: SettlementOutcome;
}

/** Settlements this process posted, told after their transaction commits (metrics count them by outcome). */
export class SettlementEvents extends EventEmitter<{ posted: [SettlementPosted] }> {}

/**
 * The settler's hooks, telling `events` of each settlement that committed. It watches the run row the
 * settler writes (its settled revision moving to the receipt's) rather than living in the settler, so
 * the money code stays free of observers; a replayed end that settles nothing tells nothing.
 */
export function announcingSettlements(inner: ExecutionHooks, events: SettlementEvents): ExecutionHooks {
  return {
    async ended(tx, execution, receipt, now) {
      const before = receipt === undefined ? undefined : await tx.getMarketRun(execution.id);
      await inner.ended(tx, execution, receipt, now);
      if (!receipt || !before) return;
      const after = await tx.getMarketRun(execution.id);
      if (!after || after.settledRevision !== receipt.revision || before.settledRevision === receipt.revision) return;
      const outcome = SETTLEMENT_OUTCOMES.find((o) => o === after.outcome);
      if (outcome === undefined) return;
      const posted: SettlementPosted = { executionId: execution.id, revision: receipt.revision, outcome };
      tx.afterCommit(() => events.emit('posted', posted));
    },
    resumed: (tx, execution, now) => inner.resumed(tx, execution, now),
  };
}
