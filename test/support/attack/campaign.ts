import fc from 'fast-check';
import type { AppRoute } from '../api-http.js';
import { call } from '../api-http.js';
import { diff, REFUSED_EVENTS, StateReader } from './fingerprint.js';
import type { Fingerprint } from './fingerprint.js';
import { alive, ServerMonitor } from './monitor.js';
import type { HealthFigures } from './monitor.js';
import { runRegressions } from './regressions.js';
import { attackRequests, routesOf } from './requests.js';
import type { AttackRequest, OpenApiDocument, Reports } from './requests.js';
import { ROLES, startAttackTarget } from './target.js';
import type { AttackTarget, RoleName } from './target.js';

/**
 * Rounds of property-based requests against a real `verity serve`, every route as every role, with the
 * invariants checked throughout: no 5xx, the process alive, no state changed by a batch of requests that
 * were all refused, memory under a bound, /healthz answering.
 */

export interface CampaignOptions {
  seed: number;
  /** Requests in all (regressions not counted). */
  requests: number;
  /** Requests per route and role in one round. */
  perPair?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Requests sent between two state checks. */
  batch?: number;
  maxRssBytes?: number;
  maxHealthzMs?: number;
  /** In-process worker slots of the server. */
  workers?: number;
  log?: (line: string) => void;
  /** Stop at the first failure (a test), or collect them all (the long run). */
  stopAtFirst?: boolean;
  /** A target already running (left running at the end); default: one started and stopped here. */
  target?: AttackTarget;
}

export interface Failure {
  kind: '5xx' | 'died' | 'state' | 'shape' | 'memory' | 'healthz' | 'regression' | 'hang';
  message: string;
  request?: string;
}

export interface CampaignSummary {
  seed: number;
  requests: number;
  byStatus: Record<string, number>;
  byClass: Record<string, number>;
  /** Batches of refused requests whose state was compared before and after. */
  checkedBatches: number;
  routes: number;
  pairs: number;
  health: HealthFigures;
  refusedResultEvents: number;
  failures: Failure[];
  elapsedMs: number;
}

const SETTLE_MS = 15_000;

function describe(request: AttackRequest): string {
  const body = request.body === undefined ? '' : ` body(${request.body.length}): ${request.body.slice(0, 300)}`;
  return `[${request.role}] ${request.method} ${request.url.slice(0, 300)}${body}`;
}

async function send(
  url: string,
  request: AttackRequest,
  timeoutMs: number,
): Promise<{ status: number; text: string; type: string } | 'skipped' | 'timeout'> {
  let response: Response;
  try {
    response = await fetch(`${url}${request.url}`, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined && { body: request.body }),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    // fetch refuses some requests before they leave (a header it will not send): not the server's doing.
    if (error instanceof TypeError && !/fetch failed/.test(error.message)) return 'skipped';
    if ((error as Error).name === 'TimeoutError') return 'timeout';
    throw error;
  }
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('text/event-stream')) {
    await response.body?.cancel();
    return { status: response.status, text: '', type };
  }
  try {
    return { status: response.status, text: await response.text(), type };
  } catch (error) {
    if ((error as Error).name === 'TimeoutError') return 'timeout';
    throw error;
  }
}

/**
 * Waits until the in-process workers have nothing left to run and the state holds still, or (work nobody
 * will take, a long backoff) until it has held still for two seconds.
 */
async function settle(state: StateReader): Promise<Fingerprint> {
  const deadline = Date.now() + SETTLE_MS;
  let last = state.fingerprint();
  let stillSince = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const now = state.fingerprint();
    const still = Object.keys(diff(last, now, [])).length === 0;
    if (!still) stillSince = Date.now();
    if (still && state.busy() === 0) return now;
    if (Date.now() - stillSince > 2_000 || Date.now() > deadline) return now;
    last = now;
  }
}

