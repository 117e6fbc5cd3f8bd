import { EventEmitter } from 'node:events';
import type { SettlementOutcome } from '../attest/settlement/index.js';

export interface SettlementPosted {
  executionId: string;
  revision: number;
  outcome: SettlementOutcome;
}

/** Settlements this process posted, told after their transaction commits (metrics count them by outcome). */
export class SettlementEvents extends EventEmitter<{ posted: [SettlementPosted] }> {}
