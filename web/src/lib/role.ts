import type { VerityClient } from 'verity/sdk';
import type { Role } from './session';

/** The key's role and principal, from GET /v1/me (a worker key is refused there: it has no dashboard). */
export async function discoverRole(client: VerityClient): Promise<{ role: Role; principal: string }> {
  const me = await client.whoAmI();
  return { role: me.role, principal: me.principal };
}

/** Cancel and retry are the execution owner's (any client role); a worker key has no dashboard actions. */
export function mayAct(role: Role): boolean {
  return role === 'client' || role === 'publisher' || role === 'admin';
}
