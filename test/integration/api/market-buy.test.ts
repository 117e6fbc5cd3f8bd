import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListingView } from '../../../src/sdk/client.js';
import { call, errorCode } from '../../support/api-http.js';
import type { RawResponse } from '../../support/api-http.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { HttpWorker } from '../../support/http-worker.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

/** The default platform fee (VERITY_PLATFORM_FEE_BPS unset): 5 %. */
const FEE_BPS = 500;
const PRICE = 1_000;
const MARKUP_BPS = 1_000;

/** Two steps whose attested costs sum to C = 200. */
const costly = (id: string) => ({
  id,
  name: id,
  version: 1,
  steps: [
    echo('a', { input_mappings: { cost: '120' } }),
    echo('b', { depends_on: ['a'], input_mappings: { cost: '80' } }),
  ],
  max_cost_budget: 1_000_000,
});

interface Balance {
  principal: string;
  available: number;
  held: number;
}

/**
 * Buying through a listing over real HTTP, on both stores: the hold, the settlement the ledger shows, the
 * bundle that carries it and verifies, and every refusal (which starts nothing and holds nothing).
 */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`buying through a listing over HTTP (${kind})`, () => {
    let server: TestServer;
    let acme: string;
    let bob: string;
    let carol: string;
    let eve: string;
    let worker: string;
    let fixed: ListingView;
    let usage: ListingView;
    let fixedRun: string;

    const as = (key: string, method: string, path: string, json?: unknown, headers: Record<string, string> = {}) =>
      call(server.url, method, path, { key, headers, ...(json !== undefined && { json }) });
    const create = async (body: unknown): Promise<ListingView> => {
      const response = await as(acme, 'POST', '/v1/market/listings', body);
      expect(response.status, response.text).toBe(201);
      return response.json as ListingView;
    };
    const balance = async (principal: string): Promise<Balance> => {
      const response = await as(server.adminKey, 'GET', `/v1/ledger/balance?principal=${principal}`);
      expect(response.status, response.text).toBe(200);
      return response.json as Balance;
    };
    const credit = async (principal: string, amount: number) =>
      expect((await as(server.adminKey, 'POST', '/v1/ledger/credit', { principal, amount })).status).toBe(201);
    const execute = (key: string, listing: string, body: unknown, headers: Record<string, string> = {}) =>
      as(key, 'POST', `/v1/market/listings/${listing}/execute`, body, headers);
    /** Waits for the execution to end and its settlement to release the hold. */
    const settled = async (key: string, executionId: string): Promise<string> => {
      const view = await server.client(key).waitFor(executionId);
      for (let i = 0; i < 100; i++) {
        const list = await as(key, 'GET', `/v1/executions/${executionId}/settlements`);
        if (list.status === 200 && (list.json as { settlements: unknown[] }).settlements.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return view.status;
    };
    const everything = async () => ({
      balances: await Promise.all(['bob', 'carol', 'acme', 'sys:platform', 'sys:compute'].map(balance)),
      executions: (await as(server.adminKey, 'GET', '/v1/executions?limit=100')).json,
    });

    beforeAll(async () => {
      server = await startTestServer(kind, 'market-buy');
      acme = await server.key('acme', 'publisher');
      bob = await server.key('bob', 'client');
      carol = await server.key('carol', 'client');
      eve = await server.key('eve', 'client');
      worker = await server.key('wrk', 'worker');
      for (const id of ['buy-fixed', 'buy-usage', 'buy-private'])
        expect((await as(acme, 'POST', '/v1/workflows', costly(id))).status).toBe(201);
      const slow = {
        ...costly('buy-slow'),
        steps: [
          echo('a', { input_mappings: { cost: '120' } }),
          echo('b', {
            depends_on: ['a'],
            model_requirements: { name: 'builtin/sleep' },
            input_mappings: { ms: '20000' },
          }),
        ],
      };
      expect((await as(acme, 'POST', '/v1/workflows', slow)).status).toBe(201);
      const failing = {
        ...costly('buy-failing'),
        steps: [
          echo('a', { input_mappings: { cost: '120' } }),
          echo('b', {
            depends_on: ['a'],
            model_requirements: { name: 'builtin/fail' },
            retry_policy: { max_attempts: 1 },
          }),
        ],
      };
      expect((await as(acme, 'POST', '/v1/workflows', failing)).status).toBe(201);
      fixed = await create({
        workflow_id: 'buy-fixed',
        title: 'Fixed price',
        execution_price: PRICE,
        pricing: { model: 'per_execution' },
      });
      usage = await create({
        workflow_id: 'buy-usage',
        title: 'Per usage',
        pricing: { model: 'per_usage', markup_bps: MARKUP_BPS, max_price: 10_000 },
      });
    });
    afterAll(() => server?.close());

    it('bob buys a fixed-price run: held, settled from the receipt, and the bundle verifies at basic and full', async () => {
      await credit('bob', 5_000);
      const started = await execute(bob, fixed.id, { inputs: {} });
      expect(started.status, started.text).toBe(202);
      const executionId = (started.json as { executionId: string }).executionId;
      fixedRun = executionId;
      expect(started.headers.get('location')).toBe(`/v1/executions/${executionId}`);
      expect(await settled(bob, executionId)).toBe('completed');

      // buyer −E, platform +F, in-process workers (sys:compute) +C, publisher +(E − F − C); the hold released.
      const fee = Math.floor((PRICE * FEE_BPS) / 10_000);
      expect((await as(bob, 'GET', '/v1/ledger/balance')).json).toEqual({
        principal: 'bob',
        available: 5_000 - PRICE,
        held: 0,
      });
      expect((await as(acme, 'GET', '/v1/ledger/balance')).json).toEqual({
        principal: 'acme',
        available: PRICE - fee - 200,
        held: 0,
      });
      expect(await balance('sys:platform')).toMatchObject({ available: fee, held: 0 });
      expect(await balance('sys:compute')).toMatchObject({ available: 200, held: 0 });

      const bundle = await as(bob, 'GET', `/v1/agents/${executionId}/receipt?data=true`);
      expect(bundle.status).toBe(200);
      const body = bundle.json as { mediaType: string; settlements?: unknown[] };
      expect(body.mediaType).toBe('application/vnd.verity.bundle.v2+json');
      expect(body.settlements).toHaveLength(1);
      const key = (await as(bob, 'GET', '/v1/keys/coordinator')).json as { publicKeyPem: string };
      for (const level of ['basic', 'full'] as const) {
        const verified = await as(bob, 'POST', '/v1/receipts/verify', {
          bundle: body,
          level,
          trustedKeys: [key.publicKeyPem],
        });
        expect(verified.status, verified.text).toBe(200);
        const report = verified.json as { ok: boolean; checks: { name: string; ok: boolean }[] };
        expect(report.checks.filter((c) => !c.ok)).toEqual([]);
        expect(report.ok).toBe(true);
        for (const check of ['signature', 'statement', 'inclusion', 'postings', 'amounts'])
          expect(report.checks.some((c) => c.name === `settlement.1.${check}` && c.ok)).toBe(true);
      }
    });

    it("a per_usage run's price is min(C + ⌊C·m/10⁴⌋, cap), checked against the ledger", async () => {
      await credit('bob', 20_000);
      const before = await balance('bob');
      const acmeBefore = await balance('acme');
      const started = await execute(bob, usage.id, { inputs: {}, max_price: 5_000 });
      expect(started.status, started.text).toBe(202);
      const executionId = (started.json as { executionId: string }).executionId;
      // The hold: the price ceiling, cap = min(10 000, 5 000).
      expect(await balance('bob')).toEqual({ principal: 'bob', available: before.available - 5_000, held: 5_000 });
      expect(await settled(bob, executionId)).toBe('completed');
      const compute = 200;
      const price = Math.min(compute + Math.floor((compute * MARKUP_BPS) / 10_000), 5_000);
      const fee = Math.floor((price * FEE_BPS) / 10_000);
      expect(price).toBe(220);
      expect(await balance('bob')).toEqual({ principal: 'bob', available: before.available - price, held: 0 });
      expect((await balance('acme')).available - acmeBefore.available).toBe(price - fee - compute);
    });

    it('402 insufficient_funds names what is missing and starts nothing', async () => {
      await credit('carol', PRICE - 1);
      const before = await everything();
      const refused = await execute(carol, fixed.id, { inputs: {} });
      expect(refused.status, refused.text).toBe(402);
      expect(errorCode(refused)).toBe('insufficient_funds');
      expect(refused.text).toMatch(/\b1\b/);
      expect(await everything()).toEqual(before);
      const own = (await as(carol, 'GET', '/v1/executions')).json as { executions: unknown[] };
      expect(own.executions).toEqual([]);
    });

    it('the same Idempotency-Key returns the same execution and holds once', async () => {
      await credit('carol', 1);
      const headers = { 'idempotency-key': 'buy-once' };
      const first = await execute(carol, fixed.id, { inputs: {} }, headers);
      const again = await execute(carol, fixed.id, { inputs: {} }, headers);
      expect(first.status, first.text).toBe(202);
      expect(again.status, again.text).toBe(202);
      const id = (first.json as { executionId: string }).executionId;
      expect((again.json as { executionId: string }).executionId).toBe(id);
      expect(await settled(carol, id)).toBe('completed');
      expect(await balance('carol')).toEqual({ principal: 'carol', available: 0, held: 0 });
    });

    it('a body setting version, budget or verification_level is a 400 naming the field, and changes nothing', async () => {
      const before = await everything();
      for (const [field, value] of [
        ['version', 1],
        ['budget', 10],
        ['verification_level', 'basic'],
      ] as const) {
        const refused = await execute(bob, fixed.id, { inputs: {}, [field]: value });
        expect(refused.status, field).toBe(400);
        expect(refused.text, field).toContain(field);
      }
      // A buyer's max_price below a fixed price.
      const low = await execute(bob, fixed.id, { inputs: {}, max_price: PRICE - 1 });
      expect(low.status, low.text).toBe(400);
      expect(low.text).toContain('max_price');
      expect(await everything()).toEqual(before);
    });

    it("who may buy: a private listing is a stranger's 404, a paused one 409, a worker key 403", async () => {
      const privateOne = await create({
        workflow_id: 'buy-private',
        title: 'Private',
        execution_price: PRICE,
        pricing: { model: 'per_execution' },
        is_public: false,
        authorized_users: ['bob'],
      });
      const before = await everything();
      const hidden = await execute(eve, privateOne.id, { inputs: {} });
      const missing = await execute(eve, '00000000-0000-7000-8000-000000000000', { inputs: {} });
      expect(hidden.status).toBe(404);
      expect(missing.status).toBe(404);
      const withoutId = (r: RawResponse) =>
        r.text.replaceAll(privateOne.id, 'ID').replaceAll(/0{8}-0{4}-7000-8000-0{12}/g, 'ID');
      expect(withoutId(hidden)).toBe(withoutId(missing));

      expect((await as(acme, 'POST', `/v1/market/listings/${fixed.id}/pause`, {})).status).toBe(200);
      const paused = await execute(bob, fixed.id, { inputs: {} });
      expect(paused.status, paused.text).toBe(409);
      expect((await as(acme, 'POST', `/v1/market/listings/${fixed.id}/resume`, {})).status).toBe(200);

      expect((await execute(worker, fixed.id, { inputs: {} })).status).toBe(403);
      expect(await everything()).toEqual(before);
    });
    it('the buyer reads its settlements in full; a payee only what paid it; a stranger gets a 404', async () => {
      const fee = Math.floor((PRICE * FEE_BPS) / 10_000);
      const own = await as(bob, 'GET', `/v1/executions/${fixedRun}/settlements`);
      expect(own.status, own.text).toBe(200);
      const [statement] = (own.json as { settlements: Record<string, unknown>[] }).settlements;
      expect(statement).toMatchObject({
        execution_id: fixedRun,
        revision: 1,
        listing_id: fixed.id,
        buyer: 'bob',
        publisher: 'acme',
        outcome: 'completed',
        compute_cost: 200,
        price: PRICE,
        fee,
        log_index: expect.any(Number) as number,
        envelope: { payloadType: 'application/vnd.in-toto+json' },
      });
      expect(statement!.postings).toEqual(
        expect.arrayContaining([
          { account: 'bob', amount: -PRICE, why: 'price' },
          { account: 'sys:platform', amount: fee, why: 'fee' },
          { account: 'sys:compute', amount: 200, why: 'compute' },
          { account: 'acme', amount: PRICE - fee - 200, why: 'proceeds' },
        ]),
      );
      // The SDK reads the same.
      expect((await server.client(bob).settlements(fixedRun))[0]).toEqual(statement);
      // Another's execution, even the publisher's own listing's, is a 404 like a missing one.
      for (const key of [eve, acme]) {
        const refused = await as(key, 'GET', `/v1/executions/${fixedRun}/settlements`);
        expect(refused.status).toBe(404);
        expect(errorCode(refused)).toBe('not_found');
      }

      // The publisher: the statements that paid it, its own lines, C, P and F; not the buyer nor the envelope.
      const paid = await server.client(acme).ledgerSettlements();
      const mine = paid.settlements.find((x) => x.execution_id === fixedRun)!;
      expect(mine).toEqual({
        execution_id: fixedRun,
        revision: 1,
        listing_id: fixed.id,
        outcome: 'completed',
        settled_at: statement!.settled_at,
        log_index: statement!.log_index,
        publisher: 'acme',
        compute_cost: 200,
        price: PRICE,
        fee,
        postings: [{ account: 'acme', amount: PRICE - fee - 200, why: 'proceeds' }],
      });
      expect(JSON.stringify(paid)).not.toContain('"bob"');
      // A worker key whose principal nothing paid sees none; an admin sees sys:compute's in full.
      expect((await server.client(worker).ledgerSettlements()).settlements).toEqual([]);
      const compute = await server.client(server.adminKey).ledgerSettlements({ principal: 'sys:compute', limit: 1 });
      expect(compute.settlements).toHaveLength(1);
      expect(compute.settlements[0]!.envelope).toBeDefined();
      expect(compute.next_cursor).toBeDefined();
      const next = await server
        .client(server.adminKey)
        .ledgerSettlements({ principal: 'sys:compute', limit: 1, cursor: compute.next_cursor! });
      expect(next.settlements[0]!.execution_id).not.toBe(compute.settlements[0]!.execution_id);
      expect((await as(eve, 'GET', '/v1/ledger/settlements?principal=acme')).status).toBe(404);
      expect((await as(acme, 'GET', '/v1/ledger/settlements?cursor=nonsense')).status).toBe(400);
    });

    it('metrics: holds outstanding and held micro-units while a run holds, settlements by outcome once it ends', async () => {
      const metric = async (name: string): Promise<number> => {
        const text = (await as(server.adminKey, 'GET', '/metrics')).text;
        const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
        return line === undefined ? 0 : Number(line.split(' ').at(-1));
      };
      expect(await metric('verity_holds_outstanding')).toBe(0);
      expect(await metric('verity_held_micro_units')).toBe(0);
      const completed = await metric('verity_settlements_total{outcome="completed"}');
      expect(completed).toBeGreaterThanOrEqual(3);

      const slow = await create({
        workflow_id: 'buy-slow',
        title: 'Slow',
        execution_price: PRICE,
        pricing: { model: 'per_execution' },
      });
      await credit('bob', PRICE);
      const started = await execute(bob, slow.id, { inputs: {} });
      expect(started.status, started.text).toBe(202);
      const executionId = (started.json as { executionId: string }).executionId;
      expect(await metric('verity_holds_outstanding')).toBe(1);
      expect(await metric('verity_held_micro_units')).toBe(PRICE);

      // Cancelled by the buyer once step a ran: bob pays C = 120 to the workers, the rest goes back.
      const client = server.client(bob);
      for (let i = 0; i < 200; i++) {
        const view = await client.status(executionId);
        if (view.steps.some((step) => step.id === 'a' && step.status === 'completed')) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const before = await balance('bob');
      expect((await as(bob, 'POST', `/v1/executions/${executionId}/cancel`, {})).status).toBe(200);
      expect(await settled(bob, executionId)).toBe('cancelled');
      expect(await balance('bob')).toEqual({ principal: 'bob', available: before.available + PRICE - 120, held: 0 });
      expect(await metric('verity_holds_outstanding')).toBe(0);
      expect(await metric('verity_held_micro_units')).toBe(0);
      expect(await metric('verity_settlements_total{outcome="cancelled"}')).toBe(1);
      expect(await metric('verity_settlements_total{outcome="completed"}')).toBe(completed);

      // Settling the same revision again (a replayed end) posts nothing and counts nothing.
      const { node } = server.test;
      const record = (await node.store.read.getExecution(executionId))!;
      const receipt = (await node.store.read.listReceipts(executionId)).at(-1)!;
      await node.store.transaction((tx) => node.engine['hooks']!.ended(tx, record, receipt, Date.now()));
      expect(await node.store.read.listMarketSettlements(executionId)).toHaveLength(1);
      expect(await metric('verity_settlements_total{outcome="cancelled"}')).toBe(1);
    });

    it('a failed run costs the buyer nothing and the publisher carries C, counted as failed', async () => {
      const failing = await create({
        workflow_id: 'buy-failing',
        title: 'Fails',
        execution_price: PRICE,
        pricing: { model: 'per_execution' },
      });
      await credit('bob', PRICE);
      const [bob0, acme0, compute0] = await Promise.all(['bob', 'acme', 'sys:compute'].map(balance));
      const started = await execute(bob, failing.id, { inputs: {} });
      expect(started.status, started.text).toBe(202);
      const executionId = (started.json as { executionId: string }).executionId;
      expect(await settled(bob, executionId)).toBe('failed');
      expect(await balance('bob')).toEqual(bob0);
      expect((await balance('acme')).available).toBe(acme0!.available - 120);
      expect((await balance('sys:compute')).available).toBe(compute0!.available + 120);
      const [statement] = await server.client(bob).settlements(executionId);
      expect(statement).toMatchObject({ outcome: 'failed', compute_cost: 120, price: 0, fee: 0 });
      const text = (await as(server.adminKey, 'GET', '/metrics')).text;
      expect(text).toContain('verity_settlements_total{outcome="failed"} 1');
    });
  });

  describe.skipIf(!(await backendAvailable(kind)))(`a remote worker paid by a run (${kind})`, () => {
    let server: TestServer;
    beforeAll(async () => {
      // No in-process workers: the step goes to the remote worker below, whose key's principal is paid.
      server = await startTestServer(kind, 'market-buy-worker', {
        node: { workers: 0 },
        server: { closeGraceMs: 200 },
      });
    });
    afterAll(() => server?.close());

    it("sees the statement that paid it, its own line only: not the buyer, the price nor the buyer's execution", async () => {
      const workerKey = await server.key('rig', 'worker');
      const rig = await new HttpWorker(server.url, workerKey).register();
      const acme = await server.key('acme', 'publisher');
      const bob = await server.key('bob', 'client');
      const flow = { id: 'buy-remote', name: 'remote', version: 1, steps: [echo('a')], max_cost_budget: 1_000_000 };
      expect((await call(server.url, 'POST', '/v1/workflows', { key: acme, json: flow })).status).toBe(201);
      const listed = await call(server.url, 'POST', '/v1/market/listings', {
        key: acme,
        json: {
          workflow_id: 'buy-remote',
          title: 'Remote',
          execution_price: PRICE,
          pricing: { model: 'per_execution' },
        },
      });
      expect(listed.status, listed.text).toBe(201);
      const credited = await call(server.url, 'POST', '/v1/ledger/credit', {
        key: server.adminKey,
        json: { principal: 'bob', amount: PRICE },
      });
      expect(credited.status).toBe(201);
      const started = await call(
        server.url,
        'POST',
        `/v1/market/listings/${(listed.json as { id: string }).id}/execute`,
        {
          key: bob,
          json: { inputs: {} },
        },
      );
      expect(started.status, started.text).toBe(202);
      const executionId = (started.json as { executionId: string }).executionId;
      const job = await rig.claimJob(executionId);
      expect((await rig.complete(job, { attestation: rig.attest(job, job.input, { cost: 30 }) })).status).toBe(200);
      expect((await server.client(bob).waitFor(executionId)).status).toBe('completed');

      const fee = Math.floor((PRICE * FEE_BPS) / 10_000);
      expect((await call(server.url, 'GET', '/v1/ledger/balance', { key: workerKey })).json).toEqual({
        principal: 'rig',
        available: 30,
        held: 0,
      });
      const seen = await server.client(workerKey).ledgerSettlements();
      expect(seen.settlements).toEqual([
        {
          execution_id: executionId,
          revision: 1,
          listing_id: (listed.json as { id: string }).id,
          outcome: 'completed',
          settled_at: expect.any(String) as string,
          log_index: expect.any(Number) as number,
          postings: [{ account: 'rig', amount: 30, why: 'compute' }],
        },
      ]);
      expect(JSON.stringify(seen)).not.toContain('bob');
      // The buyer's execution itself stays out of reach of the worker's key.
      expect(
        (await call(server.url, 'GET', `/v1/executions/${executionId}/settlements`, { key: workerKey })).status,
      ).toBe(403);
      // The publisher's own view: its part P − F − C.
      const publisher = await server.client(acme).ledgerSettlements();
      expect(publisher.settlements[0]!.postings).toEqual([
        { account: 'acme', amount: PRICE - fee - 30, why: 'proceeds' },
      ]);
    });
  });
}
