import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeys } from '../auth/api-keys.js';
import type { ApiKeyRecord, Role } from '../store/records.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key the request authenticated with (absent on public routes). */
    apiKey?: ApiKeyRecord;
  }
  interface FastifyContextConfig {
    /** Roles allowed on the route; `public` routes need no key. Every other route needs one of these. */
    roles?: readonly Role[] | 'public';
  }
}

/** Every role but worker: the roles that run workflows and read their own executions. */
export const CLIENT_ROLES: readonly Role[] = ['client', 'publisher', 'admin'];

/**
 * Bearer API keys on every route, checked before anything else runs (including rate limiting, which keys
 * on them). A route without a `roles` config is closed to everyone: forgetting it fails safe.
 */
export function registerAuth(app: FastifyInstance, keys: ApiKeys): void {
  app.addHook('onRequest', async (request) => {
    const roles = request.routeOptions.config.roles;
    if (roles === 'public') return;
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token) throw new ApiError('unauthorized', 'this route needs an API key: send Authorization: Bearer <key>');
    const key = await keys.authenticate(token);
    if (!key) throw new ApiError('unauthorized', 'the API key is unknown or revoked');
    request.apiKey = key;
    if (!roles || !roles.includes(key.role)) {
      throw new ApiError('forbidden', `a ${key.role} key cannot use this route${roles ? `; it needs one of: ${roles.join(', ')}` : ''}`);
    }
  });
}

export function principalOf(request: FastifyRequest): ApiKeyRecord {
  if (!request.apiKey) throw new ApiError('unauthorized', 'this route needs an API key');
  return request.apiKey;
}

/** Admins see everything; everyone else sees what belongs to their principal. */
export function canSee(request: FastifyRequest, owner: string): boolean {
  const key = principalOf(request);
  return key.role === 'admin' || key.principal === owner;
}
