import type { RetryPolicy } from '../workflow/types.js';

/** Delay before the next attempt after `failures` failed attempts in this round: exponential, capped. */
export function backoffMs(policy: RetryPolicy, failures: number): number {
  const raw = policy.initial_backoff_ms * policy.backoff_multiplier ** Math.max(0, failures - 1);
  return Math.round(Math.min(policy.max_backoff_ms, raw));
}

/** Whether a failure may be retried under the policy, given the attempts used in this round. */
export function mayRetry(
  policy: RetryPolicy,
  error: { code: string; retryable?: boolean },
  attemptsThisRound: number,
): boolean {
  if (error.retryable === false) return false;
  if (policy.non_retryable.includes(error.code)) return false;
  return attemptsThisRound < policy.max_attempts;
}