/** Prepared once: signed reports of the second worker for the first worker's job, and the first worker's own. */
function reportsFor(target: AttackTarget): Reports {
  const { worker, other, job } = target.manual;
  const output = { text: 'not yours' };
  const foreignReport = { ...other.report(job), workerId: other.id };
  return {
    foreign: {
      complete: { ...foreignReport, output, attestation: other.attest(job, output) },
      fail: { ...foreignReport, error: { code: 'failed', message: 'made up', retryable: false } },
      report: foreignReport,
    },
    own: {
      complete: { ...worker.report(job), output, attestation: worker.attest(job, output) },
      report: worker.report(job),
    },
  };
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignSummary> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const perPair = options.perPair ?? 8;
  const concurrency = options.concurrency ?? 8;
  const batchSize = options.batch ?? 16;
  const maxRss = options.maxRssBytes ?? 1024 ** 3;
  const maxHealthzMs = options.maxHealthzMs ?? 5_000;
  const failures: Failure[] = [];
  const byStatus: Record<string, number> = {};
  let requests = 0;
  let checkedBatches = 0;

  const target = options.target ?? (await startAttackTarget({ workers: options.workers ?? 2 }));
  /** Requests in flight, so a slow /healthz can name what was running when the event loop stalled. */
  const inFlight = new Set<AttackRequest>();
  const slow: string[] = [];
  const monitor = new ServerMonitor(target.pid, target.url, {
    healthzTimeoutMs: maxHealthzMs * 2,
    slowMs: Math.min(2_000, maxHealthzMs),
    onSlow: (ms) => {
      const line = `/healthz took ${Math.round(ms)} ms; in flight:\n    ${[...inFlight].map((r) => describe(r).slice(0, 300)).join('\n    ')}`;
      slow.push(line);
      log(`slow ${line}`);
    },
  }).start();
  const state = new StateReader(target.dbFile);
  const fail = (failure: Failure) => {
    failures.push(failure);
    log(`FAIL ${failure.kind}: ${failure.message}${failure.request ? `\n  ${failure.request}` : ''}`);
  };
  const stop = () => options.stopAtFirst === true && failures.length > 0;
  try {
    const openapi = (await call(target.url, 'GET', '/openapi.json')).json as OpenApiDocument;
    const routes = routesOf(openapi);
    const pairs: { route: AppRoute; role: RoleName }[] = routes.flatMap((route) =>
      ROLES.map((role) => ({ route, role })),
    );
    log(`set up in ${Math.round((Date.now() - started) / 1000)} s`);
    log(
      `seed ${options.seed}: ${routes.length} routes × ${ROLES.length} roles against ${target.url} (pid ${target.pid})`,
    );

    for (const problem of await runRegressions(target))
      fail({ kind: 'regression', message: `${problem.name}: ${problem.problem}` });

    let round = 0;
    while (requests < options.requests && !stop()) {
      await target.ensureFixtures();
      const reports = reportsFor(target);
      // One round: every pair's requests, drawn from this round's seed, shuffled so roles and routes interleave.
      const roundSeed = (options.seed + round * 7919) | 0;
      const drawn: AttackRequest[] = [];
      pairs.forEach(({ route, role }, i) =>
        drawn.push(
          ...fc.sample(attackRequests(target, openapi, route, role, reports), {
            seed: (roundSeed + i * 104729) | 0,
            numRuns: perPair,
          }),
        ),
      );
      const order = fc.sample(
        fc.shuffledSubarray(
          drawn.map((_, i) => i),
          { minLength: drawn.length, maxLength: drawn.length },
        ),
        { seed: roundSeed, numRuns: 1 },
      )[0]!;
      let queue = order.map((i) => drawn[i]!).slice(0, options.requests - requests);
      log(`round ${round} (seed ${roundSeed}): ${queue.length} requests`);

      let before = await settle(state);
      while (queue.length > 0 && !stop()) {
        const batch = queue.slice(0, batchSize);
        queue = queue.slice(batchSize);
        let mutated = false;
        // The worker holding a job (or an admin speaking for it) leaves its refused reports in that job's history, by design.
        let holderReported = false;
        let next = 0;
        const lane = async () => {
          while (next < batch.length) {
            const request = batch[next++]!;
            inFlight.add(request);
            const started = performance.now();
            // A claim may wait up to 60 s for a job (waitMs), by design.
            const timeoutMs = request.route === 'POST /v1/worker/claim' ? 75_000 : 30_000;
            const result = await send(target.url, request, timeoutMs).finally(() => inFlight.delete(request));
            const tookMs = performance.now() - started;
            // Claims wait for a job by design (up to waitMs): not slow.
            if (tookMs > 5_000 && request.route !== 'POST /v1/worker/claim')
              log(`slow: ${Math.round(tookMs)} ms ${describe(request).slice(0, 400)}`);
            if (result === 'skipped') continue;
            requests++;
            if (result === 'timeout') {
              byStatus.timeout = (byStatus.timeout ?? 0) + 1;
              fail({ kind: 'hang', message: `no answer within ${timeoutMs / 1000} s`, request: describe(request) });
              continue;
            }
            byStatus[result.status] = (byStatus[result.status] ?? 0) + 1;
            if ((request.role === 'worker' || request.role === 'admin') && request.url.startsWith('/v1/worker/jobs/'))
              holderReported = true;
            if (result.status >= 500)
              fail({
                kind: '5xx',
                message: `${result.status} ${result.text.slice(0, 300)}`,
                request: describe(request),
              });
            // A success may change the state: the batch is then not compared.
            if (
              result.status < 400 &&
              request.method !== 'GET' &&
              request.method !== 'HEAD' &&
              request.method !== 'OPTIONS'
            )
              mutated = true;
            if (result.status >= 400 && result.status !== 431 && request.method !== 'HEAD') {
              const body = parse(result.text) as
                { error?: { code?: unknown; message?: unknown }; accepted?: unknown } | undefined;
              const shaped =
                (typeof body?.error?.code === 'string' && typeof body.error.message === 'string') ||
                body?.accepted === false;
              if (!shaped)
                fail({
                  kind: 'shape',
                  message: `${result.status} is not in the API's error shape: ${result.text.slice(0, 200)}`,
                  request: describe(request),
                });
            }
          }
        };
        await Promise.all(Array.from({ length: concurrency }, lane));
        if (!alive(target.pid) || target.exitCode() !== null) {
          fail({
            kind: 'died',
            message: `the server exited (${target.exitCode()}); its stderr ends:\n${target.stderr().slice(-2000)}`,
            request: batch.map(describe).join('\n  '),
          });
          return summary();
        }
        // Refused requests leave nothing to wait for: compare at once. A success may have started work: wait for it.
        const after = mutated ? await settle(state) : state.fingerprint();
        if (!mutated) {
          checkedBatches++;
          const changed = diff(before, after, holderReported ? [REFUSED_EVENTS] : []);
          if (Object.keys(changed).length > 0)
            fail({
              kind: 'state',
              message: `refused requests changed the state: ${JSON.stringify(changed)}`,
              request: batch.map(describe).join('\n  '),
            });
        }
        before = after;
        monitor.sample();
        if (monitor.figures.maxRss > maxRss)
          fail({
            kind: 'memory',
            message: `server RSS ${Math.round(monitor.figures.maxRss / 2 ** 20)} MB > ${Math.round(maxRss / 2 ** 20)} MB`,
          });
      }
      log(
        `  after round ${round}: ${requests} requests, ${JSON.stringify(classes(byStatus))}, max RSS ${Math.round(monitor.figures.maxRss / 2 ** 20)} MB, max healthz ${Math.round(monitor.figures.maxHealthzMs)} ms`,
      );
      round++;
    }
    for (const problem of await runRegressions(target))
      fail({ kind: 'regression', message: `${problem.name}: ${problem.problem}` });
    return summary();
  } finally {
    monitor.stop();
    state.close();
    if (!options.target) await target.stop();
  }

  function summary(): CampaignSummary {
    const health = { ...monitor.figures };
    if (health.maxHealthzMs > maxHealthzMs && !failures.some((f) => f.kind === 'healthz')) {
      fail({
        kind: 'healthz',
        message: `/healthz took ${Math.round(health.maxHealthzMs)} ms (limit ${maxHealthzMs})`,
        request: slow.slice(0, 5).join('\n  '),
      });
    }
    return {
      seed: options.seed,
      requests,
      byStatus,
      byClass: classes(byStatus),
      checkedBatches,
      routes: 0,
      pairs: 0,
      health,
      refusedResultEvents: state.fingerprint()['events[result.refused]'] ?? 0,
      failures,
      elapsedMs: Date.now() - started,
    };
  }
}

