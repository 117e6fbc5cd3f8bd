import { describe, expect, it } from 'vitest';
import { clientError } from '../../../src/api/errors.js';
import { ApiKeys } from '../../../src/auth/api-keys.js';
import { AuthError } from '../../../src/auth/errors.js';
import { EXTERNAL_ACCOUNT, PLATFORM_ACCOUNT } from '../../../src/ledger/accounts.js';
import { LedgerError } from '../../../src/ledger/errors.js';
import { creditOf, holdOf, payoutOf, postTransaction, releaseOf, settlementOf } from '../../../src/ledger/ledger.js';
import type { NewLedgerTransaction, PostOptions, Posted } from '../../../src/ledger/ledger.js';
import type { Store } from '../../../src/store/store.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { rawQuery, T0, useStore } from './fixtures.js';

/** Posts one transaction in a transaction of its own. */
function post(store: Store, transaction: NewLedgerTransaction, options: PostOptions = {}): Promise<Posted> {
  return store.transaction((tx) => postTransaction(tx, transaction, { now: T0, ...options }));
}

/** Every table the ledger writes, in full: what a refused transaction must leave as it was. */
async function ledgerRows(h: { backend: Parameters<typeof rawQuery>[0] }): Promise<unknown[]> {
  return [
    await rawQuery(h.backend, 'SELECT * FROM ledger_accounts ORDER BY account'),
    await rawQuery(h.backend, 'SELECT * FROM ledger_transactions ORDER BY id'),
    await rawQuery(h.backend, 'SELECT * FROM ledger_postings ORDER BY transaction_id, position'),
  ].map((rows) => JSON.parse(JSON.stringify(rows)) as unknown);
}

