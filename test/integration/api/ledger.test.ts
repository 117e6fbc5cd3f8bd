import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerityApiError } from '../../../src/sdk/client.js';
import { call, errorCode } from '../../support/api-http.js';
import type { RawResponse } from '../../support/api-http.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';

interface Balance {
  principal: string;
  available: number;
  held: number;
}
interface Transaction {
  id: string;
  kind: string;
  postings: { account: string; bucket: string; amount: number; reason: string }[];
}

/** The ledger's routes over real HTTP: who sees which balance and transactions, and what admins may move. */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`the ledger API (${kind})`, () => {
    let server: TestServer;
    let alice: string;
    let bob: string;
    let publisher: string;
    let worker: string;

    beforeAll(async () => {
      server = await startTestServer(kind, 'ledger-api', { node: { workers: 0 } });
      alice = await server.key('alice', 'client');
      bob = await server.key('bob', 'client');
      publisher = await server.key('pub', 'publisher');
      worker = await server.key('wrk', 'worker');
    });
    afterAll(() => server?.close());

    const balanceOf = async (key: string, principal?: string): Promise<RawResponse> =>
      call(server.url, 'GET', `/v1/ledger/balance${principal === undefined ? '' : `?principal=${principal}`}`, { key });
    const credit = (json: unknown, headers: Record<string, string> = {}) =>
      call(server.url, 'POST', '/v1/ledger/credit', { key: server.adminKey, json, headers });
    const payout = (json: unknown) => call(server.url, 'POST', '/v1/ledger/payout', { key: server.adminKey, json });
    const adminBalance = async (principal: string): Promise<Balance> =>
      (await balanceOf(server.adminKey, principal)).json as Balance;

    it('an admin credits a client, who sees its balance and its transaction, and no one else does', async () => {
      const credited = await credit({ principal: 'alice', amount: 5_000_000, memo: 'top-up' });
      expect(credited.status).toBe(201);
      const transaction = credited.json as Transaction;
      expect(transaction).toMatchObject({ kind: 'credit' });
      expect(transaction.postings).toEqual(
        expect.arrayContaining([
          { account: 'alice', bucket: 'available', amount: 5_000_000, reason: 'top-up' },
          { account: 'sys:external', bucket: 'available', amount: -5_000_000, reason: 'top-up' },
        ]),
      );

      const own = await balanceOf(alice);
      expect(own.status).toBe(200);
      expect(own.json).toEqual({ principal: 'alice', available: 5_000_000, held: 0 });
      expect((await balanceOf(alice, 'alice')).json).toEqual(own.json);

      const history = await call(server.url, 'GET', '/v1/ledger/transactions', { key: alice });
      expect(history.status).toBe(200);
      const page = history.json as { transactions: Transaction[]; next_cursor?: string };
      expect(page.transactions.map((t) => t.id)).toEqual([transaction.id]);
      // Only its own side: the client does not see sys:external's posting.
      expect(page.transactions[0]!.postings).toEqual([
        { account: 'alice', bucket: 'available', amount: 5_000_000, reason: 'top-up' },
      ]);

      expect((await balanceOf(bob)).json).toEqual({ principal: 'bob', available: 0, held: 0 });
      const bobs = await call(server.url, 'GET', '/v1/ledger/transactions', { key: bob });
      expect((bobs.json as { transactions: Transaction[] }).transactions).toEqual([]);
      // Another's account is a 404 for anyone but an admin, as another's execution is.
      for (const path of ['/v1/ledger/balance?principal=alice', '/v1/ledger/transactions?principal=alice']) {
        const refused = await call(server.url, 'GET', path, { key: bob });
        expect(refused.status).toBe(404);
        expect(errorCode(refused)).toBe('not_found');
        expect(refused.text).not.toContain('5000000');
      }

      // The admin sees any account, system ones too, with every posting.
      expect(await adminBalance('alice')).toEqual({ principal: 'alice', available: 5_000_000, held: 0 });
      expect((await adminBalance('sys:external')).available).toBe(-5_000_000);
      const adminView = await call(server.url, 'GET', '/v1/ledger/transactions?principal=alice', {
        key: server.adminKey,
      });
      expect((adminView.json as { transactions: Transaction[] }).transactions[0]!.postings).toHaveLength(2);
      const notAnAccount = await balanceOf(server.adminKey, 'bad%20name');
      expect(notAnAccount.status).toBe(400);
      expect(notAnAccount.text).toContain('query.principal');
    });

    it('publisher and worker keys see their own balance and transactions', async () => {
      expect((await credit({ principal: 'pub', amount: 7 })).status).toBe(201);
      expect((await credit({ principal: 'wrk', amount: 11 })).status).toBe(201);
      expect((await balanceOf(publisher)).json).toEqual({ principal: 'pub', available: 7, held: 0 });
      expect((await balanceOf(worker)).json).toEqual({ principal: 'wrk', available: 11, held: 0 });
      const seen = await server.client(worker).ledgerTransactions();
      expect(seen.transactions).toHaveLength(1);
      expect(seen.transactions[0]!.postings).toEqual([
        { account: 'wrk', bucket: 'available', amount: 11, reason: 'credit' },
      ]);
      expect((await balanceOf(worker, 'pub')).status).toBe(404);
    });

    it('pages transactions newest first with next_cursor', async () => {
      for (let i = 0; i < 3; i++) expect((await credit({ principal: 'paged', amount: i + 1 })).status).toBe(201);
      const key = await server.key('paged', 'client');
      const client = server.client(key);
      const first = await client.ledgerTransactions({ limit: 2 });
      expect(first.transactions.map((t) => t.postings[0]!.amount)).toEqual([3, 2]);
      expect(first.next_cursor).toBeDefined();
      const second = await client.ledgerTransactions({ limit: 2, cursor: first.next_cursor! });
      expect(second.transactions.map((t) => t.postings[0]!.amount)).toEqual([1]);
      expect(second.next_cursor).toBeUndefined();
      const bad = await call(server.url, 'GET', '/v1/ledger/transactions?cursor=nonsense', { key });
      expect(bad.status).toBe(400);
    });

    it('a payout beyond the available balance is a 402 saying how much is missing, and changes nothing', async () => {
      await credit({ principal: 'carol', amount: 100 });
      const before = await adminBalance('carol');
      const external = await adminBalance('sys:external');
      const refused = await payout({ principal: 'carol', amount: 150 });
      expect(refused.status).toBe(402);
      expect(errorCode(refused)).toBe('insufficient_funds');
      expect(refused.text).toContain('50 micro-units short');
      expect(await adminBalance('carol')).toEqual(before);
      expect(await adminBalance('sys:external')).toEqual(external);

      const paid = await payout({ principal: 'carol', amount: 60 });
      expect(paid.status).toBe(201);
      expect((paid.json as Transaction).kind).toBe('payout');
      expect((await adminBalance('carol')).available).toBe(40);
      expect((await adminBalance('sys:external')).available).toBe(external.available + 60);
    });

    it('bad amounts and principals are 400s naming the field, and change nothing', async () => {
      const before = await adminBalance('dave');
      const external = await adminBalance('sys:external');
      for (const amount of [1.5, 0, -3, Number.MAX_SAFE_INTEGER + 2, '10', null]) {
        for (const send of [credit, payout]) {
          const refused = await send({ principal: 'dave', amount });
          expect(refused.status, JSON.stringify(amount)).toBe(400);
          expect(errorCode(refused)).toBe('validation');
          expect(refused.text).toContain('body.amount');
        }
      }
      for (const principal of ['sys:platform', 'a:b', '', 'x'.repeat(65), 'bad name']) {
        const refused = await credit({ principal, amount: 1 });
        expect(refused.status, principal).toBe(400);
        expect(refused.text).toContain('body.principal');
      }
      const unknown = await credit({ principal: 'dave', amount: 1, extra: true });
      expect(unknown.status).toBe(400);
      expect(await adminBalance('dave')).toEqual(before);
      expect(await adminBalance('sys:external')).toEqual(external);
      expect((await server.context.node.store.read.checkLedger()).ok).toBe(true);
    });

    it('a replayed idempotency key returns the same transaction; other content with it is a 409', async () => {
      const first = await credit({ principal: 'erin', amount: 300 }, { 'idempotency-key': 'topup-1' });
      expect(first.status).toBe(201);
      const again = await credit({ principal: 'erin', amount: 300 }, { 'idempotency-key': 'topup-1' });
      expect(again.status).toBe(201);
      expect((again.json as Transaction).id).toBe((first.json as Transaction).id);
      // The field works as the header does.
      const byField = await credit({ principal: 'erin', amount: 300, idempotency_key: 'topup-1' });
      expect((byField.json as Transaction).id).toBe((first.json as Transaction).id);
      expect(await adminBalance('erin')).toEqual({ principal: 'erin', available: 300, held: 0 });

      for (const other of [
        { principal: 'erin', amount: 301 },
        { principal: 'frank', amount: 300 },
      ]) {
        const conflict = await credit(other, { 'idempotency-key': 'topup-1' });
        expect(conflict.status).toBe(409);
        expect(errorCode(conflict)).toBe('conflict');
      }
      const asPayout = await call(server.url, 'POST', '/v1/ledger/payout', {
        key: server.adminKey,
        json: { principal: 'erin', amount: 300, idempotency_key: 'topup-1' },
      });
      expect(asPayout.status).toBe(409);
      const disagree = await credit(
        { principal: 'erin', amount: 300, idempotency_key: 'a' },
        { 'idempotency-key': 'b' },
      );
      expect(disagree.status).toBe(400);
      expect(await adminBalance('erin')).toEqual({ principal: 'erin', available: 300, held: 0 });
      expect((await adminBalance('frank')).available).toBe(0);
    });

    it('only admins credit and pay out (403 for other roles)', async () => {
      for (const key of [alice, publisher, worker]) {
        for (const path of ['/v1/ledger/credit', '/v1/ledger/payout']) {
          const refused = await call(server.url, 'POST', path, { key, json: { principal: 'alice', amount: 1 } });
          expect(refused.status).toBe(403);
        }
      }
      expect((await balanceOf(alice)).json).toMatchObject({ available: 5_000_000 });
      const anonymous = await call(server.url, 'GET', '/v1/ledger/balance');
      expect(anonymous.status).toBe(401);
    });

    it('the SDK speaks the same routes', async () => {
      const admin = server.client(server.adminKey);
      const posted = await admin.credit({ principal: 'gina', amount: 42, idempotencyKey: 'sdk-1' });
      expect(posted.kind).toBe('credit');
      expect((await admin.credit({ principal: 'gina', amount: 42, idempotencyKey: 'sdk-1' })).id).toBe(posted.id);
      const gina = server.client(await server.key('gina', 'client'));
      expect(await gina.balance()).toEqual({ principal: 'gina', available: 42, held: 0 });
      expect(await admin.balance({ principal: 'gina' })).toEqual({ principal: 'gina', available: 42, held: 0 });
      await expect(admin.payout({ principal: 'gina', amount: 43 })).rejects.toMatchObject({
        status: 402,
      } satisfies Partial<VerityApiError>);
      expect((await admin.payout({ principal: 'gina', amount: 2 })).kind).toBe('payout');
      expect((await gina.balance()).available).toBe(40);
      await expect(gina.credit({ principal: 'gina', amount: 1 })).rejects.toMatchObject({ status: 403 });
    });
  });
}
