import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import { ApiKeys } from '../auth/api-keys.js';
import type { VerityNode } from '../node/verity-node.js';
import { registerAuth } from './auth.js';
import { clientError } from './errors.js';
import { Metrics } from './metrics.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerAgentRoutes } from './routes/agents.js';
import { registerChainRoutes } from './routes/chain.js';
import { registerExecutionRoutes } from './routes/executions.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerMeRoute } from './routes/me.js';
import { registerLedgerRoutes } from './routes/ledger.js';
import { registerMarketRoutes } from './routes/market.js';
import { registerMarketRunRoutes } from './routes/market-runs.js';
import { registerSettlementRoutes } from './routes/settlements.js';
import { registerChainSettlementRoutes } from './routes/chain-settlements.js';
import { registerMarketSubscriptionRoutes } from './routes/market-subscriptions.js';
import { registerReceiptRoutes } from './routes/receipts.js';
import { registerBlobRoutes } from './routes/blobs.js';
import { registerWorkerProtocol } from './routes/worker-protocol.js';
import { registerWorkflowRoutes } from './routes/workflows.js';
import { QuotaGuard } from './quotas.js';
import type { Quotas } from './quotas.js';
import { serverEnv } from './server-env.js';
import { VerifierPool } from '../sandbox/verifier-pool.js';
import { DEFAULT_WEB_ROOT, registerDashboard } from './web.js';
import type { VerifierPoolOptions } from '../sandbox/verifier-pool.js';

export interface ServerOptions {
  /** Largest request body, in bytes. Default: 4 MiB. */
  bodyLimit: number;
  /** Largest blob upload, in bytes. Default: 64 MiB. */
  blobLimit: number;
  /** Requests per key (or per address, without a key) per minute. Default: 6000. */
  rateLimitPerMinute: number;
  /**
   * Requests per worker key per minute. Default: 60,000. A worker key is one machine running many jobs (a
   * claim, a result and heartbeats for each), so it needs more room than a person's key.
   */
  workerRateLimitPerMinute: number;
  /** pino options, or false for no logs. Default: JSON logs at info, on stdout (or on `stream`). */
  logger: boolean | { level: string; stream?: { write(line: string): void } };
  /** Longest a worker's claim is held open waiting for a job. Default: 30 s. */
  maxClaimWaitMs: number;
  /** On close, how long requests in flight get to finish before every connection is cut. Default: 3 s. */
  closeGraceMs: number;
  /** The processes that verify bundles for POST /v1/receipts/verify. Default: one, 30 s and 512 MiB a bundle. */
  verifier: Partial<VerifierPoolOptions>;
  /**
   * The longest a client may take to send one request, headers and body (VERITY_REQUEST_TIMEOUT_MS; 0 for
   * none). Default: 5 minutes, room for the largest blob on a slow link. Answers take as long as they take:
   * long polls and event streams are not cut by it.
   */
  requestTimeoutMs: number;
  /** Per-principal quotas; each unset one is its VERITY_QUOTA_* variable, else its default (DEFAULT_QUOTAS). */
  quotas: Partial<Quotas>;
  /** The built web dashboard served at `/` (default: dist/web), or false for none. */
  webRoot: string | false;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  bodyLimit: 4 * 1024 * 1024,
  blobLimit: 64 * 1024 * 1024,
  rateLimitPerMinute: 6000,
  workerRateLimitPerMinute: 60_000,
  logger: { level: 'info' },
  maxClaimWaitMs: 30_000,
  closeGraceMs: 3_000,
  verifier: {},
  requestTimeoutMs: 5 * 60_000,
  quotas: {},
  webRoot: DEFAULT_WEB_ROOT,
};

/** What route handlers work with. */
export interface ApiContext {
  node: VerityNode;
  keys: ApiKeys;
  metrics: Metrics;
  options: ServerOptions;
  /** Set when the server is shutting down: long polls and event streams end early. */
  closing: AbortSignal;
  verifier: VerifierPool;
  quotas: QuotaGuard;
}

/**
 * The REST API over one node: Fastify with zod schemas that validate requests, serialize responses and
 * generate the OpenAPI document (/openapi.json, readable at /docs). Every route is authenticated by API
 * key and checks the key's role; clients see only their own executions.
 */
