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
 *
 * A request that fails authentication never reaches the rate limiter (which counts per key), so failures
 * are limited here, per address: past `failuresPerMinute` a minute they are 429s. A valid key still gets
 * in from that address, so a neighbour guessing keys locks nobody out.
 */
export function registerAuth(app: FastifyInstance, keys: ApiKeys, options: { failuresPerMinute: number }): void {
  const failures = new FailureLimit(options.failuresPerMinute);
  const refuse = (request: FastifyRequest, message: string): ApiError =>
    failures.count(request.ip)
      ? new ApiError('unauthorized', message)
      : new ApiError(
          'rate_limited',
          `too many requests without a valid API key from this address: at most ${options.failuresPerMinute} a minute; retry in a minute`,
        );
  app.addHook('onRequest', async (request) => {
    // No route here: the not-found handler answers 404 whoever asks (the routes are public in /openapi.json anyway).
    if (request.is404) return;
    const roles = request.routeOptions.config.roles;
    if (roles === 'public') return;
    const header = request.headers.authorization;
    // The scheme is case-insensitive (RFC 9110 §11.1).
    const token = header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : undefined;
    if (!token) throw refuse(request, 'this route needs an API key: send Authorization: Bearer <key>');
    const key = await keys.authenticate(token);
    if (!key) throw refuse(request, 'the API key is unknown or revoked');
    request.apiKey = key;
    if (!roles || !roles.includes(key.role)) {
      throw new ApiError(
        'forbidden',
        `a ${key.role} key cannot use this route${roles ? `; it needs one of: ${roles.join(', ')}` : ''}`,
      );
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

/** Failed authentications per address, in one-minute windows (per process, like the rate limiter's own store). */
class FailureLimit {
  private counts = new Map<string, number>();
  private windowEnd = 0;

  constructor(private readonly max: number) {}

  /** Counts one failure; false once the address is over the limit for this window. */
  count(address: string): boolean {
    const now = Date.now();
    if (now >= this.windowEnd) {
      this.counts = new Map();
      this.windowEnd = now + 60_000;
    }
    const count = (this.counts.get(address) ?? 0) + 1;
    this.counts.set(address, count);
    return count <= this.max;
  }
}
