import fc from 'fast-check';
import { requestsFor } from '../api-fuzz.js';
import type { FuzzPools, FuzzRequest, JsonSchema, RouteSchemas } from '../api-fuzz.js';
import type { AppRoute } from '../api-http.js';
import { pathShape } from '../api-http.js';
import {
  HOSTILE_PATTERNS,
  hostileNumber,
  hostileValue,
  hostileWorkflow,
  hostileYaml,
  json,
  nested,
  objectOf,
  shaped,
  unicode,
} from './hostile.js';
import type { AttackTarget, RoleName } from './target.js';

/** The parts of /openapi.json the generators read. */
export interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
        parameters?: { in: string; name: string; schema: JsonSchema }[];
      }
    >
  >;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** Routes the OpenAPI document hides (health, metrics, the document itself, the docs page). */
const HIDDEN: AppRoute[] = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/readyz' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/openapi.json' },
  { method: 'GET', path: '/docs' },
  { method: 'GET', path: '/docs/json' },
  // No such route: the not-found handler is attacked too.
  { method: 'POST', path: '/v1/no-such-route/:id' },
];

/** Every route of the server: what its OpenAPI document lists, and the hidden ones. */
export function routesOf(openapi: OpenApiDocument): AppRoute[] {
  const routes: AppRoute[] = [];
  for (const [path, operations] of Object.entries(openapi.paths)) {
    for (const method of Object.keys(operations))
      routes.push({ method: method.toUpperCase(), path: path.replaceAll(/\{([^}]+)\}/g, ':$1') });
  }
  return [...routes, ...HIDDEN];
}

export function schemasOf(openapi: OpenApiDocument, route: AppRoute): RouteSchemas {
  const path = Object.keys(openapi.paths).find((p) => pathShape(p) === pathShape(route.path));
  const operation = path === undefined ? undefined : openapi.paths[path]?.[route.method.toLowerCase()];
  const body = operation?.requestBody?.content?.['application/json']?.schema;
  return {
    ...(body && { body }),
    query: (operation?.parameters ?? [])
      .filter((p) => p.in === 'query')
      .map((p) => ({ name: p.name, schema: p.schema })),
    resolve: (ref) => openapi.components?.schemas?.[ref.replace('#/components/schemas/', '')],
  };
}

/** Workflow ids publishers may (re)publish with hostile contents, and then run (they are theirs). */
export const HOSTILE_WORKFLOW_IDS = ['atk-h0', 'atk-h1', 'atk-h2', 'atk-h3'] as const;

export interface AttackRequest extends FuzzRequest {
  role: RoleName;
  route: string;
}

/** Report bodies a worker may send for a job, prepared once (they need signatures). */
export interface Reports {
  /** The second worker's honest-looking reports for the first worker's job (it is not assigned to it). */
  foreign: { complete: Record<string, unknown>; fail: Record<string, unknown>; report: Record<string, unknown> };
  /** The assigned worker's own report, to mutate: wrong nonce, attempt, deep output. */
  own: { complete: Record<string, unknown>; report: Record<string, unknown> };
}

function pools(target: AttackTarget, role: RoleName, route: AppRoute): FuzzPools {
  const { ids } = target;
  const executions = Object.values(ids.executions).filter(Boolean);
  const workers = Object.entries(ids.workers)
    // A worker deregistering itself succeeds and the fixtures lose it: offer it only the others' ids.
    .filter(([owner]) => !(route.path === '/v1/worker/deregister' && owner === role))
    .map(([, id]) => id);
  const blobs = Object.values(ids.blobs).map((b) => b.replace(/^sha256:/, ''));
  return {
    ids: {
      '*': [...executions, ...ids.workflows, ...ids.jobs, ...Object.values(ids.blobs)],
      id: route.path.startsWith('/v1/keys')
        ? [...ids.spareKeys]
        : route.path.startsWith('/v1/workflows')
          ? [...ids.workflows, ...HOSTILE_WORKFLOW_IDS]
          : executions,
      execution_id: executions,
      workflow_id: [...ids.workflows, ...HOSTILE_WORKFLOW_IDS],
      jobId: ids.jobs,
      workerId: workers,
      nonce: [ids.nonce],
      digest: [...Object.values(ids.blobs), ...blobs],
      principal: Object.values(target.principals).filter(Boolean),
      version: ['1', '2', '0', '-1', '99999999999'],
    },
    keys: [target.keys[role]],
    bodyLimit: 1024 * 1024,
  };
}

