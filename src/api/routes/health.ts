import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../server.js';

export function registerHealthRoutes(app: FastifyInstance, context: ApiContext): void {
  // Liveness: the process answers. Public, as probes are.
  app.get('/healthz', { config: { roles: 'public' }, schema: { hide: true } }, () => ({ status: 'ok' }));

  // Readiness: the store answers and the server is not shutting down.
  app.get('/readyz', { config: { roles: 'public' }, schema: { hide: true } }, async (_request, reply) => {
    if (context.closing.aborted) return reply.code(503).send({ status: 'shutting down' });
    try {
      await context.node.store.read.getLogSize();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'store unavailable' });
    }
  });

  // Metrics describe every client's work, so they are for admins (a scraper uses an admin or worker key).
  app.get('/metrics', { config: { roles: ['admin', 'worker'] }, schema: { hide: true } }, async (_request, reply) => {
    return reply.type(context.metrics.registry.contentType).send(await context.metrics.registry.metrics());
  });
}
