import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { toBase64 } from '../../../src/attest/bytes.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../../src/attest/dsse.js';
import { issueChallenge } from '../../../src/api/worker-challenge.js';
import type { Assignment } from '../../../src/coordinator/protocol.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import { ExecutorRegistry } from '../../../src/executors/registry.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { httpWorkerClient } from '../../../src/worker/http-client.js';
import { Worker } from '../../../src/worker/worker.js';
import { appRoutes, call, fillPath } from '../../support/api-http.js';
import type { RawResponse } from '../../support/api-http.js';
import { executionSnapshot, storeCounts } from '../../support/api-state.js';
import type { ExecutionSnapshot } from '../../support/api-state.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { HttpWorker } from '../../support/http-worker.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/**
 * The worker protocol over HTTP against workers that lie: a result is accepted only from the assigned
 * worker, for the current attempt, with the job's nonce, before the deadline, with an attestation by the
 * registered key whose fields match the job. Everything else is refused (403 or 409; 404 for what the
 * caller may not even name) and changes nothing, and the honest worker can still finish the job.
 */

const flow = (id: string, step: Record<string, unknown> = {}) => ({
  id,
  name: id,
  version: 1,
  steps: [
    echo('a', {
      input_mappings: { text: 'inputs.text' },
      retry_policy: { max_attempts: 3, initial_backoff_ms: 0 },
      ...step,
    }),
  ],
  outputs: { text: 'steps.a.output.text' },
});

/** Flips one bit of a base64 string's decoded bytes, keeping it canonical base64 of the same length. */
function flipBase64(text: string): string {
  const bytes = Buffer.from(text, 'base64');
  bytes[0] = bytes[0]! ^ 1;
  return toBase64(bytes);
}

/**
 * A refused report changes nothing: the execution, its steps and its jobs are as they were, and the
 * history has at most one event per refused report, recording it (refusals are recorded on purpose: DESIGN §3).
 */
function expectUnchanged(before: ExecutionSnapshot, after: ExecutionSnapshot, label: string, refusals = 1): void {
  expect(after.execution, label).toEqual(before.execution);
  expect(after.steps, label).toEqual(before.steps);
  expect(after.jobs, label).toEqual(before.jobs);
  expect(after.events.slice(0, before.events.length), label).toEqual(before.events);
  const added = after.events.slice(before.events.length);
  expect(added.length, `${label}: ${JSON.stringify(added)}`).toBeLessThanOrEqual(refusals);
  for (const event of added) expect(event.type, label).toBe('result.refused');
}

