/**
 * The system accounts of the ledger. Their names sit in the `sys:` namespace, which no API key name can
 * take, and the ledger in the store uses exactly these strings: a settlement statement names them and the
 * verifier compares them, so they are defined once, here in the leaf.
 */

/** Receives the platform fee; pays the compute of a receipt that does not verify (the coordinator's fault). */
export const PLATFORM_ACCOUNT = 'sys:platform';
/** Paid for in-process workers' compute, and for every worker at level zk (the split stays off the statement). */
export const COMPUTE_ACCOUNT = 'sys:compute';
/** The other side of deposits and payouts: money entering or leaving the system. */
export const EXTERNAL_ACCOUNT = 'sys:external';

export const SYSTEM_ACCOUNTS = [PLATFORM_ACCOUNT, COMPUTE_ACCOUNT, EXTERNAL_ACCOUNT] as const;
export type SystemAccount = (typeof SYSTEM_ACCOUNTS)[number];
