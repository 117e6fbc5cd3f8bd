import { PRINCIPAL_NAME } from '../auth/principal.js';

/**
 * Ledger accounts: every principal (a key's `--name`) has one, and the system has three, in the `sys:`
 * namespace that no principal name can take (principal names have no ':'):
 * - `sys:platform` takes the platform's fees;
 * - `sys:compute` is paid the compute of in-process workers (and, at level zk, of all workers in one posting);
 * - `sys:external` is the world outside the ledger: the other side of every top-up and payout, so its
 *   balance is minus what the ledger holds.
 */
export const SYSTEM_ACCOUNTS = ['sys:platform', 'sys:compute', 'sys:external'] as const;
export type SystemAccount = (typeof SYSTEM_ACCOUNTS)[number];

export const PLATFORM_ACCOUNT: SystemAccount = 'sys:platform';
export const COMPUTE_ACCOUNT: SystemAccount = 'sys:compute';
export const EXTERNAL_ACCOUNT: SystemAccount = 'sys:external';

export function isSystemAccount(account: string): account is SystemAccount {
  return (SYSTEM_ACCOUNTS as readonly string[]).includes(account);
}

/** A principal's name or a system account: the names the ledger accepts. */
export function isLedgerAccount(account: string): boolean {
  return isSystemAccount(account) || PRINCIPAL_NAME.test(account);
}

/**
 * Which accounts' available balance may go below zero. By default only `sys:external` (it is minus
 * everything deposited); the marketplace adds publishers, who carry the compute of their agents' failures
 * and cannot withdraw until positive again. Nobody's held balance may ever go below zero.
 */
export type AllowNegative = (account: string) => boolean;

export const onlyExternalMayBeNegative: AllowNegative = (account) => account === EXTERNAL_ACCOUNT;