const post = (
  role: RoleName,
  route: string,
  key: string | undefined,
  url: string,
  body: string,
  contentType = 'application/json',
): AttackRequest => ({
  role,
  route,
  method: 'POST',
  url,
  headers: { ...(key !== undefined && { authorization: `Bearer ${key}` }), 'content-type': contentType },
  body,
});

/** Bodies aimed at what one route does, beyond its schema: hostile definitions, inputs, bundles, reports. */
function hostileFor(
  target: AttackTarget,
  role: RoleName,
  route: AppRoute,
  reports: Reports,
): fc.Arbitrary<AttackRequest> | undefined {
  const key = target.keys[role];
  const name = `${route.method} ${route.path}`;
  const at = (path: string, body: fc.Arbitrary<string>, contentType?: string) =>
    body.map((b) => post(role, name, key, path, b, contentType));
  switch (name) {
    case 'POST /v1/workflows':
    case 'POST /v1/workflows/validate':
      return fc.oneof(
        at(route.path, hostileWorkflow(HOSTILE_WORKFLOW_IDS).map(json)),
        at(route.path, hostileYaml, 'application/yaml'),
        // A deep JSON definition: nesting under an otherwise valid one.
        at(
          route.path,
          fc.constantFrom(129, 1_000, 20_000).map((d) =>
            json({
              id: 'atk-h0',
              steps: [{ id: 'a', step_type: 'inference', model_requirements: { name: 'builtin/echo' } }],
              outputs: { x: 'a' },
              x: nested(d, 'array'),
            }),
          ),
        ),
      );
    case 'POST /v1/agents/:workflow_id/execute': {
      const workflow = fc.constantFrom(...target.ids.workflows, ...HOSTILE_WORKFLOW_IDS);
      const inputs = fc.oneof(
        hostileValue,
        // Catastrophic for a backtracking `pattern` (atk-pattern's ^(a+)+$).
        fc.integer({ min: 20, max: 50_000 }).map((n) => ({ s: `${'a'.repeat(n)}!` })),
        // Another client's blob, named as an input.
        fc.constantFrom(...Object.values(target.ids.blobs)).map((digest) => ({ file: { $blob: digest, size: 26 } })),
        fc
          .constantFrom(255, 256, 257, 1_000, 5_000)
          .chain((d) => fc.constantFrom(nested(d, 'array'), nested(d, 'object')).map((v) => ({ x: v }))),
        shaped({
          items: fc.oneof(
            hostileValue,
            fc.integer({ min: 0, max: 50_000 }).map((n) => Array.from({ length: n }, (_, i) => i)),
          ),
          text: unicode,
        }),
      );
      return fc
        .tuple(
          workflow,
          shaped({
            inputs,
            version: hostileNumber,
            verification_level: fc.constantFrom('basic', 'full', 'zk', 'none', ''),
            budget: hostileNumber,
          }),
        )
        .map(([w, body]) => post(role, name, key, `/v1/agents/${encodeURIComponent(w)}/execute`, json(body)));
    }
    case 'POST /v1/receipts/verify': {
      const bundle = target.bundle;
      const tampered = fc.oneof(
        fc.constant(bundle),
        fc.tuple(fc.constantFrom(...Object.keys(bundle)), hostileValue).map(([k, v]) => ({ ...bundle, [k]: v })),
        fc
          .constantFrom(...HOSTILE_JSONATA_WORKFLOWS)
          .map((workflow) => ({ ...bundle, data: { ...((bundle.data as Record<string, unknown>) ?? {}), workflow } })),
        fc
          .integer({ min: 1_000, max: 30_000 })
          .map((n) => ({ ...bundle, zk: { statement: { steps: Array.from({ length: n }, (_, i) => `s${i}`) } } })),
        hostileValue,
      );
      return at(
        route.path,
        shaped({
          bundle: tampered,
          level: fc.constantFrom('basic', 'full', 'zk'),
          trustedKeys: fc.oneof(fc.constant(undefined), fc.array(unicode, { maxLength: 3 })),
        }).map(json),
      );
    }
    case 'POST /v1/worker/jobs/:jobId/complete':
    case 'POST /v1/worker/jobs/:jobId/fail':
    case 'POST /v1/worker/jobs/:jobId/start':
    case 'POST /v1/worker/jobs/:jobId/heartbeat': {
      const job = target.manual.job.jobId;
      const action = route.path.split('/').at(-1)!;
      const foreign =
        action === 'complete'
          ? reports.foreign.complete
          : action === 'fail'
            ? reports.foreign.fail
            : reports.foreign.report;
      const own = action === 'complete' ? reports.own.complete : reports.own.report;
      const body = fc.oneof(
        // Not this worker's job: refused, whatever the report says.
        fc.constant(foreign),
        fc.tuple(fc.constantFrom(...Object.keys(foreign)), hostileValue).map(([k, v]) => ({ ...foreign, [k]: v })),
        // The assigned worker's report, one field wrong (a stale nonce, another attempt).
        fc
          .tuple(
            fc.constantFrom('nonce', 'attempt', 'workerId'),
            fc.oneof(hostileValue, fc.constantFrom(0, 2, 'x', target.ids.workers.worker2)),
          )
          .map(([k, v]) => objectOf([...Object.entries(own), [k, v]])),
      );
      return body.map((b) => post(role, name, key, `/v1/worker/jobs/${encodeURIComponent(job)}/${action}`, json(b)));
    }
    case 'POST /v1/blobs':
    case 'POST /v1/worker/blobs':
      return fc
        .tuple(
          fc.oneof(
            unicode,
            fc.integer({ min: 0, max: 200_000 }).map((n) => 'b'.repeat(n)),
          ),
          fc.constantFrom(
            'text/plain',
            'image/png',
            'application/json',
            'x',
            '',
            'a/b; x="',
            'application/octet-stream',
          ),
        )
        .map(([b, type]) => post(role, name, key, route.path, b, type));
    default:
      return undefined;
  }
}

/** Workflows for a bundle's data, with expressions a verifier would run at level full. */
const HOSTILE_JSONATA_WORKFLOWS = [
  "$length($pad('x', 200000000))",
  '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)',
  '[1..9999999]',
].map((e) => ({
  id: 'atk-echo',
  version: 1,
  steps: [{ id: 'a', step_type: 'data_processing', expression: e }],
  outputs: { text: e },
}));

/** Requests for one route as one role: the generic fuzz (schema-shaped and broken) and the route's hostile bodies. */
export function attackRequests(
  target: AttackTarget,
  openapi: OpenApiDocument,
  route: AppRoute,
  role: RoleName,
  reports: Reports,
): fc.Arbitrary<AttackRequest> {
  const generic = requestsFor(route, pools(target, role, route), schemasOf(openapi, route)).map((r): AttackRequest => ({
    ...r,
    role,
    route: `${route.method} ${route.path}`,
  }));
  const hostile = hostileFor(target, role, route, reports);
  return hostile ? fc.oneof({ weight: 1, arbitrary: generic }, { weight: 1, arbitrary: hostile }) : generic;
}

export { HOSTILE_PATTERNS };
