import type { ExecutionRecord } from '../store/records.js';

/** Whether reserving `estimate` more keeps the execution inside its budget (0 = no limit). */
export function fitsBudget(execution: ExecutionRecord, estimate: number): boolean {
  return execution.budget === 0 || execution.spent + execution.reserved + estimate <= execution.budget;
}