async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sets up: a published workflow, a client, and runs one execution per call. */
async function prepare(server: TestServer, workflowId: string, step: Record<string, unknown> = {}) {
  // The client's own principal: the plan's execute route runs only the caller's own workflows.
  const publisher = await server.key(`client-${workflowId}`, 'publisher');
  const client = await server.key(`client-${workflowId}`, 'client');
  const published = await call(server.url, 'POST', '/v1/workflows', { key: publisher, json: flow(workflowId, step) });
  expect(published.status, published.text).toBe(201);
  return {
    client,
    async execute(text: string): Promise<string> {
      const response = await call(server.url, 'POST', `/v1/agents/${workflowId}/execute`, {
        key: client,
        json: { inputs: { text } },
      });
      expect(response.status, response.text).toBe(202);
      return (response.json as { executionId: string }).executionId;
    },
    async waitFor(executionId: string): Promise<{ status: string; result: unknown }> {
      await server.test.node.waitFor(executionId);
      return (await call(server.url, 'GET', `/v1/executions/${executionId}`, { key: client })).json as {
        status: string;
        result: unknown;
      };
    },
  };
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`the worker protocol over HTTP (${kind})`, () => {
    describe('the worker protocol refuses results it must not accept', () => {
      let server: TestServer;
      let honest: HttpWorker;
      let other: HttpWorker;
      let run: Awaited<ReturnType<typeof prepare>>;

      beforeAll(async () => {
        // No in-process workers: every job goes to the hand-driven workers below.
        // A short close grace: the real worker below may leave a spare socket open (see ServerOptions.closeGraceMs).
        server = await startTestServer(kind, 'worker-protocol', {
          node: { workers: 0 },
          server: { closeGraceMs: 200 },
        });
        honest = await new HttpWorker(server.url, await server.key('honest', 'worker')).register();
        other = await new HttpWorker(server.url, await server.key('other', 'worker')).register();
        run = await prepare(server, 'wp-echo');
      });
      afterAll(() => server?.close());

      /** A fresh execution whose one job the honest worker has claimed and started. */
      const claimedJob = async (text: string): Promise<{ executionId: string; job: Assignment }> => {
        const executionId = await run.execute(text);
        const job = await honest.claimJob(executionId);
        expect((await honest.start(job)).status).toBe(204);
        return { executionId, job };
      };

      type Case = [name: string, send: (job: Assignment) => Promise<RawResponse>, statuses: number[], reason?: string];
      const forged = { text: 'forged' };
      const cases: Case[] = [
        [
          'from another worker, signed by its own key',
          (job) => other.complete(job, { output: forged, attestation: other.attest(job, forged) }),
          [403],
          'not_assigned',
        ],
        [
          'from another worker that names the assigned one',
          (job) =>
            other.complete(job, {
              output: forged,
              report: { workerId: honest.id },
              attestation: other.attest(job, forged, { workerId: honest.id, workerKeyId: honest.signer.keyId }),
            }),
          [403, 404],
        ],
        [
          'with a wrong nonce',
          (job) =>
            honest.complete(job, {
              report: { nonce: 'f'.repeat(32) },
              attestation: honest.attest(job, job.input, { jobNonce: 'f'.repeat(32) }),
            }),
          [403],
          'bad_nonce',
        ],
        [
          'for another attempt',
          (job) =>
            honest.complete(job, {
              report: { attempt: job.attempt + 1 },
              attestation: honest.attest(job, job.input, { attempt: job.attempt + 1 }),
            }),
          [409],
          'stale_attempt',
        ],
        [
          'for a job that does not exist',
          (job) => honest.complete(job, { jobId: '01900000-0000-7000-8000-000000000000' }),
          [404],
          'unknown_job',
        ],
        [
          'with a bad signature',
          (job) => {
            const envelope = honest.attest(job, job.input);
            return honest.complete(job, {
              attestation: {
                ...envelope,
                signatures: envelope.signatures.map((s) => ({ ...s, sig: flipBase64(s.sig) })),
              },
            });
          },
          [403],
          'bad_attestation',
        ],
        [
          'signed by another key',
          (job) => honest.complete(job, { attestation: honest.attest(job, job.input, {}, LocalSigner.generate()) }),
          [403],
          'bad_attestation',
        ],
        [
          'signed by another key under the registered key id',
          (job) => {
            const envelope = honest.attest(job, job.input, {}, LocalSigner.generate());
            return honest.complete(job, {
              attestation: {
                ...envelope,
                signatures: envelope.signatures.map((s) => ({ ...s, keyid: honest.signer.keyId })),
              },
            });
          },
          [403],
          'bad_attestation',
        ],
        [
          'without a signature',
          (job) => honest.complete(job, { attestation: { ...honest.attest(job, job.input), signatures: [] } }),
          [403],
          'bad_attestation',
        ],
        [
          'whose payload is not a statement',
          (job) =>
            honest.complete(job, { attestation: signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{}'), honest.signer) }),
          [403],
          'bad_attestation',
        ],
        [
          'whose payload was changed after signing',
          (job) => {
            const envelope = honest.attest(job, job.input);
            const payload = Buffer.from(envelope.payload, 'base64')
              .toString('utf8')
              .replace(job.stepId, `${job.stepId}x`);
            return honest.complete(job, { attestation: { ...envelope, payload: toBase64(Buffer.from(payload)) } });
          },
          [403],
          'bad_attestation',
        ],
        [
          'with an output other than the attested one',
          (job) => honest.complete(job, { output: forged, attestation: honest.attest(job, job.input) }),
          [403],
          'bad_attestation',
        ],
        ...(
          [
            ['jobId', (job) => ({ jobId: `x${job.jobId.slice(1)}` })],
            ['attempt', (job) => ({ attempt: job.attempt + 1 })],
            ['executionId', () => ({ executionId: '01JOTHEREXECUTION000000000' })],
            ['stepId', () => ({ stepId: 'b' })],
            ['workflowDigest', () => ({ workflowDigest: '0'.repeat(64) })],
            ['inputDigest', () => ({ inputDigest: '0'.repeat(64) })],
            ['jobNonce', () => ({ jobNonce: '0'.repeat(32) })],
            ['workerId', () => ({ workerId: other.id })],
            ['workerKeyId', () => ({ workerKeyId: other.signer.keyId })],
          ] as const satisfies readonly [string, (job: Assignment) => Record<string, unknown>][]
        ).map(([field, over]): Case => [
          `with an attestation whose ${field} is not the job's`,
          (job) => honest.complete(job, { attestation: honest.attest(job, job.input, over(job)) }),
          [403],
          'bad_attestation',
        ]),
        ['as a failure from another worker', (job) => other.fail(job), [403], 'not_assigned'],
        ['as a failure with a wrong nonce', (job) => honest.fail(job, { nonce: 'f'.repeat(32) }), [403], 'bad_nonce'],
      ];

      it.each(cases)(
        'refuses a result %s, changes nothing, and the honest worker still completes the job',
        async (name, send, statuses, reason) => {
          const { executionId, job } = await claimedJob(name);
          const store = server.test.node.store;
          const before = await executionSnapshot(store, executionId);
          const response = await send(job);
          expect(statuses, `${name}: ${response.status} ${response.text}`).toContain(response.status);
          if (reason) expect(response.json).toMatchObject({ accepted: false, reason });
          expectUnchanged(before, await executionSnapshot(store, executionId), name);

          const done = await honest.complete(job);
          expect(done.status, done.text).toBe(200);
          expect(done.json).toEqual({ accepted: true });
          const final = await run.waitFor(executionId);
          expect(final).toMatchObject({ status: 'completed', result: { text: name } });
        },
      );

      it("does not let another worker start or heartbeat a job, and leaves the job's lease alone", async () => {
        const { executionId, job } = await claimedJob('lease');
        const store = server.test.node.store;
        const before = await executionSnapshot(store, executionId);
        expect((await other.start(job)).status).toBe(409);
        const beat = await other.heartbeat(job);
        expect(beat.status, beat.text).toBe(200);
        expect(beat.json).toEqual({ state: 'lost' });
        expect((await honest.heartbeat(job, { nonce: 'f'.repeat(32) })).json).toEqual({ state: 'lost' });
        // Naming the assigned worker from another key is not even a worker it may speak for.
        expect((await other.heartbeat(job, { workerId: honest.id })).status).toBe(404);
        expectUnchanged(before, await executionSnapshot(store, executionId), 'start and heartbeat');
        expect((await honest.heartbeat(job)).json).toEqual({ state: 'ok' });
        expect((await honest.complete(job)).status).toBe(200);
        expect((await run.waitFor(executionId)).status).toBe('completed');
      });

      it('claims and starts in one request when asked: the job is running, a separate start is refused, the result is accepted', async () => {
        const executionId = await run.execute('started');
        const job = await honest.claimJob(executionId, 10_000, { start: true });
        expect(job.started).toBe(true);
        const store = server.test.node.store;
        expect((await store.read.listJobs(executionId)).map((j) => j.status)).toEqual(['running']);
        const types = (await store.read.listEvents(executionId, 0, 1000)).map((e) => e.type);
        expect(types.filter((t) => t === 'job.assigned' || t === 'job.started')).toEqual([
          'job.assigned',
          'job.started',
        ]);
        expect((await honest.start(job)).status).toBe(409);
        expect((await honest.complete(job)).status).toBe(200);
        expect(await run.waitFor(executionId)).toMatchObject({ status: 'completed', result: { text: 'started' } });
      });

      it('refuses a second result for a job already completed, and keeps the first', async () => {
        const { executionId, job } = await claimedJob('first');
        expect((await honest.complete(job)).status).toBe(200);
        await run.waitFor(executionId);
        const before = await executionSnapshot(server.test.node.store, executionId);
        const again = await honest.complete(job, { output: forged, attestation: honest.attest(job, forged) });
        expect(again.status).toBe(409);
        expect(again.json).toMatchObject({ accepted: false, reason: 'already_finished' });
        expectUnchanged(before, await executionSnapshot(server.test.node.store, executionId), 'second result');
        expect((await run.waitFor(executionId)).result).toEqual({ text: 'first' });
      });

      it('does not let a worker key speak for a worker another key registered', async () => {
        const counts = await storeCounts(server.test.node.store);
        for (const path of ['/worker/claim', '/worker/seen', '/worker/deregister']) {
          const response = await other.post(path, {
            workerId: honest.id,
            ...(path === '/worker/claim' && { waitMs: 0 }),
          });
          expect(response.status, `${path}: ${response.text}`).toBe(404);
        }
        expect(await storeCounts(server.test.node.store)).toEqual(counts);
        expect((await server.test.node.store.read.getWorker(honest.id))?.status).toBe('active');
      });

      it('refuses the worker routes to client and publisher keys (403)', async () => {
        const workerRoutes = appRoutes(server.app).filter((r) => r.path.startsWith('/v1/worker/'));
        expect(workerRoutes.map((r) => r.path)).toEqual(
          expect.arrayContaining(['/v1/worker/register', '/v1/worker/claim', '/v1/worker/jobs/:jobId/complete']),
        );
        const keys = [run.client, await server.key('wp-publisher', 'publisher')];
        const counts = await storeCounts(server.test.node.store);
        for (const key of keys) {
          for (const route of workerRoutes) {
            const response = await call(server.url, route.method, fillPath(route.path, 'x'), {
              key,
              ...(route.method !== 'GET' && { json: { workerId: honest.id, waitMs: 0 } }),
            });
            expect(response.status, `${route.method} ${route.path}: ${response.text}`).toBe(403);
          }
        }
        expect(await storeCounts(server.test.node.store)).toEqual(counts);
      });

      it('lets a real worker (src/worker over HTTP) register and complete executions: the checks pass honest work', async () => {
        const signer = LocalSigner.generate();
        const real = new Worker(
          httpWorkerClient(server.url, await server.key('real', 'worker'), signer),
          new ExecutorRegistry(defaultExecutors()),
          { signer, concurrency: 2, pollMs: 1_000 },
        );
        await real.start();
        try {
          const ids = await Promise.all(['one', 'two', 'three'].map((text) => run.execute(text)));
          for (const [i, id] of ids.entries())
            expect(await run.waitFor(id)).toMatchObject({
              status: 'completed',
              result: { text: ['one', 'two', 'three'][i] },
            });
        } finally {
          await real.stop(5_000);
        }
      });

      it('does not hand a job to a worker that hung up on its claim', async () => {
        const hangUp = new AbortController();
        const claim = call(server.url, 'POST', '/v1/worker/claim', {
          key: honest.apiKey,
          json: { workerId: honest.id, waitMs: 5_000 },
          signal: hangUp.signal,
        }).catch((e: unknown) => e);
        await new Promise((r) => setTimeout(r, 200));
        hangUp.abort();
        expect(await claim).toBeInstanceOf(Error);
        await new Promise((r) => setTimeout(r, 100));
        // A job that comes while the abandoned claim would still be waiting stays in the queue for a live worker.
        const executionId = await run.execute('after the hang-up');
        await new Promise((r) => setTimeout(r, 800));
        expect((await server.test.node.store.read.listJobs(executionId)).map((j) => j.status)).toEqual(['queued']);
        const job = await other.claimJob(executionId);
        expect((await other.complete(job)).status).toBe(200);
        expect((await run.waitFor(executionId)).status).toBe('completed');
      });

      describe('registration', () => {
        let key: string;
        beforeAll(async () => {
          key = await server.key('registrant', 'worker');
        });

        /** Each refused registration adds no worker and no key. */
        const refused = async (worker: HttpWorker, body: Record<string, unknown>, label: string) => {
          const counts = await storeCounts(server.test.node.store);
          const response = await worker.post('/worker/register', body);
          expect([400, 403], `${label}: ${response.status} ${response.text}`).toContain(response.status);
          expect(await storeCounts(server.test.node.store)).toEqual(counts);
        };

        it('registers a worker that proves it holds its key', async () => {
          const worker = new HttpWorker(server.url, key);
          const response = await worker.post('/worker/register', worker.registration(await worker.challenge()));
          expect(response.status, response.text).toBe(201);
          const workerId = (response.json as { workerId: string }).workerId;
          expect(await server.test.node.store.read.getWorker(workerId)).toMatchObject({
            kind: 'remote',
            principal: 'registrant',
            keyId: worker.signer.keyId,
            status: 'active',
          });
        });

        it('refuses a signature by another key than the one registered', async () => {
          const worker = new HttpWorker(server.url, key);
          await refused(
            worker,
            worker.registration(await worker.challenge(), {}, LocalSigner.generate()),
            'another key',
          );
        });

        it('refuses a signature over another challenge, or no signature at all', async () => {
          const worker = new HttpWorker(server.url, key);
          const [first, second] = [await worker.challenge(), await worker.challenge()];
          await refused(
            worker,
            { ...worker.registration(first), signature: worker.registration(second).signature },
            'another challenge',
          );
          await refused(
            worker,
            worker.registration(first, { signature: toBase64(new Uint8Array(64)) }),
            'zero signature',
          );
          await refused(worker, worker.registration(first, { signature: 'not base64!' }), 'garbage signature');
        });

        it('refuses a challenge the server did not issue, or issued to another key', async () => {
          const worker = new HttpWorker(server.url, key);
          const challenge = await worker.challenge();
          const [body, signature] = challenge.split('.') as [string, string];
          const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
          const extended = `${Buffer.from(JSON.stringify({ ...claims, exp: Date.now() + 86_400_000 })).toString('base64url')}.${signature}`;
          await refused(worker, worker.registration(extended), 'a challenge with a changed expiry');
          await refused(
            worker,
            worker.registration(`${body}.${flipBase64(signature)}`),
            'a challenge with a changed signature',
          );
          await refused(worker, worker.registration(`${body}.`), 'a challenge without a signature');
          const selfIssued = issueChallenge(LocalSigner.generate(), 'registrant').challenge;
          await refused(worker, worker.registration(selfIssued), 'a challenge signed by another key');
          // A challenge issued to another worker key's principal.
          const theirs = await other.challenge();
          await refused(worker, worker.registration(theirs), "another principal's challenge");
        });

        it('refuses an expired challenge', async () => {
          const worker = new HttpWorker(server.url, key);
          // Issued by this server's own key, but ten minutes ago (challenges live two minutes).
          vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 600_000 });
          let challenge: string;
          try {
            challenge = issueChallenge(server.test.node.coordinatorSigner, 'registrant').challenge;
          } finally {
            vi.useRealTimers();
          }
          await refused(worker, worker.registration(challenge), 'an expired challenge');
          // The same, freshly issued, is fine: it was the expiry that was refused.
          const fresh = issueChallenge(server.test.node.coordinatorSigner, 'registrant').challenge;
          expect((await worker.post('/worker/register', worker.registration(fresh))).status).toBe(201);
        });

        it('refuses a challenge used once already', async () => {
          const worker = new HttpWorker(server.url, key);
          const body = worker.registration(await worker.challenge());
          const first = await worker.post('/worker/register', body);
          expect(first.status, first.text).toBe(201);
          // Whoever saw that registration cannot replay it to register again (with other capabilities).
          await refused(worker, { ...body, name: 'replayed', concurrency: 64 }, 'a replayed registration');
          await refused(worker, body, 'the same registration again');
        });

        it('refuses a malformed public key', async () => {
          const worker = new HttpWorker(server.url, key);
          const challenge = await worker.challenge();
          await refused(worker, worker.registration(challenge, { publicKeyPem: 'not a key' }), 'a key that is not PEM');
          const rsaLike =
            '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n';
          await refused(worker, worker.registration(challenge, { publicKeyPem: rsaLike }), 'a key that is not Ed25519');
        });
      });
    });

    describe('the worker protocol refuses results out of time', () => {
      let server: TestServer;
      let first: HttpWorker;
      let second: HttpWorker;

      beforeAll(async () => {
        // Short leases, so a worker that stops heartbeating loses its job within the test; long enough that
        // the new holder keeps its own through the checks without heartbeats (which would change its job row).
        server = await startTestServer(kind, 'worker-protocol-time', {
          node: { workers: 0, leaseMs: 1_500, sweepIntervalMs: 50 },
        });
        first = await new HttpWorker(server.url, await server.key('first', 'worker')).register();
        second = await new HttpWorker(server.url, await server.key('second', 'worker')).register();
      });
      afterAll(() => server?.close());

      const jobs = (executionId: string) => server.test.node.store.read.listJobs(executionId);

      it('refuses a stale attempt after the lease expired and the step was re-queued, and the new attempt completes', async () => {
        const run = await prepare(server, 'wp-stale');
        const executionId = await run.execute('stale');
        const stale = await first.claimJob(executionId);
        expect((await first.start(stale)).status).toBe(204);
        // No heartbeat: the lease runs out and the step is queued again as attempt 2.
        await waitUntil('attempt 2', async () =>
          (await jobs(executionId)).some((j) => j.attempt === 2 && j.status === 'queued') ? true : undefined,
        );
        const current = await second.claimJob(executionId);
        expect(current.attempt).toBe(2);
        expect((await second.start(current)).status).toBe(204);

        const store = server.test.node.store;
        const before = await executionSnapshot(store, executionId);
        const late = await first.complete(stale, {
          output: { text: 'stale' },
          attestation: first.attest(stale, { text: 'stale' }),
        });
        expect(late.status, late.text).toBe(409);
        expect(late.json).toMatchObject({ accepted: false, reason: 'expired' });
        // Nor can the old holder pass its report off as the new attempt's.
        const crossed = await first.complete(stale, {
          jobId: current.jobId,
          output: { text: 'stale' },
          attestation: first.attest(stale, { text: 'stale' }),
        });
        expect([403, 409], crossed.text).toContain(crossed.status);
        expect((await first.heartbeat(stale)).json).toEqual({ state: 'lost' });
        expectUnchanged(before, await executionSnapshot(store, executionId), 'stale attempt', 2);

        expect((await second.complete(current)).status).toBe(200);
        expect(await run.waitFor(executionId)).toMatchObject({ status: 'completed', result: { text: 'stale' } });
      });

      it('refuses a result after the step deadline, keeps it out of the execution, and the retry completes', async () => {
        const run = await prepare(server, 'wp-deadline', { timeout_seconds: 1 });
        const executionId = await run.execute('in time');
        const slow = await first.claimJob(executionId);
        expect((await first.start(slow)).status).toBe(204);
        // Heartbeats keep the lease alive: it is the deadline, not the lease, that passes.
        await waitUntil('the deadline', async () => {
          await first.heartbeat(slow);
          return Date.now() > slow.deadlineAt + 50 ? true : undefined;
        });
        const output = { text: 'too late' };
        const late = await first.complete(slow, { output, attestation: first.attest(slow, output) });
        expect([409], late.text).toContain(late.status);
        expect(['late', 'expired']).toContain((late.json as { reason?: string }).reason);
        const lateJob = (await jobs(executionId)).find((j) => j.id === slow.jobId);
        expect(lateJob?.status).toBe('expired');

        const retry = await second.claimJob(executionId);
        expect(retry.attempt).toBe(2);
        expect((await second.complete(retry)).status).toBe(200);
        const final = await run.waitFor(executionId);
        expect(final).toMatchObject({ status: 'completed', result: { text: 'in time' } });
        expect((await server.test.node.store.read.getStepResults(executionId)).map((r) => r.output)).toEqual([
          { text: 'in time' },
        ]);
      });
    });

    describe('a late result before the sweeper notices', () => {
      let server: TestServer;
      let worker: HttpWorker;

      beforeAll(async () => {
        // The sweeper does not run during the test, so the late report itself meets the passed deadline.
        server = await startTestServer(kind, 'worker-protocol-late', {
          node: { workers: 0, sweepIntervalMs: 600_000 },
        });
        worker = await new HttpWorker(server.url, await server.key('late', 'worker')).register();
      });
      afterAll(() => server?.close());

      it('is refused as late (409) and the step is retried, never taking the late output', async () => {
        const run = await prepare(server, 'wp-late', { timeout_seconds: 1 });
        const executionId = await run.execute('on time');
        const job = await worker.claimJob(executionId);
        expect((await worker.start(job)).status).toBe(204);
        await new Promise((r) => setTimeout(r, Math.max(0, job.deadlineAt - Date.now()) + 100));
        const output = { text: 'late' };
        const late = await worker.complete(job, { output, attestation: worker.attest(job, output) });
        expect(late.status, late.text).toBe(409);
        expect(late.json).toMatchObject({ accepted: false, reason: 'late' });
        const retry = await worker.claimJob(executionId);
        expect(retry.attempt).toBe(2);
        expect((await worker.complete(retry)).status).toBe(200);
        expect(await run.waitFor(executionId)).toMatchObject({ status: 'completed', result: { text: 'on time' } });
      });
    });
  });
}