async function refusal(promise: Promise<unknown>): Promise<LedgerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LedgerError);
  return error as LedgerError;
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`store: the ledger (${kind})`, () => {
    const h = useStore(kind, 'ledger');

    it('credits an account from sys:external; balances start at zero', async () => {
      const { store } = h;
      expect(await store.read.getLedgerBalance('alice')).toEqual({ account: 'alice', available: 0, held: 0 });
      const { transaction, replayed } = await post(store, creditOf('alice', 1_000_000, 'top-up-1'));
      expect(replayed).toBe(false);
      expect(transaction).toMatchObject({ kind: 'credit', idempotencyKey: 'top-up-1', createdAt: T0 });
      expect(await store.read.getLedgerBalance('alice')).toEqual({ account: 'alice', available: 1_000_000, held: 0 });
      expect(await store.read.getLedgerBalance(EXTERNAL_ACCOUNT)).toMatchObject({ available: -1_000_000, held: 0 });
      expect(await store.read.findLedgerTransaction('top-up-1')).toEqual(transaction);
      expect(await store.read.checkLedger()).toMatchObject({ ok: true, accounts: 2, transactions: 1 });
    });

    it('holds, releases and settles: held money goes to the payees, the rest back to available', async () => {
      const { store } = h;
      await post(store, creditOf('buyer', 1000, 'c1'));
      const ref = { executionId: 'exec-1', revision: 0, listingId: 'listing-1' };
      await post(store, holdOf('buyer', 600, 'hold:exec-1', ref));
      expect(await store.read.getLedgerBalance('buyer')).toMatchObject({ available: 400, held: 600 });
      const settled = await post(
        store,
        settlementOf(
          'buyer',
          [
            { account: 'publisher', amount: 300, reason: 'price less fee and compute' },
            { account: 'worker-1', amount: 150, reason: 'attested compute' },
            { account: PLATFORM_ACCOUNT, amount: 50, reason: 'fee' },
          ],
          'settle:exec-1:0',
          ref,
        ),
      );
      expect(settled.transaction).toMatchObject(ref);
      await post(store, releaseOf('buyer', 100, 'release:exec-1', ref));
      expect(await store.read.getLedgerBalance('buyer')).toMatchObject({ available: 500, held: 0 });
      expect(await store.read.getLedgerBalance('publisher')).toMatchObject({ available: 300, held: 0 });
      expect(await store.read.getLedgerBalance('worker-1')).toMatchObject({ available: 150 });
      expect(await store.read.getLedgerBalance(PLATFORM_ACCOUNT)).toMatchObject({ available: 50 });
      // A release of more than is held is refused.
      const error = await refusal(post(store, releaseOf('buyer', 1, 'release-too-much')));
      expect(error.code).toBe('insufficient_funds');
      expect(error.context).toMatchObject({ account: 'buyer', bucket: 'held', missing: 1 });

      // The buyer's history, newest first, each transaction with all its postings, paged by cursor.
      const first = await store.read.listLedgerTransactions('buyer', { limit: 2 });
      expect(first.transactions.map((t) => t.idempotencyKey)).toEqual(['release:exec-1', 'settle:exec-1:0']);
      expect(first.transactions[1]!.postings).toHaveLength(4);
      expect(first.cursor).toBeDefined();
      const second = await store.read.listLedgerTransactions('buyer', { limit: 2, cursor: first.cursor! });
      expect(second.transactions.map((t) => t.idempotencyKey)).toEqual(['hold:exec-1', 'c1']);
      expect(second.cursor).toBeUndefined();
      expect(
        (await store.read.listLedgerTransactions('worker-1', { limit: 10 })).transactions.map((t) => t.kind),
      ).toEqual(['settlement']);
      await expect(store.read.listLedgerTransactions('buyer', { limit: 2, cursor: 'nope' })).rejects.toMatchObject({
        code: 'invalid_cursor',
      });
      expect(await store.read.checkLedger()).toMatchObject({ ok: true, mismatches: [], unbalanced: [] });
    });

    it('replays an idempotency key with the same content, and refuses it with other content', async () => {
      const { store } = h;
      const first = await post(store, creditOf('alice', 500, 'k1'));
      const rows = await ledgerRows(h);
      const again = await post(store, creditOf('alice', 500, 'k1'), { now: T0 + 60_000 });
      expect(again).toEqual({ transaction: first.transaction, replayed: true });
      expect(await ledgerRows(h)).toEqual(rows);
      const error = await refusal(post(store, creditOf('alice', 501, 'k1')));
      expect(error.code).toBe('idempotency_conflict');
      expect(error.message).toContain('"k1"');
      expect(clientError(error)?.status).toBe(409);
      // Another reference is other content too.
      expect((await refusal(post(store, creditOf('alice', 500, 'k1', { executionId: 'x' })))).code).toBe(
        'idempotency_conflict',
      );
      expect(await ledgerRows(h)).toEqual(rows);
    });

    it('refuses what would overdraw an account, says how much is missing, and writes nothing', async () => {
      const { store } = h;
      await post(store, creditOf('alice', 70, 'c'));
      const rows = await ledgerRows(h);
      const error = await refusal(post(store, holdOf('alice', 100, 'h')));
      expect(error.code).toBe('insufficient_funds');
      expect(error.context).toMatchObject({ account: 'alice', bucket: 'available', missing: 30, balance: 70 });
      expect(error.message).toContain('30');
      expect(clientError(error)).toMatchObject({ status: 402, body: { error: { code: 'insufficient_funds' } } });
      // A payout to an account nothing touched: not even its account row is kept.
      expect((await refusal(post(store, payoutOf('nobody', 1, 'p')))).code).toBe('insufficient_funds');
      // Refused inside a larger transaction: the caller's other writes roll back with it.
      await expect(
        store.transaction(async (tx) => {
          await postTransaction(tx, creditOf('bob', 5, 'c-bob'));
          await postTransaction(tx, holdOf('alice', 71, 'h2'));
        }),
      ).rejects.toMatchObject({ code: 'insufficient_funds' });
      expect(await ledgerRows(h)).toEqual(rows);
      expect(await store.read.findLedgerTransaction('h')).toBeUndefined();
    });

    it('lets only the accounts the caller allows go below zero in available, and never in held', async () => {
      const { store } = h;
      const allowNegative = (account: string) => account === EXTERNAL_ACCOUNT || account === 'publisher';
      // sys:external goes negative by default: it is the other side of every top-up.
      await post(store, creditOf('buyer', 100, 'c'));
      // A publisher carrying a failed run's compute may go negative when the caller says so...
      const failure = {
        idempotencyKey: 'failure-compute',
        kind: 'settlement' as const,
        postings: [
          { account: 'publisher', bucket: 'available' as const, amount: -40, reason: 'compute of a failed run' },
          { account: 'worker', bucket: 'available' as const, amount: 40, reason: 'attested compute' },
        ],
      };
      expect((await refusal(post(store, failure))).code).toBe('insufficient_funds');
      await post(store, failure, { allowNegative });
      expect(await store.read.getLedgerBalance('publisher')).toMatchObject({ available: -40 });
      // ...and may receive while negative, but never withdraw.
      await post(store, creditOf('publisher', 10, 'c-pub'));
      expect(await store.read.getLedgerBalance('publisher')).toMatchObject({ available: -30 });
      expect((await refusal(post(store, payoutOf('publisher', 1, 'p-pub')))).code).toBe('insufficient_funds');
      // Held never goes negative, whoever may.
      const heldBelowZero = {
        idempotencyKey: 'held-negative',
        kind: 'release' as const,
        postings: [
          { account: 'publisher', bucket: 'held' as const, amount: -1, reason: 'release' },
          { account: 'publisher', bucket: 'available' as const, amount: 1, reason: 'release' },
        ],
      };
      expect((await refusal(post(store, heldBelowZero, { allowNegative }))).context).toMatchObject({
        bucket: 'held',
        missing: 1,
      });
      expect(await store.read.checkLedger()).toMatchObject({ ok: true });
    });

    it('refuses transactions that do not sum to zero, and amounts that are not non-zero safe integers', async () => {
      const { store } = h;
      const rows = await ledgerRows(h);
      const unbalanced = {
        idempotencyKey: 'u',
        kind: 'credit' as const,
        postings: [
          { account: EXTERNAL_ACCOUNT, bucket: 'available' as const, amount: -100, reason: 'credit' },
          { account: 'alice', bucket: 'available' as const, amount: 101, reason: 'credit' },
        ],
      };
      const error = await refusal(post(store, unbalanced));
      expect(error.code).toBe('unbalanced_transaction');
      expect(error.message).toContain('sum to 1');
      expect(clientError(error)?.status).toBe(400);
      // Sums are exact: two amounts near 2^53 that a float sum would call balanced are not.
      const near = Number.MAX_SAFE_INTEGER;
      expect(
        (
          await refusal(
            post(store, {
              idempotencyKey: 'float',
              kind: 'credit',
              postings: [
                { account: EXTERNAL_ACCOUNT, bucket: 'available', amount: -near, reason: 'x' },
                { account: 'alice', bucket: 'available', amount: near - 1, reason: 'x' },
                { account: 'bob', bucket: 'available', amount: 2, reason: 'x' },
              ],
            }),
          )
        ).code,
      ).toBe('unbalanced_transaction');
      for (const amount of [0, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Infinity, '5' as unknown as number]) {
        const bad = await refusal(post(store, creditOf('alice', amount, `bad-${String(amount)}`)));
        expect(bad.code).toBe('invalid_transaction');
        expect(bad.message).toMatch(/postings\[[01]\]\.amount/);
      }
      const one = { account: 'alice', bucket: 'available' as const, amount: 1, reason: 'x' };
      const cases: [unknown, RegExp][] = [
        [{ idempotencyKey: '', kind: 'credit', postings: [one, one] }, /idempotencyKey/],
        [{ idempotencyKey: 'k', kind: 'gift', postings: [one, one] }, /kind/],
        [{ idempotencyKey: 'k', kind: 'credit', postings: [one] }, /2 to/],
        [{ idempotencyKey: 'k', kind: 'credit', postings: [{ ...one, bucket: 'spare' }, one] }, /bucket/],
        [{ idempotencyKey: 'k', kind: 'credit', postings: [{ ...one, account: 'sys:other' }, one] }, /account/],
        [{ idempotencyKey: 'k', kind: 'credit', postings: [{ ...one, reason: '' }, one] }, /reason/],
        [{ idempotencyKey: 'k', kind: 'credit', revision: -1, postings: [one, one] }, /revision/],
      ];
      for (const [input, message] of cases) {
        const bad = await refusal(post(store, input as NewLedgerTransaction));
        expect(bad.code).toBe('invalid_transaction');
        expect(bad.message).toMatch(message);
      }
      // A balance past the safe integers is refused too.
      await post(store, creditOf('alice', Number.MAX_SAFE_INTEGER, 'big-1'));
      const rowsBefore = await ledgerRows(h);
      expect((await refusal(post(store, creditOf('alice', 1, 'big-2')))).code).toBe('invalid_transaction');
      expect(await ledgerRows(h)).toEqual(rowsBefore);
      expect(rows).toEqual([[], [], []]);
    });

    it('finds cached balances that differ from the postings, and transactions that do not balance', async () => {
      const { store } = h;
      await post(store, creditOf('alice', 100, 'c'));
      expect((await store.read.checkLedger()).ok).toBe(true);
      await rawQuery(h.backend, "UPDATE ledger_accounts SET held = 7 WHERE account = 'alice'");
      await rawQuery(h.backend, "UPDATE ledger_postings SET amount = -99 WHERE account = 'sys:external'");
      const report = await store.read.checkLedger();
      const id = (await store.read.findLedgerTransaction('c'))!.id;
      expect(report).toEqual({
        ok: false,
        accounts: 2,
        transactions: 1,
        mismatches: [
          { account: 'alice', cached: { available: '100', held: '7' }, computed: { available: '100', held: '0' } },
          {
            account: EXTERNAL_ACCOUNT,
            cached: { available: '-100', held: '0' },
            computed: { available: '-99', held: '0' },
          },
        ],
        unbalanced: [{ transactionId: id, sum: '1', postings: 2 }],
      });
    });

    it('refuses API key names in the system namespace, naming the field', async () => {
      const keys = new ApiKeys(h.store);
      for (const name of ['sys:platform', 'sys:external', 'sys:anything', 'a:b']) {
        const error = await keys.create(name, 'client').then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(AuthError);
        expect((error as AuthError).message).toContain(`principal "${name}"`);
        expect((error as AuthError).message).toContain('reserved');
        expect(clientError(error)).toMatchObject({ status: 400, body: { error: { code: 'validation' } } });
      }
      expect(await h.store.read.listApiKeys()).toEqual([]);
      await expect(keys.create('sys-platform', 'client')).resolves.toBeDefined();
    });

    it('never overdraws an account under concurrent holds from two stores', async () => {
      const a = h.store;
      const b = await h.open();
      await post(a, creditOf('buyer', 100, 'c'));
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => post(i % 2 === 0 ? a : b, holdOf('buyer', 10, `hold-${i}`))),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
      for (const r of refused) expect(r.reason).toMatchObject({ code: 'insufficient_funds' });
      expect(await a.read.getLedgerBalance('buyer')).toMatchObject({ available: 0, held: 100 });
      expect(await b.read.checkLedger()).toMatchObject({ ok: true, transactions: 11 });
    });

    it('posts a key once when two stores post it at the same time: the others are replays', async () => {
      const a = h.store;
      const b = await h.open();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => post(i % 2 === 0 ? a : b, creditOf('alice', 250, 'same-key'))),
      );
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect(new Set(results.map((r) => r.transaction.id)).size).toBe(1);
      expect(await a.read.getLedgerBalance('alice')).toMatchObject({ available: 250, held: 0 });
      expect(await b.read.checkLedger()).toMatchObject({ ok: true, transactions: 1 });
    });
  });
}
