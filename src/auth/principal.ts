/**
 * Principal names: who holds an API key (`verity keys create --name`, `principal` in the API), which
 * executions record as their client and the ledger as an account. No ':' in them, so the ledger's system
 * accounts (`sys:platform`, `sys:compute`, `sys:external`) are names no key can take.
 */
export const PRINCIPAL_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** What is wrong with a principal name, said for people; undefined when it is a valid one. */
export function principalNameProblem(name: string): string | undefined {
  if (PRINCIPAL_NAME.test(name)) return undefined;
  if (name.includes(':')) {
    return `principal "${name}": names with ':' are reserved for the ledger's system accounts (sys:platform, sys:compute, sys:external); choose a name without ':'`;
  }
  return `principal "${name}" must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`;
}