function classes(byStatus: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [status, n] of Object.entries(byStatus)) {
    const key = /^\d+$/.test(status) ? `${status[0]}xx` : status;
    out[key] = (out[key] ?? 0) + n;
  }
  return out;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function formatSummary(s: CampaignSummary): string {
  const mb = (n: number) => `${Math.round(n / 2 ** 20)} MB`;
  return [
    `seed ${s.seed} (replay: FUZZ_SEED=${s.seed})`,
    `requests ${s.requests} in ${Math.round(s.elapsedMs / 1000)} s: ${JSON.stringify(s.byClass)}`,
    `by status ${JSON.stringify(s.byStatus)}`,
    `refused batches whose state was compared: ${s.checkedBatches}`,
    `server max RSS ${mb(s.health.maxRss)} (with child processes ${mb(s.health.maxTreeRss)}), ${s.health.samples} samples`,
    `/healthz max ${Math.round(s.health.maxHealthzMs)} ms over ${s.health.healthzProbes} probes, ${s.health.healthzFailures} failed`,
    `result.refused events written by refused worker reports: ${s.refusedResultEvents}`,
    `failures: ${s.failures.length}`,
    ...s.failures
      .slice(0, 50)
      .map((f) => `  ${f.kind}: ${f.message.slice(0, 500)}${f.request ? `\n    ${f.request.slice(0, 1500)}` : ''}`),
  ].join('\n');
}
