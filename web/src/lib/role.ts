import { VerityApiError } from 'verity/sdk';
import type { VerityClient } from 'verity/sdk';
import type { Role } from './session';

/**
 * The API has no "who am I" route, so the page learns the key's principal from GET /v1/ledger/balance
 * (every role may read its own account) and its role from what the key may do: GET /v1/keys answers only
 * an admin, and POST /v1/workflows refuses a client with 403 before it reads the body (a publisher gets a
 * 400 for the empty definition, and nothing is published); a worker key may not list executions.
 */
export async function discoverRole(client: VerityClient): Promise<{ role: Role; principal: string }> {
  const { principal } = await client.balance();
  if (await allowed(() => client.listKeys())) return { role: 'admin', principal };
  if (!(await allowed(() => client.listExecutions({ limit: 1 })))) return { role: 'worker', principal };
  const publisher = await allowed(() => client.publishWorkflow({}), [400]);
  return { role: publisher ? 'publisher' : 'client', principal };
}

/** True when the call is let through (it succeeds, or fails with one of `passing`), false on a 403. */
async function allowed(call: () => Promise<unknown>, passing: number[] = []): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if (error instanceof VerityApiError && error.status === 403) return false;
    if (error instanceof VerityApiError && error.status !== undefined && passing.includes(error.status)) return true;
    throw error;
  }
}

/** Cancel and retry are the execution owner's (any client role); a worker key has no dashboard actions. */
export function mayAct(role: Role): boolean {
  return role === 'client' || role === 'publisher' || role === 'admin';
}
