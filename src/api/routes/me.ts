import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import { errorBody, whoAmI } from '../schemas.js';
import type { ApiContext } from '../server.js';

/**
 * Who the calling key is: its id, principal and role. The dashboard shows what a key may do (cancel and
 * retry for its owner's executions, workflows for its principal) and needs the role to do it without
 * probing routes for 403s. It says nothing a key's holder does not already know.
 */
export function registerMeRoute(app: FastifyInstance, _context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/me', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'whoAmI',
      tags: ['keys'],
      summary: "The calling key's id, principal and role",
      response: { 200: whoAmI, 401: errorBody, 403: errorBody },
    },
    handler: (request) => {
      const key = principalOf(request);
      return { keyId: key.id, principal: key.principal, role: key.role };
    },
  });
}
