import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMPUTE_ACCOUNT, EXTERNAL_ACCOUNT, PLATFORM_ACCOUNT } from '../../../src/ledger/accounts.js';
import { LedgerError } from '../../../src/ledger/errors.js';
import { creditOf, holdOf, payoutOf, postTransaction, releaseOf, settlementOf } from '../../../src/ledger/ledger.js';
import type { NewLedgerTransaction } from '../../../src/ledger/ledger.js';
import { openStore } from '../../../src/store/open-store.js';
import type { LedgerBucket } from '../../../src/store/records.js';
import { BACKENDS, backendAvailable, createBackend } from '../../support/backends.js';
import { T0 } from './fixtures.js';

/**
 * Random sequences of credits, payouts, holds, releases, settlements (a completed run paying its payees from
 * the buyer's hold; a failed one whose compute the publisher carries) and replays of earlier keys, against a
 * model of the balances: every transaction balances, no balance goes below zero where it may not, all
 * accounts sum to zero, a replayed key changes nothing, and the ledger check finds nothing.
 */
const PUBLISHER = 'publisher';
const ACCOUNTS = ['buyer-a', 'buyer-b', PUBLISHER, 'worker', PLATFORM_ACCOUNT, COMPUTE_ACCOUNT] as const;
const BUYERS = ['buyer-a', 'buyer-b'] as const;
const PAYEES = [PUBLISHER, 'worker', PLATFORM_ACCOUNT, COMPUTE_ACCOUNT] as const;
const allowNegative = (account: string) => account === EXTERNAL_ACCOUNT || account === PUBLISHER;

const amount = fc.integer({ min: 1, max: 1000 });
const op = fc.oneof(
  fc.record({ type: fc.constant('credit' as const), account: fc.constantFrom(...ACCOUNTS), amount }),
  fc.record({ type: fc.constant('payout' as const), account: fc.constantFrom(...ACCOUNTS), amount }),
  fc.record({ type: fc.constant('hold' as const), account: fc.constantFrom(...BUYERS), amount }),
  fc.record({ type: fc.constant('release' as const), account: fc.constantFrom(...BUYERS), amount }),
  fc.record({
    type: fc.constant('settle' as const),
    account: fc.constantFrom(...BUYERS),
    payees: fc.array(fc.record({ account: fc.constantFrom(...PAYEES), amount: fc.integer({ min: 1, max: 300 }) }), {
      minLength: 1,
      maxLength: 3,
    }),
  }),
  fc.record({ type: fc.constant('failure' as const), account: fc.constant(PUBLISHER), amount }),
  fc.record({ type: fc.constant('replay' as const), index: fc.nat() }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

function transactionOf(o: Exclude<Op, { type: 'replay' }>, key: string): NewLedgerTransaction {
  switch (o.type) {
    case 'credit':
      return creditOf(o.account, o.amount, key);
    case 'payout':
      return payoutOf(o.account, o.amount, key);
    case 'hold':
      return holdOf(o.account, o.amount, key, { executionId: `exec-${key}` });
    case 'release':
      return releaseOf(o.account, o.amount, key);
    case 'settle':
      return settlementOf(
        o.account,
        o.payees.map((p) => ({ ...p, reason: 'share' })),
        key,
        { executionId: `exec-${key}`, revision: 0 },
      );
    case 'failure':
      return {
        idempotencyKey: key,
        kind: 'settlement',
        postings: [
          { account: o.account, bucket: 'available', amount: -o.amount, reason: 'compute of a failed run' },
          { account: 'worker', bucket: 'available', amount: o.amount, reason: 'attested compute' },
        ],
      };
  }
}

type Balances = Map<string, Record<LedgerBucket, bigint>>;

/** The model: the balances after a transaction, or undefined when the ledger must refuse it. */
function apply(model: Balances, transaction: NewLedgerTransaction): Balances | undefined {
  const next: Balances = new Map([...model].map(([a, b]) => [a, { ...b }]));
  const lowered = new Set<string>();
  for (const p of transaction.postings) {
    const balance = next.get(p.account) ?? { available: 0n, held: 0n };
    balance[p.bucket] += BigInt(p.amount);
    next.set(p.account, balance);
    if (p.amount < 0) lowered.add(`${p.account}/${p.bucket}`);
  }
  for (const [account, balance] of next) {
    for (const bucket of ['available', 'held'] as const) {
      const mayBeNegative = bucket === 'available' && allowNegative(account);
      if (balance[bucket] < 0n && !mayBeNegative && lowered.has(`${account}/${bucket}`)) return undefined;
    }
  }
  return next;
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`ledger properties (${kind})`, () => {
    it('keeps every invariant over random sequences of operations', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
          const backend = await createBackend(kind, 'ledger-prop');
          const store = await openStore({ dataDir: backend.dataDir, databaseUrl: backend.databaseUrl });
          try {
            let model: Balances = new Map();
            const posted: NewLedgerTransaction[] = [];
            const balancesNow = async () =>
              new Map(
                await Promise.all(
                  [...ACCOUNTS, EXTERNAL_ACCOUNT].map(async (a) => {
                    const b = await store.read.getLedgerBalance(a);
                    return [a, { available: BigInt(b.available), held: BigInt(b.held) }] as const;
                  }),
                ),
              );
            const expectModel = async () => {
              for (const [account, balance] of await balancesNow()) {
                expect(balance, account).toEqual(model.get(account) ?? { available: 0n, held: 0n });
              }
            };
            for (const [i, o] of ops.entries()) {
              if (o.type === 'replay') {
                if (posted.length === 0) continue;
                const again = posted[o.index % posted.length]!;
                const before = await balancesNow();
                const result = await store.transaction((tx) => postTransaction(tx, again, { allowNegative }));
                expect(result.replayed).toBe(true);
                expect(result.transaction).toEqual(await store.read.findLedgerTransaction(again.idempotencyKey));
                expect(await balancesNow()).toEqual(before);
                continue;
              }
              const transaction = transactionOf(o, `op-${i}`);
              const expected = apply(model, transaction);
              const outcome = await store
                .transaction((tx) => postTransaction(tx, transaction, { allowNegative, now: T0 + i }))
                .then(
                  (r) => r,
                  (e: unknown) => e,
                );
              if (expected === undefined) {
                expect(outcome).toBeInstanceOf(LedgerError);
                expect((outcome as LedgerError).code).toBe('insufficient_funds');
              } else {
                expect(outcome).toMatchObject({ replayed: false });
                model = expected;
                posted.push(transaction);
              }
              await expectModel();
            }
            const balances = await balancesNow();
            let total = 0n;
            for (const [account, b] of balances) {
              total += b.available + b.held;
              expect(b.held >= 0n, `${account} held`).toBe(true);
              if (!allowNegative(account)) expect(b.available >= 0n, `${account} available`).toBe(true);
            }
            expect(total).toBe(0n);
            for (const t of posted) {
              const stored = (await store.read.findLedgerTransaction(t.idempotencyKey))!;
              expect(stored.postings.reduce((sum, p) => sum + BigInt(p.amount), 0n)).toBe(0n);
            }
            expect(await store.read.checkLedger()).toEqual({
              ok: true,
              accounts: expect.any(Number) as number,
              transactions: posted.length,
              mismatches: [],
              unbalanced: [],
            });
          } finally {
            await store.close();
            await backend.cleanup();
          }
        }),
        { numRuns: kind === 'sqlite' ? 30 : 12 },
      );
    });
  });
}
