import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPUTE_ACCOUNT, EXTERNAL_ACCOUNT, PLATFORM_ACCOUNT } from '../../../src/ledger/accounts.js';
import { EngineError } from '../../../src/engine/errors.js';
import { MarketError } from '../../../src/market/errors.js';
import { LedgerError } from '../../../src/ledger/errors.js';
import { creditPrincipal } from '../../../src/ledger/operations.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { subscribe } from '../../../src/market/subscriptions.js';
import { MARKET_FEE_BPS, listWorkflow, marketBundle, settleAgain } from '../../support/market.js';
import type { TestListing } from '../../support/market.js';
import { echo, sleepStep, startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { decode, verify } from '../receipts/support.js';
import type { SettlementPredicate } from '../../../src/attest/settlement/statement.js';

/**
 * The marketplace's money over random sequences, on a real node over both stores: buyers are credited and
 * run through a per_execution and a per_usage listing, through a listing whose agent fails, and through a
 * slow one they cancel; subscribers subscribe to subscription listings (2 included runs; past them one
 * listing charges the execution price and one refuses; one of them has an agent that fails and one is slow
 * enough to cancel) and run through them; failed and cancelled runs are retried. After each sequence every transaction
 * balances, the ledger check finds nothing, no buyer's balance is negative (only publishers and the
 * system's external and platform accounts may be), all accounts sum to zero, every settled run's bundle
 * verifies with its settlement checks, every balance is the credits plus the postings the signed statements
 * name and the subscription charges, nothing stays held once the runs have ended, and settling a revision
 * again changes nothing. For subscriptions: each charge moves exactly subscription_price from the buyer
 * (the fee to sys:platform, the rest to the publisher) once; used_executions never exceeds
 * included_executions and is the number of included runs that did not come back (those that did not
 * complete give theirs back); an included run settles at price 0 and no fee (a cancelled one pays its compute
 * C, as any cancelled run does); a run is included exactly when its
 * subscription had an execution left, and refused past the quota only by the listing that refuses.
 *
 * npm test runs a few sequences; VERITY_MONEY_RUNS=200 runs more.
 */
const RUNS = Number(process.env.VERITY_MONEY_RUNS ?? 0) || undefined;
const BUYERS = ['buyer-a', 'buyer-b'] as const;
const PUBLISHERS = ['pub-fixed', 'pub-usage', 'pub-failing', 'pub-slow'] as const;
const LISTINGS = ['fixed', 'usage', 'failing', 'slow'] as const;
/** Subscription listings: past the quota `subCharge` (slow: its runs can be cancelled) charges E, `subRefuse` refuses; `subFailing`'s agent fails. */
const SUB_LISTINGS = ['subCharge', 'subRefuse', 'subFailing'] as const;
const SUB_PUBLISHERS = ['pub-sub-charge', 'pub-sub-refuse', 'pub-sub-failing'] as const;
type ListingName = (typeof LISTINGS)[number] | (typeof SUB_LISTINGS)[number];
/**
 * Subscribers by role: the principal behind each changes every few sequences, so that fresh subscriptions
 * are bought (one period is 30 days and has no extension) while others run past their quota.
 */
const SUBSCRIBERS = ['sub-a', 'sub-b'] as const;
const SUB_PRICE = 1_500;
const SUB_E = 400;
const INCLUDED = 2;
const SUBSCRIBER_EPOCH = 8;

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
  fc.record({
    type: fc.constant('credit-subscriber' as const),
    subscriber: fc.constantFrom(...SUBSCRIBERS),
    amount: fc.integer({ min: 1, max: 3_000 }),
  }),
  // Subscribing and running through a subscription weigh more: a run needs a subscription bought before
  // it, and the quota is only passed after two included runs.
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('subscribe' as const),
      subscriber: fc.constantFrom(...SUBSCRIBERS),
      listing: fc.constantFrom(...SUB_LISTINGS),
      // Credited first (0: nothing), so that most subscribes can pay and some cannot.
      topUp: fc.constantFrom(0, 500, SUB_PRICE, 2_500, 4_000),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('sub-run' as const),
      subscriber: fc.constantFrom(...SUBSCRIBERS),
      listing: fc.constantFrom(...SUB_LISTINGS),
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
  fc.record({
    type: fc.constant('sub-cancel' as const),
    subscriber: fc.constantFrom(...SUBSCRIBERS),
    afterMs: fc.integer({ min: 0, max: 150 }),
  }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/**
 * An expected refusal: short of funds, a fixed price above the buyer's max_price, a state that does not
 * allow the action (the run ended already), a run past the quota of a listing that refuses it, a run
 * without a subscription, or a second subscription in one period. Anything else fails the sequence.
 */
const SUBSCRIPTION_REFUSALS = ['over_quota', 'subscription_required', 'subscription_active'];
function expectRefusal(error: unknown): void {
  if (error instanceof LedgerError) expect(error.code).toBe('insufficient_funds');
  else if (error instanceof MarketError && SUBSCRIPTION_REFUSALS.includes(error.code)) return;
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
    /** Every subscriber principal used so far. */
    const subscribers = new Set<string>();
    let sequence = 0;
    const stats = { subscribed: 0, included: 0, charged: 0, refused: 0 };
    const subscriber = (role: string) => {
      const principal = `${role}-${Math.floor(sequence / SUBSCRIBER_EPOCH)}`;
      subscribers.add(principal);
      return principal;
    };
    const credit = async (principal: string, amount: number) => {
      await creditPrincipal(t.node.store, { principal, amount });
      credited.set(principal, (credited.get(principal) ?? 0) + amount);
    };
    /**
     * Waits for a run to end. One that has not ended within a minute fails the sequence with its state
     * (every run here takes well under a second), rather than hanging until the test's own timeout.
     */
    const settled = async (id: string) => {
      let timer: NodeJS.Timeout | undefined;
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          Promise.all([
            t.node.store.read.getExecution(id),
            t.node.store.read.listSteps(id),
            t.node.store.read.listJobs(id),
          ]).then(([execution, steps, jobs]) => {
            const state = {
              status: execution?.status,
              steps: steps.map((s) => `${s.stepId}:${s.status}`),
              jobs: jobs.map((j) => `${j.stepId}#${j.attempt}:${j.status}`),
            };
            reject(new Error(`execution ${id} has not ended after 60 s: ${JSON.stringify(state)}`));
          }, reject);
        }, 60_000);
      });
      try {
        await Promise.race([t.node.waitFor(id, 20), stuck]);
      } finally {
        clearTimeout(timer);
      }
    };
    const activeSubscription = (listing: ListingName, buyer: string) =>
      t.node.store.read.findActiveSubscription(listings[listing].id, buyer, Date.now());

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
        subCharge: await listWorkflow(t, [cost('a', 40), sleepStep('b', 300, { depends_on: ['a'] })], {
          publisher: 'pub-sub-charge',
          price: SUB_E,
          subscriptionPrice: SUB_PRICE,
          pricing: { model: 'subscription', included_executions: INCLUDED, over_quota: 'charge' },
          extra: { max_cost_budget: 500 },
        }),
        subRefuse: await listWorkflow(t, [cost('a', 70), cost('b', 30, { depends_on: ['a'] })], {
          publisher: 'pub-sub-refuse',
          price: SUB_E,
          subscriptionPrice: SUB_PRICE,
          pricing: { model: 'subscription', included_executions: INCLUDED, over_quota: 'refuse' },
          extra: { max_cost_budget: 500 },
        }),
        subFailing: await listWorkflow(
          t,
          [
            cost('a', 50),
            echo('b', {
              depends_on: ['a'],
              model_requirements: { name: 'builtin/fail' },
              input_mappings: { retryable: 'false' },
            }),
          ],
          {
            publisher: 'pub-sub-failing',
            price: SUB_E,
            subscriptionPrice: SUB_PRICE,
            pricing: { model: 'subscription', included_executions: INCLUDED, over_quota: 'charge' },
            extra: { max_cost_budget: 500 },
          },
        ),
      };
    }, 60_000);
    afterAll(() => t?.close());

    /**
     * A subscriber's run: included exactly when its subscription had an execution left, refused past the
     * quota only by the listing that refuses (and only then).
     */
    async function subscriberRun(listing: ListingName, buyer: string): Promise<{ id: string }> {
      const before = await activeSubscription(listing, buyer);
      let run: { id: string };
      try {
        run = await listings[listing].run(buyer);
      } catch (error) {
        if (error instanceof MarketError && error.code === 'over_quota') {
          expect(listing).toBe('subRefuse');
          expect(before?.usedExecutions).toBe(INCLUDED);
          stats.refused++;
        }
        if (error instanceof MarketError && error.code === 'subscription_required') expect(before).toBeUndefined();
        throw error;
      }
      expect(before).toBeDefined();
      const record = (await t.node.store.read.getMarketRun(run.id))!;
      expect(record.subscriptionId).toBe(before!.id);
      expect(record.includedRun).toBe(before!.usedExecutions < INCLUDED ? 1 : 0);
      if (record.includedRun === 1) stats.included++;
      else stats.charged++;
      return run;
    }

    async function step(o: Op, started: string[]): Promise<void> {
      const attempt = async (action: () => Promise<void>) => action().catch(expectRefusal);
      switch (o.type) {
        case 'credit':
          return credit(o.buyer, o.amount);
        case 'credit-subscriber':
          return credit(subscriber(o.subscriber), o.amount);
        case 'subscribe': {
          const buyer = subscriber(o.subscriber);
          if (o.topUp > 0) await credit(buyer, o.topUp);
          return attempt(async () => {
            await subscribe(t.node.store, { principal: buyer, admin: false }, listings[o.listing].id, {
              feeBps: MARKET_FEE_BPS,
            });
            stats.subscribed++;
          });
        }
        case 'sub-run':
          for (let i = 0; i < o.times; i++)
            await attempt(async () => {
              const run = await subscriberRun(o.listing, subscriber(o.subscriber));
              started.push(run.id);
              await settled(run.id);
            });
          return;
        case 'sub-cancel': {
          const buyer = subscriber(o.subscriber);
          return attempt(async () => {
            const run = await subscriberRun('subCharge', buyer);
            started.push(run.id);
            await new Promise((resolve) => setTimeout(resolve, o.afterMs));
            await t.node.engine.cancel(run.id, `client:${buyer}`).catch(expectRefusal);
            await settled(run.id);
          });
        }
        case 'run':
          return attempt(async () => {
            const run = await listings[o.listing].run(
              o.buyer,
              o.maxPrice === undefined ? {} : { maxPrice: o.maxPrice },
            );
            started.push(run.id);
            await settled(run.id);
          });
        case 'cancel':
          return attempt(async () => {
            const run = await listings.slow.run(o.buyer);
            started.push(run.id);
            await new Promise((resolve) => setTimeout(resolve, o.afterMs));
            await t.node.engine.cancel(run.id, `client:${o.buyer}`).catch(expectRefusal);
            await settled(run.id);
          });
        case 'retry': {
          if (started.length === 0) return;
          const id = started[o.index % started.length]!;
          const execution = (await t.node.store.read.getExecution(id))!;
          return attempt(async () => {
            await t.node.engine.retry(id, execution.clientId);
            await settled(id);
          });
        }
      }
    }

    const accounts = () => [
      ...BUYERS,
      ...subscribers,
      ...PUBLISHERS,
      ...SUB_PUBLISHERS,
      COMPUTE_ACCOUNT,
      PLATFORM_ACCOUNT,
      EXTERNAL_ACCOUNT,
    ];
    const balances = async () =>
      Promise.all(accounts().map(async (a) => ({ ...(await t.node.store.read.getLedgerBalance(a)), account: a })));
    const mayBeNegative = (account: string) =>
      (PUBLISHERS as readonly string[]).includes(account) ||
      (SUB_PUBLISHERS as readonly string[]).includes(account) ||
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

    /**
     * Each subscription was charged once, by one ledger transaction of kind `subscription` that moves exactly
     * its price from the buyer, the fee F = ⌊price·f/10⁴⌋ to sys:platform and the rest to the publisher; its
     * postings are returned, for the expected balances.
     */
    async function expectSubscriptionCharges(): Promise<{ account: string; amount: number }[]> {
      const postings: { account: string; amount: number }[] = [];
      const publisherOf = new Map(SUB_LISTINGS.map((l, i) => [listings[l].id, SUB_PUBLISHERS[i]!]));
      const fee = Math.floor((SUB_PRICE * MARKET_FEE_BPS) / 10_000);
      for (const buyer of subscribers) {
        const subscriptions = await t.node.store.read.listMarketSubscriptions(buyer, 100);
        // At most one period of each listing per buyer: these all run for 30 days.
        expect(new Set(subscriptions.map((s) => s.listingId)).size).toBe(subscriptions.length);
        const charges = (await t.node.store.read.listLedgerTransactions(buyer, { limit: 200 })).transactions.filter(
          (tx) => tx.kind === 'subscription',
        );
        expect(charges.map((c) => c.idempotencyKey).sort()).toEqual(
          subscriptions.map((s) => `subscription:${s.id}`).sort(),
        );
        for (const s of subscriptions) {
          expect(s).toMatchObject({
            price: SUB_PRICE,
            includedExecutions: INCLUDED,
            publisher: publisherOf.get(s.listingId),
          });
          const charge = charges.find((c) => c.idempotencyKey === `subscription:${s.id}`)!;
          expect(charge).toMatchObject({ kind: 'subscription', listingId: s.listingId });
          const moved = new Map<string, number>();
          for (const p of charge.postings) {
            expect(p.bucket).toBe('available');
            moved.set(p.account, (moved.get(p.account) ?? 0) + p.amount);
            postings.push({ account: p.account, amount: p.amount });
          }
          expect(Object.fromEntries(moved)).toEqual({
            [buyer]: -SUB_PRICE,
            [s.publisher]: SUB_PRICE - fee,
            [PLATFORM_ACCOUNT]: fee,
          });
        }
      }
      return postings;
    }

    /**
     * Every subscription's used_executions is at most its included_executions, and is the number of its
     * included runs that still hold an execution: those whose last settlement completed (a run that failed,
     * was cancelled or did not verify gave it back, and took it again only when retried). An included run
     * settles at price 0 and fee 0 in every revision (cancelled: its compute C, which `price` states for any
     * cancelled run); a subscriber's run past the quota does not say it is included.
     */
    async function expectQuotas(): Promise<void> {
      const held = new Map<string, number>();
      for (const id of executions) {
        const run = await t.node.store.read.getMarketRun(id);
        if (run?.subscriptionId === undefined) continue;
        const settlements = await t.node.store.read.listMarketSettlements(id);
        const predicates = settlements.map((s) => decode<SettlementPredicate>(s.envelope).predicate);
        for (const p of predicates) expect(p.includedRun, id).toBe(run.includedRun === 1);
        if (run.includedRun !== 1) continue;
        // P = 0 and no fee: the buyer pays nothing but the compute C of a run it cancelled (which is what
        // `price` says for a cancelled run, included or not: docs/marketplace.md).
        for (const p of predicates) {
          expect(p.price, `${id}@${p.revision} (${p.outcome})`).toBe(p.outcome === 'cancelled' ? p.computeCost : 0);
          expect(p.fee, `${id}@${p.revision}`).toBe(0);
        }
        const last = predicates.sort((a, b) => b.revision - a.revision)[0];
        const holds = last?.outcome === 'completed' ? 1 : 0;
        expect(run.quotaHeld ?? 0, id).toBe(holds);
        held.set(run.subscriptionId, (held.get(run.subscriptionId) ?? 0) + holds);
      }
      for (const buyer of subscribers)
        for (const s of await t.node.store.read.listMarketSubscriptions(buyer, 100)) {
          expect(s.usedExecutions, s.id).toBe(held.get(s.id) ?? 0);
          // used_executions never exceeds included_executions: not even a retry of an included run that gave
          // its execution back takes one past the quota (it is refused with over_quota instead).
          expect(s.usedExecutions, s.id).toBeLessThanOrEqual(s.includedExecutions);
        }
    }

    /**
     * Every balance is what was credited plus the postings of every settlement statement signed so far and
     * of every subscription charge.
     */
    async function expectBalancesAreSettlements(): Promise<void> {
      const expected = new Map<string, number>(credited);
      expected.set(EXTERNAL_ACCOUNT, 0 - [...credited.values()].reduce((a, b) => a + b, 0));
      for (const p of await expectSubscriptionCharges())
        expected.set(p.account, (expected.get(p.account) ?? 0) + p.amount);
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

    it('keeps every money invariant over random sequences of credits, runs, failures, cancellations, retries and subscriptions', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 6 }), async (ops) => {
          sequence++;
          const started: string[] = [];
          for (const o of ops) await step(o, started);
          for (const id of started) executions.add(id);
          await expectInvariants();
          await expectBalancesAreSettlements();
          await expectQuotas();
          for (const id of new Set(started)) await expectSettledOnce(id);
        }),
        {
          numRuns: RUNS ?? (kind === 'sqlite' ? 20 : 15),
          endOnFailure: true,
          examples: [
            [
              // An included run cancelled (its execution comes back), two included runs use the quota up,
              // then the cancelled one is retried: no execution is left, so the retry is refused (over_quota).
              [
                { type: 'subscribe', subscriber: 'sub-a', listing: 'subCharge', topUp: 4_000 },
                { type: 'sub-cancel', subscriber: 'sub-a', afterMs: 100 },
                { type: 'sub-run', subscriber: 'sub-a', listing: 'subCharge', times: 2 },
                { type: 'retry', index: 0 },
              ],
            ],
          ],
        },
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
      // What the subscription commands did, for whoever reads the log (a short run may miss some of them).
      console.info(`money-property (${kind}): subscriptions`, stats, 'settlements', outcomes);
    }, 600_000);
  });
}
