import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyIdOf } from '../../../src/attest/keys.js';
import { verifyAddressBinding } from '../../../src/chain/address-binding-statement.js';
import { verifyAttestorBinding } from '../../../src/chain/attestor-binding-statement.js';
import { ensureAttestorBinding } from '../../../src/chain/bindings.js';
import type { BindingContext } from '../../../src/chain/bindings.js';
import type { DeploymentRecord } from '../../../src/chain/deployment-record.js';
import { openStore } from '../../../src/store/open-store.js';
import { TransparencyLog } from '../../../src/tlog/log.js';
import { call, errorCode } from '../../support/api-http.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { recordDeployment, signedBinding } from '../../support/chain-deployment.js';
import { startTestServer } from '../../support/server.js';
import { startTestNode } from '../../support/node.js';
import { buildServer } from '../../../src/api/server.js';
import type { TestServer } from '../../support/server.js';

interface Deployments {
  deployments: {
    chain_id: number;
    settlement: string;
    attestor: string;
    token: string;
    attestor_binding: { statement: unknown; log_index: number; tlog: Parameters<typeof verifyAttestorBinding>[3] };
  }[];
}
interface Binding {
  chain_id: number;
  principal: string;
  address: string;
  signature: string;
  statement: unknown;
  log_index: number;
}

