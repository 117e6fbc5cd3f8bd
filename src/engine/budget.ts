import type { ExecutionRecord } from '../store/records.js';

/**
 * The budget arithmetic, pure so it is tested on its own: amounts are integer micro-units, and an
 * execution's `budget` of 0 means no limit. Dispatch reserves a step's estimate (`stepReservation`) when it
 * fits; a job's end settles it (`settleCharge`): its reservation is released and its cost charged, never
 * past the budget.
 */
export type BudgetState = Pick<ExecutionRecord, 'budget' | 'spent' | 'reserved'>;

/** Whether reserving `estimate` more keeps the execution inside its budget (0 = no limit). */
export function fitsBudget(execution: BudgetState, estimate: number): boolean {
  return execution.budget === 0 || execution.spent + execution.reserved + estimate <= execution.budget;
}

/** What a step reserves from the budget per attempt: its estimate, once per replica. */
export function stepReservation(definition: { estimated_cost: number; redundancy?: { replicas: number } }): number {
  return definition.estimated_cost * (definition.redundancy?.replicas ?? 1);
}

/** A job's end: what it is charged, whether its report was cut to what was left, and the execution's new totals. */
export interface Settlement {
  cost: number;
  /** The job reported more than the budget had left: it was charged what was left, and its step fails. */
  capped: boolean;
  spent: number;
  reserved: number;
}

/**
 * Releases a job's reservation (`jobReserved`) and charges what it reported, up to what is left of the
 * budget: so the sum of what is charged never exceeds the budget, whatever a worker reports.
 */
export function settleCharge(execution: BudgetState, jobReserved: number, reported: number): Settlement {
  const left = execution.budget === 0 ? Infinity : Math.max(0, execution.budget - execution.spent);
  const cost = Math.min(reported, left);
  return {
    cost,
    capped: reported > cost,
    spent: execution.spent + cost,
    reserved: Math.max(0, execution.reserved - jobReserved),
  };
}
