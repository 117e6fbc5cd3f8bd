import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64 } from '../../../src/attest/bytes.js';
import type { Bundle } from '../../../src/attest/bundle.js';
import { DEFAULT_REGISTRATION_CAPS, registrationCapsFromEnv } from '../../../src/coordinator/registration-caps.js';
import { workerAccount } from '../../../src/attest/counted.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { registrationMessage } from '../../../src/worker/registration.js';
import { ZkSigner } from '../../../src/zk/babyjub.js';
import { call, errorCode } from '../../support/api-http.js';
import type { RawResponse } from '../../support/api-http.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { HttpWorker } from '../../support/http-worker.js';
import { rawQuery } from '../store/fixtures.js';
import { startServerProcess, startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';
import { expectVerified, receiptOf, stepOf, verify } from '../receipts/support.js';

/**
 * Sybil workers, through a real server: worker keys are free to make, so one API key registering many
 * workers must not buy more votes (a redundancy quorum counts principals, which the coordinator states in
 * the receipt), nor fill the server with workers, nor fill the zk worker registry (which holds 2^depth keys
 * for everyone). Registrations past a per-principal cap are 429s that name the quota.
 */

const WORKFLOW = {
  id: 'sybil-vote',
  name: 'sybil-vote',
  version: 1,
  steps: [
    {
      id: 'vote',
      step_type: 'inference',
      model_requirements: { name: 'builtin/echo' },
      input_mappings: { text: 'inputs.text' },
      redundancy: { replicas: 3, quorum: 2 },
      retry_policy: { max_attempts: 1 },
    },
  ],
  outputs: { text: 'steps.vote.output.text' },
};

/** Registers a worker of this key with a fresh Ed25519 key (and a zk key if given); the raw answer. */
async function register(
  server: TestServer,
  apiKey: string,
  options: { signer?: LocalSigner | undefined; zk?: { x: string; y: string } | undefined } = {},
): Promise<RawResponse> {
  const signer = options.signer ?? LocalSigner.generate();
  const challenged = await call(server.url, 'POST', '/v1/worker/challenge', { key: apiKey, json: {} });
  expect(challenged.status, challenged.text).toBe(200);
  const { challenge } = challenged.json as { challenge: string };
  return call(server.url, 'POST', '/v1/worker/register', {
    key: apiKey,
    json: {
      name: 'sybil',
      publicKeyPem: signer.publicKeyPem,
      capabilities: { stepTypes: [], models: ['builtin/echo'] },
      concurrency: 1,
      challenge,
      signature: toBase64(signer.sign(registrationMessage(challenge, options.zk))),
      ...(options.zk && { zkPublicKey: options.zk }),
    },
  });
}

function expectQuota(response: RawResponse, quota: string, limit: number): void {
  expect(response.status, response.text).toBe(429);
  expect(errorCode(response)).toBe('quota_exceeded');
  const body = response.json as { error: { message: string; quota: string; limit: number } };
  expect({ quota: body.error.quota, limit: body.error.limit }).toEqual({ quota, limit });
  expect(body.error.message).toContain(`quota ${quota}`);
}

describe('registration caps from the environment', () => {
  it('default to 64 workers and 32 zk keys per principal; positive integers override them, anything else is refused naming the variable', () => {
    expect(DEFAULT_REGISTRATION_CAPS).toEqual({ maxWorkersPerPrincipal: 64, maxZkKeysPerPrincipal: 32 });
    expect(registrationCapsFromEnv({})).toEqual(DEFAULT_REGISTRATION_CAPS);
    expect(
      registrationCapsFromEnv({ VERITY_MAX_WORKERS_PER_PRINCIPAL: '3', VERITY_MAX_ZK_KEYS_PER_PRINCIPAL: '2' }),
    ).toEqual({ maxWorkersPerPrincipal: 3, maxZkKeysPerPrincipal: 2 });
    expect(() => registrationCapsFromEnv({ VERITY_MAX_WORKERS_PER_PRINCIPAL: '0' })).toThrow(
      "VERITY_MAX_WORKERS_PER_PRINCIPAL must be a positive integer, got '0'",
    );
    expect(() => registrationCapsFromEnv({ VERITY_MAX_ZK_KEYS_PER_PRINCIPAL: 'x' })).toThrow(
      "VERITY_MAX_ZK_KEYS_PER_PRINCIPAL must be a positive integer, got 'x'",
    );
  });
});

describe('registration caps set by the environment of `verity serve`', () => {
  it('VERITY_MAX_WORKERS_PER_PRINCIPAL and VERITY_MAX_ZK_KEYS_PER_PRINCIPAL are what the server enforces', async () => {
    const saved = {
      workers: process.env.VERITY_MAX_WORKERS_PER_PRINCIPAL,
      zk: process.env.VERITY_MAX_ZK_KEYS_PER_PRINCIPAL,
    };
    process.env.VERITY_MAX_WORKERS_PER_PRINCIPAL = '2';
    process.env.VERITY_MAX_ZK_KEYS_PER_PRINCIPAL = '1';
    let server: TestServer | undefined;
    try {
      server = await startTestServer('sqlite', 'sybil-caps-env', {
        node: { workers: 0 },
        server: { closeGraceMs: 200 },
      });
    } finally {
      for (const [name, value] of [
        ['VERITY_MAX_WORKERS_PER_PRINCIPAL', saved.workers],
        ['VERITY_MAX_ZK_KEYS_PER_PRINCIPAL', saved.zk],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    try {
      const apiKey = await server.key('env-capped', 'worker');
      const [zk1, zk2] = [ZkSigner.generate(), ZkSigner.generate()];
      expect((await register(server, apiKey, { zk: zk1.publicKey })).status).toBe(201);
      expectQuota(await register(server, apiKey, { zk: zk2.publicKey }), 'zk_keys_per_principal', 1);
      expect((await register(server, apiKey)).status).toBe(201);
      expectQuota(await register(server, apiKey), 'workers_per_principal', 2);
    } finally {
      await server.close();
    }
  }, 60_000);

  it('a value that is not a positive integer stops `verity serve` before it starts, with a message naming the variable', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'verity-sybil-bad-env-'));
    try {
      for (const [name, value] of [
        ['VERITY_MAX_WORKERS_PER_PRINCIPAL', 'abc'],
        ['VERITY_MAX_ZK_KEYS_PER_PRINCIPAL', '-1'],
      ] as const) {
        const started = startServerProcess({ dataDir, env: { [name]: value } });
        // The support's error carries the exit code and the process's stderr.
        await expect(started).rejects.toThrow(
          `verity serve exited (2) before it was ready:\nerror: ${name} must be a positive integer, got '${value}'`,
        );
      }
      // Refused before anything opened: no store, no keys, no admin key.
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`Sybil workers (${kind})`, () => {
    describe('one worker API key with two keys cannot out-vote an honest worker', () => {
      let server: TestServer;
      beforeAll(async () => {
        // No in-process workers: every replica goes to the workers below.
        server = await startTestServer(kind, 'sybil-vote', { node: { workers: 0 }, server: { closeGraceMs: 200 } });
      });
      afterAll(() => server?.close());

      it('the two liars of one principal take one replica between them, their lie is not the answer, and the receipt states the principals', async () => {
        const sybilKey = await server.key('sybil', 'worker');
        const liarA = await new HttpWorker(server.url, sybilKey).register();
        const liarB = await new HttpWorker(server.url, sybilKey).register();
        expect(liarA.signer.keyId).not.toBe(liarB.signer.keyId);
        const honest = await new HttpWorker(server.url, await server.key('honest', 'worker')).register();

        const publisher = await server.key('sybil-client', 'publisher'); // the client's own: it runs only its own workflows
        const client = await server.key('sybil-client', 'client');
        expect((await call(server.url, 'POST', '/v1/workflows', { key: publisher, json: WORKFLOW })).status).toBe(201);
        const executed = await call(server.url, 'POST', '/v1/agents/sybil-vote/execute', {
          key: client,
          json: { inputs: { text: 'truth' } },
        });
        expect(executed.status, executed.text).toBe(202);
        const executionId = (executed.json as { executionId: string }).executionId;

        // The attack: both Sybil workers claim a replica and report the same lie, each signed with its own key.
        const first = await liarA.claimJob(executionId);
        expect(await liarB.claim(1_000)).toBeUndefined();
        const honestJob = await honest.claimJob(executionId);
        // Each attests a cost of its own: the receipt must pay the agreeing ones, never the liar's.
        const lie = { text: 'lie' };
        expect(
          (await liarA.complete(first, { output: lie, attestation: liarA.attest(first, lie, { cost: 1000 }) })).status,
        ).toBe(200);
        expect(
          (await honest.complete(honestJob, { attestation: honest.attest(honestJob, honestJob.input, { cost: 30 }) }))
            .status,
        ).toBe(200);
        // Still no second Sybil replica: one of each principal is all an attempt gives out.
        expect(await liarB.claim(1_000)).toBeUndefined();

        const running = (await call(server.url, 'GET', `/v1/executions/${executionId}`, { key: client })).json as {
          status: string;
          steps: { id: string; status: string }[];
        };
        expect(running.status).toBe('running');
        expect(running.steps.find((s) => s.id === 'vote')?.status).not.toBe('completed');
        const results = await server.test.node.store.read.listReplicaResults(executionId);
        expect(results.map((r) => r.principal).sort()).toEqual(['honest', 'sybil']);

        // A second honest principal takes the last replica: two principals agree, on the truth.
        const honest2 = await new HttpWorker(server.url, await server.key('honest-2', 'worker')).register();
        const lastJob = await honest2.claimJob(executionId);
        expect(
          (await honest2.complete(lastJob, { attestation: honest2.attest(lastJob, lastJob.input, { cost: 40 }) }))
            .status,
        ).toBe(200);
        await server.test.node.waitFor(executionId);
        const done = (await call(server.url, 'GET', `/v1/executions/${executionId}`, { key: client })).json as {
          status: string;
          result: unknown;
        };
        expect(done).toMatchObject({ status: 'completed', result: { text: 'truth' } });

        const bundle = (await call(server.url, 'GET', `/v1/agents/${executionId}/receipt?data=true`, { key: client }))
          .json as Bundle;
        const replicas = stepOf(receiptOf(bundle), 'vote').redundancy!.replicas;
        expect(replicas.map((r) => r.principal).sort()).toEqual(['honest', 'honest-2', 'sybil']);
        // Costs: each replica states its attested cost; the step its primary's, with the principal of the API
        // key that registered the worker (paid to that principal's account); totalCost counts the agreeing
        // replicas only, though the engine also paid the liar.
        const byPrincipal = Object.fromEntries(replicas.map((r) => [r.principal, r.cost]));
        expect(byPrincipal).toEqual({ sybil: 1000, honest: 30, 'honest-2': 40 });
        const vote = stepOf(receiptOf(bundle), 'vote');
        const primary = replicas.find((r) => r.attestationDigest === vote.attestationDigest)!;
        expect(['honest', 'honest-2']).toContain(vote.principal);
        expect(vote).toMatchObject({ principal: primary.principal, cost: primary.cost });
        expect(workerAccount(vote.principal!)).toBe(vote.principal);
        expect(receiptOf(bundle).predicate.totalCost).toBe(70);
        expect((await server.test.node.store.read.getExecution(executionId))?.spent).toBe(1070);
        const full = await verify(bundle, [server.test.node.coordinatorSigner.publicKeyPem], 'full');
        expectVerified(full);
        expect(full.checks.find((c) => c.name === 'redundancy.vote')?.message).toBe(
          '2 of 3 replicas: 2 distinct principals agree; quorum 2',
        );
      }, 60_000);

      it('when both Sybil workers do get a replica (two claims racing), their two lies count once: the step fails redundancy_mismatch, never takes the lie', async () => {
        const sybilKey = await server.key('sybil-race', 'worker');
        const liarA = await new HttpWorker(server.url, sybilKey).register();
        const liarB = await new HttpWorker(server.url, sybilKey).register();
        const honest = await new HttpWorker(server.url, await server.key('honest-race', 'worker')).register();
        const publisher = await server.key('race-client', 'publisher');
        const client = await server.key('race-client', 'client');
        expect(
          (
            await call(server.url, 'POST', '/v1/workflows', {
              key: publisher,
              json: { ...WORKFLOW, id: 'sybil-race', name: 'sybil-race' },
            })
          ).status,
        ).toBe(201);
        const executed = await call(server.url, 'POST', '/v1/agents/sybil-race/execute', {
          key: client,
          json: { inputs: { text: 'truth' } },
        });
        const executionId = (executed.json as { executionId: string }).executionId;

        const first = await liarA.claimJob(executionId);
        // What two claims racing on PostgreSQL can leave (neither saw the other's uncommitted assignment):
        // hide the first job's principal while the second Sybil worker claims, then put it back.
        await rawQuery(server.test.backend, 'UPDATE jobs SET principal = NULL WHERE id = ?', [first.jobId]);
        const second = await liarB.claimJob(executionId);
        await rawQuery(server.test.backend, 'UPDATE jobs SET principal = ? WHERE id = ?', ['sybil-race', first.jobId]);
        const third = await honest.claimJob(executionId);
        expect((await liarA.complete(first, { output: { text: 'lie' } })).status).toBe(200);
        expect((await liarB.complete(second, { output: { text: 'lie' } })).status).toBe(200);
        expect((await honest.complete(third)).status).toBe(200);

        await server.test.node.waitFor(executionId);
        const done = (await call(server.url, 'GET', `/v1/executions/${executionId}`, { key: client })).json as {
          status: string;
          steps: { id: string; status: string; error?: { code: string; message: string } }[];
        };
        expect(done.status).toBe('failed');
        const vote = done.steps.find((s) => s.id === 'vote')!;
        expect(vote.error?.code).toBe('redundancy_mismatch');
        expect(vote.error?.message).toContain('at most 1 do');
        expect(vote.error?.message).toContain('of sybil-race');
        const results = await server.test.node.store.read.listReplicaResults(executionId);
        expect(results.map((r) => r.principal).sort()).toEqual(['honest-race', 'sybil-race', 'sybil-race']);
      }, 60_000);
    });

    describe("a worker's own word about its principal", () => {
      let server: TestServer;
      beforeAll(async () => {
        server = await startTestServer(kind, 'sybil-word', { node: { workers: 0 }, server: { closeGraceMs: 200 } });
      });
      afterAll(() => server?.close());

      it("is refused in a registration (400), and the principal recorded is always the API key's", async () => {
        const apiKey = await server.key('mallory', 'worker');
        const worker = new HttpWorker(server.url, apiKey);
        const claimed = await worker.post(
          '/worker/register',
          worker.registration(await worker.challenge(), { principal: 'honest' }),
        );
        expect(claimed.status, claimed.text).toBe(400);
        await worker.register();
        const record = await server.test.node.store.read.getWorker(worker.id);
        expect(record?.principal).toBe('mallory');
      });
    });

    describe('registration caps per principal', () => {
      let server: TestServer;
      beforeAll(async () => {
        server = await startTestServer(kind, 'sybil-caps', { node: { workers: 0 }, server: { closeGraceMs: 200 } });
      });
      afterAll(() => server?.close());

      it('the 65th worker key of one principal is a 429 naming the quota; its known keys may register again; another principal is not held back', async () => {
        const apiKey = await server.key('many-workers', 'worker');
        const signers: LocalSigner[] = [];
        for (let i = 0; i < 64; i++) {
          const signer = LocalSigner.generate();
          const response = await register(server, apiKey, { signer });
          expect(response.status, `worker ${i + 1}: ${response.text}`).toBe(201);
          signers.push(signer);
        }
        const before = (await server.test.node.store.read.listWorkers()).length;
        expectQuota(await register(server, apiKey), 'workers_per_principal', 64);
        // A second API key of the same principal shares its quota.
        expectQuota(await register(server, await server.key('many-workers', 'worker')), 'workers_per_principal', 64);
        expect((await server.test.node.store.read.listWorkers()).length).toBe(before);
        // A worker restarting with its key is not a new worker.
        expect((await register(server, apiKey, { signer: signers[0] })).status).toBe(201);
        expect((await register(server, apiKey, { signer: signers[0] })).status).toBe(201);
        expect((await register(server, await server.key('someone-else', 'worker'))).status).toBe(201);
        // A worker that leaves frees its place.
        const workers = (await server.test.node.store.read.listWorkers()).filter(
          (w) => w.principal === 'many-workers' && w.keyId === signers[1]!.keyId,
        );
        for (const worker of workers) {
          expect(
            (await call(server.url, 'POST', '/v1/worker/deregister', { key: apiKey, json: { workerId: worker.id } }))
              .status,
          ).toBe(204);
        }
        expect((await register(server, apiKey)).status).toBe(201);
        expectQuota(await register(server, apiKey), 'workers_per_principal', 64);
      }, 120_000);

      it('the 33rd zk registry key of one principal is a 429 naming the quota; a known zk key may register again; another principal still gets in', async () => {
        const apiKey = await server.key('many-zk-keys', 'worker');
        const zkKeys = Array.from({ length: 34 }, () => ZkSigner.generate().publicKey);
        for (let i = 0; i < 32; i++) {
          const response = await register(server, apiKey, { zk: zkKeys[i] });
          expect(response.status, `zk key ${i + 1}: ${response.text}`).toBe(201);
        }
        const size = (await server.test.node.store.read.listZkRegistry()).length;
        expectQuota(await register(server, apiKey, { zk: zkKeys[32] }), 'zk_keys_per_principal', 32);
        expect((await server.test.node.store.read.listZkRegistry()).length).toBe(size);
        expect(await server.test.node.store.read.findZkRegistryKey(zkKeys[32]!.x, zkKeys[32]!.y)).toBeUndefined();
        // A zk key already in the registry takes no new leaf.
        expect((await register(server, apiKey, { zk: zkKeys[0] })).status).toBe(201);
        expect((await register(server, await server.key('other-zk', 'worker'), { zk: zkKeys[33] })).status).toBe(201);
        expect((await server.test.node.store.read.listZkRegistry()).length).toBe(size + 1);
      }, 120_000);
    });
  });
}
