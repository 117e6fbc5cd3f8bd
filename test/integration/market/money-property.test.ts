import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPUTE_ACCOUNT, EXTERNAL_ACCOUNT, PLATFORM_ACCOUNT } from '../../../src/ledger/accounts.js';
import { EngineError } from '../../../src/engine/errors.js';
import { MarketError } from '../../../src/market/errors.js';
import { LedgerError } from '../../../src/ledger/errors.js';
import { creditPrincipal } from '../../../src/ledger/operations.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { listWorkflow, marketBundle, settleAgain } from '../../support/market.js';
import type { TestListing } from '../../support/market.js';
import { echo, sleepStep, startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { decode, verify } from '../receipts/support.js';
import type { SettlementPredicate } from '../../../src/attest/settlement/statement.js';

/**
 * The marketplace's money over random sequences, on a real node over both stores: buyers are credited and
 * run through a per_execution and a per_usage listing, through a listing whose agent fails, and through a
 * slow one they cancel; failed and cancelled runs are retried. After each sequence every transaction
 * balances, the ledger check finds nothing, no buyer's balance is negative (only publishers and the
 * system's external and platform accounts may be), all accounts sum to zero, every settled run's bundle
 * verifies with its settlement checks, every balance is the credits plus the postings the signed statements
 * name, nothing stays held once the runs have ended, and settling a revision again changes nothing.
 *
 * npm test runs a few sequences; VERITY_MONEY_RUNS=200 runs more.
 */
const RUNS = Number(process.env.VERITY_MONEY_RUNS ?? 0) || undefined;
const BUYERS = ['buyer-a', 'buyer-b'] as const;
const PUBLISHERS = ['pub-fixed', 'pub-usage', 'pub-failing', 'pub-slow'] as const;
const LISTINGS = ['fixed', 'usage', 'failing', 'slow'] as const;
type ListingName = (typeof LISTINGS)[number];

const cost = (id: string, c: number, extra: Record<string, unknown> = {}) =>
  echo(id, { input_mappings: { cost: String(c) }, ...extra });

const op = fc.oneof(
  fc.record({
    type: fc.constant('credit' as const),
    buyer: fc.constantFrom(...BUYERS),
    amount: fc.integer({ min: 1, max: 3_000 }),
  }),
  fc.record({
    type: fc.constant('run' as const),
    buyer: fc.constantFrom(...BUYERS),
    listing: fc.constantFrom(...LISTINGS),
    maxPrice: fc.option(fc.integer({ min: 1, max: 2_000 }), { nil: undefined }),
  }),
  fc.record({
    type: fc.constant('cancel' as const),
    buyer: fc.constantFrom(...BUYERS),
    afterMs: fc.integer({ min: 0, max: 150 }),
  }),
  fc.record({ type: fc.constant('retry' as const), index: fc.nat() }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/**
 * An expected refusal: short of funds, a fixed price above the buyer's max_price, or a state that does not
 * allow the action (the run ended already). Anything else fails the sequence.
 */
function expectRefusal(error: unknown): void {
  if (error instanceof LedgerError) expect(error.code).toBe('insufficient_funds');
  else if (error instanceof MarketError) expect(error.context).toMatchObject({ field: 'max_price' });
  else if (error instanceof EngineError) expect(error.code).toBe('invalid_state');
  else throw error;
}

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`marketplace money over random sequences (${kind})`, () => {
    let t: TestNode;
    let listings: Record<ListingName, TestListing>;
    const executions = new Set<string>();
    const credited = new Map<string, number>();

    beforeAll(async () => {
      t = await startTestNode(kind, 'money-property');
      listings = {
        fixed: await listWorkflow(t, [cost('a', 120), cost('b', 80, { depends_on: ['a'] })], {
          publisher: 'pub-fixed',
          price: 1_000,
        }),
        usage: await listWorkflow(t, [cost('a', 300), cost('b', 45, { depends_on: ['a'] })], {
          publisher: 'pub-usage',
          pricing: { model: 'per_usage', markup_bps: 2_000, max_price: 2_500 },
        }),
        failing: await listWorkflow(
          t,
          [
            cost('a', 100),
            echo('b', {
              depends_on: ['a'],
              model_requirements: { name: 'builtin/fail' },
              input_mappings: { retryable: 'false' },
            }),
          ],
          { publisher: 'pub-failing', price: 700 },
        ),
        slow: await listWorkflow(t, [cost('a', 60), sleepStep('b', 400, { depends_on: ['a'] })], {
          publisher: 'pub-slow',
          price: 900,
        }),
      };
    }, 60_000);
    afterAll(() => t?.close());

    async function step(o: Op, started: string[]): Promise<void> {
      const attempt = async (action: () => Promise<void>) => action().catch(expectRefusal);
      switch (o.type) {
        case 'credit':
          await creditPrincipal(t.node.store, { principal: o.buyer, amount: o.amount });
          credited.set(o.buyer, (credited.get(o.buyer) ?? 0) + o.amount);
          return;
        case 'run':
          return attempt(async () => {
            const run = await listings[o.listing].run(
              o.buyer,
              o.maxPrice === undefined ? {} : { maxPrice: o.maxPrice },
            );
            started.push(run.id);
            await t.node.waitFor(run.id, 20);
          });
        case 'cancel':
          return attempt(async () => {
            const run = await listings.slow.run(o.buyer);
            started.push(run.id);
            await new Promise((resolve) => setTimeout(resolve, o.afterMs));
            await t.node.engine.cancel(run.id, `client:${o.buyer}`).catch(expectRefusal);
            await t.node.waitFor(run.id, 20);
          });
        case 'retry': {
          if (started.length === 0) return;
          const id = started[o.index % started.length]!;
          const execution = (await t.node.store.read.getExecution(id))!;
          return attempt(async () => {
            await t.node.engine.retry(id, execution.clientId);
            await t.node.waitFor(id, 20);
          });
        }
      }
    }

    const accounts = () => [...BUYERS, ...PUBLISHERS, COMPUTE_ACCOUNT, PLATFORM_ACCOUNT, EXTERNAL_ACCOUNT];
    const balances = async () =>
      Promise.all(accounts().map(async (a) => ({ ...(await t.node.store.read.getLedgerBalance(a)), account: a })));
    const mayBeNegative = (account: string) =>
      (PUBLISHERS as readonly string[]).includes(account) ||
      account === EXTERNAL_ACCOUNT ||
      account === PLATFORM_ACCOUNT;

    async function expectInvariants(): Promise<void> {
      const report = await t.node.store.read.checkLedger();
      expect(report.mismatches).toEqual([]);
      expect(report.unbalanced).toEqual([]);
      expect(report.ok).toBe(true);
      let total = 0n;
      for (const b of await balances()) {
        total += BigInt(b.available) + BigInt(b.held);
        // Every run of the sequence has ended, so nothing is still held for one.
        expect(b.held, `${b.account} held`).toBe(0);
        if (!mayBeNegative(b.account)) expect(b.available, `${b.account} available`).toBeGreaterThanOrEqual(0);
      }
      // Every account the market can touch is listed, so their sum is the whole ledger's: zero.
      expect(total).toBe(0n);
      for (const account of accounts()) {
        const page = await t.node.store.read.listLedgerTransactions(account, { limit: 200 });
        for (const tx of page.transactions)
          expect(
            tx.postings.reduce((sum, p) => sum + BigInt(p.amount), 0n),
            tx.idempotencyKey,
          ).toBe(0n);
      }
    }

    /** Every balance is what was credited plus the postings of every settlement statement signed so far. */
    async function expectBalancesAreSettlements(): Promise<void> {
      const expected = new Map<string, number>(credited);
      expected.set(EXTERNAL_ACCOUNT, 0 - [...credited.values()].reduce((a, b) => a + b, 0));
      for (const id of executions)
        for (const s of await t.node.store.read.listMarketSettlements(id))
          for (const p of decode<SettlementPredicate>(s.envelope).predicate.postings)
            expected.set(p.account, (expected.get(p.account) ?? 0) + p.amount);
      for (const b of await balances()) expect(b.available, b.account).toBe(expected.get(b.account) ?? 0);
    }

    async function expectSettledOnce(executionId: string): Promise<void> {
      const execution = (await t.node.store.read.getExecution(executionId))!;
      const receipts = await t.node.store.read.listReceipts(executionId);
      const settlements = await t.node.store.read.listMarketSettlements(executionId);
      // One settlement per receipt revision, in order.
      expect(settlements.map((s) => s.revision)).toEqual(receipts.map((r) => r.revision).sort((a, b) => a - b));
      if (settlements.length === 0) return;
      const report = await verify(await marketBundle(t, executionId), [t.node.coordinatorSigner.publicKeyPem]);
      expect(
        report.checks.filter((c) => !c.ok),
        `${executionId} (${execution.status})`,
      ).toEqual([]);
      expect(report.checks.filter((c) => c.name.startsWith('settlement.')).length).toBeGreaterThan(0);

      const before = await balances();
      await settleAgain(t, executionId);
      expect(await t.node.store.read.listMarketSettlements(executionId)).toHaveLength(settlements.length);
      expect(await balances()).toEqual(before);
    }

    it('keeps every money invariant over random sequences of credits, runs, failures, cancellations and retries', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
          const started: string[] = [];
          for (const o of ops) await step(o, started);
          for (const id of started) executions.add(id);
          await expectInvariants();
          await expectBalancesAreSettlements();
          for (const id of new Set(started)) await expectSettledOnce(id);
        }),
        { numRuns: RUNS ?? (kind === 'sqlite' ? 20 : 15), endOnFailure: true },
      );
      // The sequences did exercise the money: runs were started and most settled.
      expect(executions.size).toBeGreaterThan(0);
      const outcomes: Record<string, number> = {};
      for (const id of executions)
        for (const s of await t.node.store.read.listMarketSettlements(id)) {
          const key = `${decode<SettlementPredicate>(s.envelope).predicate.outcome}@${s.revision}`;
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        }
      // Something settled (sequences of credits alone would prove nothing about settling).
      expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    }, 600_000);
  });
}