/** Binding keys and names over real HTTP, on both stores. */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`the chain binding API (${kind})`, () => {
    let server: TestServer;
    let alice: string;
    let bob: string;
    let worker: string;
    let deployment: DeploymentRecord;
    let trusted: Map<string, Uint8Array>;
    const chainId = 31337;

    beforeAll(async () => {
      server = await startTestServer(kind, 'chain-bindings', { node: { workers: 0 } });
      alice = await server.key('alice', 'client');
      bob = await server.key('bob', 'publisher');
      worker = await server.key('wrk', 'worker');
      deployment = recordDeployment(server.test.backend.dataDir, chainId);
      const signer = server.test.node.coordinatorSigner;
      trusted = new Map([[keyIdOf(signer.publicKey), signer.publicKey]]);
    });
    afterAll(() => server?.close());

    const bind = (key: string, json: unknown) => call(server.url, 'POST', '/v1/chain/bindings', { key, json });
    const get = (key: string, path: string) => call(server.url, 'GET', path, { key });

    it('lists the known deployment with its attestor-binding statement, which verifies with the coordinator key and its log entry', async () => {
      const response = await get(worker, '/v1/chain/deployments');
      expect(response.status, response.text).toBe(200);
      const { deployments } = response.json as Deployments;
      expect(deployments).toHaveLength(1);
      const [d] = deployments;
      expect(d).toMatchObject({ chain_id: chainId, settlement: deployment.settlement, attestor: deployment.attestor });
      const verified = await verifyAttestorBinding(
        d!.attestor_binding.statement,
        trusted,
        { chainId, attestor: deployment.attestor, token: deployment.token, settlement: deployment.settlement },
        d!.attestor_binding.tlog,
      );
      expect(verified.checks.filter((c) => !c.ok)).toEqual([]);
      expect(verified.checks.map((c) => c.name)).toEqual(
        expect.arrayContaining(['attestor-binding.signature', 'attestor-binding.inclusion']),
      );
      // Asking again makes no second statement.
      const again = (await get(alice, '/v1/chain/deployments')).json as Deployments;
      expect(again.deployments[0]!.attestor_binding.log_index).toBe(d!.attestor_binding.log_index);
    });

    it('binds an address signed by its key, returns the logged statement, and lets its owner read it', async () => {
      const { address, signature } = await signedBinding(deployment, 'alice');
      const response = await bind(alice, { chain_id: chainId, address, signature });
      expect(response.status, response.text).toBe(201);
      const binding = response.json as Binding;
      expect(binding).toMatchObject({ chain_id: chainId, principal: 'alice', address, signature });
      const verified = await verifyAddressBinding(binding.statement, trusted, {
        principal: 'alice',
        chainId,
        settlement: deployment.settlement,
        address,
      });
      expect(verified.checks.filter((c) => !c.ok)).toEqual([]);
      expect(await server.test.node.store.read.chainAddressOf(chainId, 'alice')).toMatchObject({
        address,
        logIndex: binding.log_index,
      });
      const own = (await get(alice, `/v1/chain/bindings?chain_id=${chainId}`)).json as { bindings: Binding[] };
      expect(own.bindings.map((b) => b.address)).toEqual([address]);
      // Another principal sees none of it.
      const others = (await get(bob, `/v1/chain/bindings?chain_id=${chainId}`)).json as { bindings: Binding[] };
      expect(others.bindings).toEqual([]);
    });

    it('binding the same address again is idempotent; a new address replaces it and is logged', async () => {
      const first = await signedBinding(deployment, 'bob');
      const created = (await bind(bob, { chain_id: chainId, address: first.address, signature: first.signature }))
        .json as Binding;
      const size = await server.test.node.store.read.getLogSize();
      const again = await bind(bob, { chain_id: chainId, address: first.address, signature: first.signature });
      expect(again.status).toBe(200);
      expect(again.json).toEqual(created);
      expect(await server.test.node.store.read.getLogSize()).toBe(size);

      const second = await signedBinding(deployment, 'bob');
      const rebound = await bind(bob, { chain_id: chainId, address: second.address, signature: second.signature });
      expect(rebound.status).toBe(201);
      expect((rebound.json as Binding).log_index).toBe(size);
      expect((await server.test.node.store.read.chainAddressOf(chainId, 'bob'))?.address).toBe(second.address);
    });

    it('refuses a signature by another key, or for another principal, naming signature and saying what to sign', async () => {
      const { address } = await signedBinding(deployment, 'alice');
      const stranger = await signedBinding(deployment, 'alice');
      const before = await server.test.node.store.read.getLogSize();
      const wrongKey = await bind(alice, { chain_id: chainId, address, signature: stranger.signature });
      expect(wrongKey.status).toBe(400);
      expect(errorCode(wrongKey)).toBe('validation');
      expect(wrongKey.text).toContain('body.signature');
      expect(wrongKey.text).toContain('AddressBinding');
      // Bob's signature of his own binding does not bind Alice's account to his address.
      const bobs = await signedBinding(deployment, 'bob');
      const replayed = await bind(alice, { chain_id: chainId, address: bobs.address, signature: bobs.signature });
      expect(replayed.status).toBe(400);
      expect(await server.test.node.store.read.getLogSize()).toBe(before);
    });

    it("never binds someone else's account: 404 for a client, 400 for an admin but sys:platform", async () => {
      const bobs = await signedBinding(deployment, 'bob');
      const asAlice = await bind(alice, { chain_id: chainId, principal: 'bob', ...pick(bobs) });
      expect(asAlice.status).toBe(404);
      const asAdmin = await bind(server.adminKey, { chain_id: chainId, principal: 'bob', ...pick(bobs) });
      expect(asAdmin.status).toBe(400);
      expect(asAdmin.text).toContain('body.principal');
      const platform = await signedBinding(deployment, 'sys:platform');
      const fee = await bind(server.adminKey, { chain_id: chainId, principal: 'sys:platform', ...pick(platform) });
      expect(fee.status, fee.text).toBe(201);
      expect(fee.json).toMatchObject({ principal: 'sys:platform', address: platform.address });
      const asClient = await bind(alice, { chain_id: chainId, principal: 'sys:platform', ...pick(platform) });
      expect(asClient.status).toBe(404);
      // A worker key binds nothing.
      expect((await bind(worker, { chain_id: chainId, ...pick(platform) })).status).toBe(403);
    });

    it('refuses an unknown chain id with a 404 naming it, and malformed bodies field by field', async () => {
      const { address, signature } = await signedBinding({ chainId: 999, settlement: deployment.settlement }, 'alice');
      const unknown = await bind(alice, { chain_id: 999, address, signature });
      expect(unknown.status).toBe(404);
      expect(unknown.text).toContain('chain 999');
      expect((await get(alice, '/v1/chain/bindings?chain_id=999')).status).toBe(404);
      const long = await bind(alice, { chain_id: chainId, address: `0x${'a'.repeat(400)}`, signature });
      expect(long.status).toBe(400);
      expect(long.text).toContain('body.address');
      const short = await bind(alice, { chain_id: chainId, address, signature: '0x1234' });
      expect(short.status).toBe(400);
      expect(short.text).toContain('body.signature');
      const extra = await bind(alice, { chain_id: chainId, address, signature, admin: true });
      expect(extra.status).toBe(400);
      expect((await bind(alice, { chain_id: -1, address, signature })).text).toContain('body.chain_id');
    });

    it('lists every current binding to an admin in the shape `verity chain bind --file` reads, and to nobody else', async () => {
      const response = await get(server.adminKey, `/v1/admin/chain-bindings?chain_id=${chainId}`);
      expect(response.status, response.text).toBe(200);
      const { bindings } = response.json as { bindings: Record<string, unknown>[] };
      expect(bindings.map((b) => b.principal)).toEqual(['alice', 'bob', 'sys:platform']);
      for (const b of bindings) {
        expect(Object.keys(b).sort()).toEqual(['address', 'log_index', 'principal', 'signature']);
        expect(b.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
        expect(b.signature).toMatch(/^0x[0-9a-f]{130}$/);
      }
      for (const key of [alice, bob, worker]) {
        expect((await get(key, `/v1/admin/chain-bindings?chain_id=${chainId}`)).status).toBe(403);
      }
    });

    it('makes the attestor-binding statement at start for the records present, before any request', async () => {
      const test = await startTestNode(kind, 'chain-start', { workers: 0 });
      try {
        const record = recordDeployment(test.backend.dataDir, 5);
        const before = await test.node.store.read.getLogSize();
        const { app } = await buildServer(test.node, { logger: false });
        await app.ready();
        const binding = await test.node.store.read.getChainAttestorBinding(record);
        expect(binding?.logIndex).toBe(before);
        const verified = await verifyAttestorBinding(
          binding!.envelope,
          new Map([[test.node.coordinatorSigner.keyId, test.node.coordinatorSigner.publicKey]]),
          record,
        );
        expect(verified.ok).toBe(true);
        await app.close();
      } finally {
        await test.close();
      }
    });

    it('makes the attestor-binding statement once, whichever replica ensures it and however many at once', async () => {
      const other = recordDeployment(server.test.backend.dataDir, 4242);
      const { node } = server.test;
      const before = await node.store.read.getLogSize();
      // A second store on the same database stands for another replica.
      const replica = await openStore({
        dataDir: server.test.backend.dataDir,
        databaseUrl: server.test.backend.databaseUrl,
      });
      try {
        const replicaLog = await TransparencyLog.open(replica, node.coordinatorSigner);
        const here: BindingContext = {
          store: node.store,
          log: node.log,
          signer: node.coordinatorSigner,
          dataDir: server.test.backend.dataDir,
        };
        const there: BindingContext = { ...here, store: replica, log: replicaLog };
        const results = await Promise.all([
          ...Array.from({ length: 4 }, () => ensureAttestorBinding(here, other)),
          ...Array.from({ length: 4 }, () => ensureAttestorBinding(there, other)),
          get(alice, '/v1/chain/deployments'),
        ]);
        const records = results.slice(0, 8) as Awaited<ReturnType<typeof ensureAttestorBinding>>[];
        expect(new Set(records.map((r) => r.logIndex)).size).toBe(1);
        expect(await node.store.read.getLogSize()).toBe(before + 1);
      } finally {
        await replica.close();
      }
    });
  });
}

const pick = (b: { address: string; signature: string }) => ({ address: b.address, signature: b.signature });