export async function buildServer(
  node: VerityNode,
  options: Partial<ServerOptions> = {},
): Promise<{ app: FastifyInstance; context: ApiContext; shutdown: AbortController }> {
  // Options given in code win over the environment, which wins over the defaults.
  const { quotas: envQuotas, ...env } = serverEnv();
  const resolved: ServerOptions = {
    ...DEFAULT_SERVER_OPTIONS,
    ...env,
    ...options,
    quotas: { ...envQuotas, ...options.quotas },
  };
  const app = Fastify({
    bodyLimit: resolved.bodyLimit,
    logger:
      resolved.logger === false
        ? false
        : {
            level: resolved.logger === true ? 'info' : resolved.logger.level,
            ...(resolved.logger !== true && resolved.logger.stream && { stream: resolved.logger.stream }),
            // Secrets never reach the logs: API keys travel in the Authorization header.
            redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
          },
    // Node applies it while a request is being received, not while it is answered: a slow upload is cut
    // (408), a long poll or an event stream is not.
    requestTimeout: resolved.requestTimeoutMs,
    // Node checks for requests past their time every 30 s, and takes the longer of the headers' timeout
    // (60 s) and this one as the request's: keep both in step with a shorter request timeout.
    ...(resolved.requestTimeoutMs > 0 && {
      http: {
        headersTimeout: Math.min(60_000, resolved.requestTimeoutMs),
        connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor(resolved.requestTimeoutMs / 4))),
      },
    }),
    // What the router refuses before any route runs, in the API's own error shape.
    frameworkErrors: (error, _request, generic) => {
      // The reply is typed for any route's schemas; this one answers outside every route.
      const reply = generic as FastifyReply;
      const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      void reply.code(tooLong ? 414 : 400).send({
        error: tooLong
          ? { code: 'too_long', message: 'a path parameter is too long; ids are at most 100 characters' }
          : { code: 'bad_request', message: 'the path is not a valid URL (a malformed %-escape?)' },
      });
    },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  // Workflow definitions may be sent as YAML (or JSON) text.
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
    { parseAs: 'string' },
    (_req, body, done) => done(null, body),
  );

  const shutdown = new AbortController();
  const keys = new ApiKeys(node.store);
  const metrics = new Metrics(node, app.log);
  const verifier = new VerifierPool(resolved.verifier);
  const quotas = new QuotaGuard(node.store, resolved.quotas);
  const context: ApiContext = { node, keys, metrics, options: resolved, closing: shutdown.signal, verifier, quotas };

  // Before any plugin registers routes: a plugin's routes keep the error handler they were registered under.
  app.setErrorHandler((error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => ({
        field: fieldOf(error.validationContext, v.instancePath),
        message: v.message,
      }));
      return reply.code(400).send({
        error: {
          code: 'validation',
          message: issues.map((i) => `${i.field}: ${i.message}`).join('; '),
          details: { issues },
        },
      });
    }
    if (isResponseSerializationError(error)) {
      request.log.error({ err: error, url: request.url }, 'response does not match its schema');
      return reply.code(500).send({ error: { code: 'internal', message: 'internal error' } });
    }
    const known = clientError(error);
    if (known) return reply.code(known.status).send(known.body);
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 429) return reply.code(429).send(error);
    if (status !== undefined && status >= 400 && status < 500) {
      // Fastify's own client errors: malformed JSON, body too large, unsupported media type.
      return reply.code(status).send({ error: { code: codeOfStatus(status), message: (error as Error).message } });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply
      .code(500)
      .send({ error: { code: 'internal', message: 'internal error; the server log has the details' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}; see /docs` },
    }),
  );
  // The documentation page is for people with a browser, which sends no API key: its routes are public.
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/')) route.config = { ...route.config, roles: 'public' };
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Verity API',
        version: '1',
        description:
          'Verifiable AI agent orchestration: run workflows, follow executions, fetch and verify receipts. Every route needs an API key (Authorization: Bearer vrt_…).',
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'a Verity API key: vrt_<id>_<secret>' },
        },
      },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });

  registerAuth(app, keys, { failuresPerMinute: resolved.rateLimitPerMinute });
  await app.register(rateLimit, {
    max: (request) =>
      request.apiKey?.role === 'worker' ? resolved.workerRateLimitPerMinute : resolved.rateLimitPerMinute,
    timeWindow: 60_000,
    // After authentication, so the limit is per key; public routes are limited per address (and failed
    // authentications, which never get here, by registerAuth).
    hook: 'preHandler',
    keyGenerator: (request) => request.apiKey?.id ?? request.ip,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: {
        code: 'rate_limited',
        message: `too many requests: at most ${context.max} a minute; retry after ${context.after}`,
      },
    }),
  });

  registerHealthRoutes(app, context);
  app.get('/openapi.json', { config: { roles: 'public' }, schema: { hide: true } }, () => app.swagger());
  await app.register(
    (v1, _options, done) => {
      registerAgentRoutes(v1, context);
      registerWorkflowRoutes(v1, context);
      registerExecutionRoutes(v1, context);
      registerReceiptRoutes(v1, context);
      registerAdminRoutes(v1, context);
      registerMeRoute(v1, context);
      registerWorkerProtocol(v1, context);
      registerBlobRoutes(v1, context);
      registerLedgerRoutes(v1, context);
      registerMarketRoutes(v1, context);
      registerMarketRunRoutes(v1, context);
      registerSettlementRoutes(v1, context);
      registerChainSettlementRoutes(v1, context);
      registerMarketSubscriptionRoutes(v1, context);
      registerChainRoutes(v1, context);
      done();
    },
    { prefix: '/v1' },
  );
  // Last, as a catch-all for GETs no route above answers.
  registerDashboard(app, resolved.webRoot);
  app.addHook('onClose', async () => {
    shutdown.abort();
    await verifier.close();
  });
  // Closing waits for every connection to end, and Node counts one that never sent a request (a client's
  // spare pooled socket, a browser's preconnect) as busy until its headers time out, a minute or more; a
  // kept-alive one may idle as long. After a grace for requests in flight, cut what is left.
  app.addHook('preClose', (done) => {
    const timer = setTimeout(() => app.server.closeAllConnections(), resolved.closeGraceMs);
    timer.unref();
    app.server.once('close', () => clearTimeout(timer));
    done();
  });
  return { app, context, shutdown };
}

function fieldOf(where: string | undefined, instancePath: string): string {
  const part = where === 'querystring' ? 'query' : where === 'params' ? 'path' : (where ?? 'body');
  const path = instancePath.replace(/^\//, '').replaceAll('/', '.');
  return path ? `${part}.${path}` : part;
}

function codeOfStatus(status: number): string {
  if (status === 413) return 'too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 404) return 'not_found';
  return 'bad_request';
}
