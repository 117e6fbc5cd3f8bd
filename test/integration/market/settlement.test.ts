import { describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { IN_TOTO_PAYLOAD_TYPE, envelopePayload, signEnvelope } from '../../../src/attest/dsse.js';
import { settlementStatement } from '../../../src/attest/settlement/statement.js';
import type { SettlementPredicate } from '../../../src/attest/settlement/statement.js';
import { statementBytes } from '../../../src/attest/statement.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { ProcessEvaluator } from '../../../src/expressions/node/process-evaluator.js';
import { creditPrincipal } from '../../../src/ledger/operations.js';
import { LedgerError } from '../../../src/ledger/errors.js';
import { createListing } from '../../../src/market/listings.js';
import { runThroughListing } from '../../../src/market/runs.js';
import { WorkflowRegistry } from '../../../src/registry/workflow-registry.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, useTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

/**
 * Money follows receipts, on a real node over both stores: a run through a listing holds the most it can
 * cost, and when it ends the coordinator settles it from the receipt (signed, logged, posted once per
 * revision), the bundle carries the settlement, and the verifier recomputes every amount offline. A
 * settlement changed and re-signed with the coordinator's own key is caught by the amounts it states.
 */
const FEE_BPS = 500;
const LEDGER_OK = { ok: true };
const PRICE = 1_000;

const costly = (id: string, cost: number, extra: Record<string, unknown> = {}) =>
  echo(id, { input_mappings: { cost: String(cost) }, ...extra });

async function market(t: TestNode, steps: unknown[], price = PRICE) {
  const registry = new WorkflowRegistry(t.node.store, t.node.engine);
  const id = `wf-${Math.random().toString(36).slice(2, 8)}`;
  await registry.publish({ id, steps }, 'acme', false);
  const listing = await createListing(
    t.node.store,
    { principal: 'acme', admin: false },
    { workflow_id: id, title: 'Echo, priced', execution_price: price, pricing: { model: 'per_execution' } },
    { feeBps: FEE_BPS },
  );
  const run = (buyer: string, extra: { idempotencyKey?: string; maxPrice?: number } = {}) =>
    runThroughListing(
      { reads: t.node.store.read, engine: t.node.engine, feeBps: FEE_BPS, attests: true },
      { principal: buyer, admin: false },
      { listingId: listing.id, inputs: {}, ...extra },
    );
  return { listing, run };
}

const balance = async (t: TestNode, account: string) => t.node.store.read.getLedgerBalance(account);

async function verify(t: TestNode, bundle: unknown, level: 'basic' | 'full' = 'basic') {
  const evaluator = level === 'full' ? new ProcessEvaluator() : undefined;
  try {
    return await verifyBundle(bundle, {
      trustedKeys: [t.node.coordinatorSigner.publicKeyPem],
      level,
      ...(evaluator && { evaluator }),
    });
  } finally {
    await evaluator?.close();
  }
}

/** The bundle with its latest settlement's predicate changed and re-signed by the coordinator's own key. */
function resign(t: TestNode, bundle: Bundle, change: (p: SettlementPredicate) => void): Bundle {
  const copy = structuredClone(bundle);
  const part = copy.settlements!.at(-1)!;
  const statement = JSON.parse(new TextDecoder().decode(envelopePayload(part.statement))) as {
    predicate: SettlementPredicate;
  };
  change(statement.predicate);
  part.statement = signEnvelope(
    IN_TOTO_PAYLOAD_TYPE,
    statementBytes(settlementStatement(statement.predicate)),
    t.node.coordinatorSigner,
  );
  return copy;
}

const failed = (report: Awaited<ReturnType<typeof verify>>) => report.checks.filter((c) => !c.ok).map((c) => c.name);

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`settling runs through a listing (${kind})`, () => {
    const t = useTestNode(kind, 'market-settlement');

    it('holds, settles a completed run from its receipt once, and the payer verifies every amount offline', async () => {
      const { run } = await market(t, [costly('a', 120), costly('b', 80, { depends_on: ['a'] })]);
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 5_000 });
      const execution = await run('bob');
      // The hold: the price ceiling E (the budget E − F is below it).
      expect(await balance(t, 'bob')).toMatchObject({ available: 4_000, held: 1_000 });
      await t.node.waitFor(execution.id, 50);
      expect((await t.view(execution.id)).status).toBe('completed');

      // buyer −P, platform +F, workers (in-process: sys:compute) +C, publisher +(P − F − C); the hold released.
      expect(await balance(t, 'bob')).toMatchObject({ available: 4_000, held: 0 });
      expect(await balance(t, 'sys:platform')).toMatchObject({ available: 50 });
      expect(await balance(t, 'sys:compute')).toMatchObject({ available: 200 });
      expect(await balance(t, 'acme')).toMatchObject({ available: 750 });
      expect((await t.node.store.read.getMarketRun(execution.id))?.outcome).toBe('completed');
      expect(await t.node.store.read.checkLedger()).toMatchObject(LEDGER_OK);

      const bundle = (await t.node.bundle(execution.id, { includeData: true })) as Bundle;
      expect(bundle.mediaType).toBe('application/vnd.verity.bundle.v2+json');
      expect(bundle.settlements).toHaveLength(1);
      for (const level of ['basic', 'full'] as const) {
        const report = await verify(t, bundle, level);
        expect(failed(report)).toEqual([]);
        expect(report.ok).toBe(true);
      }
      const report = await verify(t, bundle);
      expect(report.checks.find((c) => c.name === 'settlement.1.amounts')?.message).toMatch(
        /C 200, price 1000, fee 50: recomputed from the receipt's 2 counted attestation/,
      );
      // Settling again (a replayed end, another replica) changes nothing: once per revision.
      const receipt = (await t.node.store.read.listReceipts(execution.id))[0]!;
      const record = (await t.node.store.read.getExecution(execution.id))!;
      await t.node.store.transaction((tx) => t.node.engine['hooks']!.ended(tx, record, receipt, Date.now()));
      expect(await t.node.store.read.listMarketSettlements(execution.id)).toHaveLength(1);
      expect(await balance(t, 'acme')).toMatchObject({ available: 750 });
    });

    it('refuses a settlement whose amounts or payees do not match the receipt, re-signed with the coordinator key', async () => {
      const { run } = await market(t, [costly('a', 120)]);
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 5_000 });
      const execution = await run('bob');
      await t.node.waitFor(execution.id, 50);
      const bundle = (await t.node.bundle(execution.id)) as Bundle;
      expect((await verify(t, bundle)).ok).toBe(true);

      const cases: [string, (p: SettlementPredicate) => void, RegExp][] = [
        ['a higher price', (p) => void (p.price += 1), /price 1001, the terms give 1000/],
        [
          'a payee changed',
          (p) => {
            for (const list of [p.total, p.postings])
              for (const posting of list) if (posting.account === 'acme') posting.account = 'mallory';
          },
          /total .*mallory/,
        ],
        ['a compute cost above the attested one', (p) => void (p.computeCost += 500), /compute cost 620/],
        ['another fee rate', (p) => void (p.terms.feeBps = 0), /fee 50, the terms give 0/],
      ];
      for (const [what, change, message] of cases) {
        const report = await verify(t, resign(t, bundle, change));
        const amounts = report.checks.find((c) => c.name === 'settlement.1.amounts');
        expect(amounts?.ok, what).toBe(false);
        expect(amounts?.message, what).toMatch(message);
        expect(report.ok, what).toBe(false);
      }
      // Postings that are not the total minus what came before, with consistent totals otherwise.
      const skewed = await verify(
        t,
        resign(t, bundle, (p) => {
          p.postings = p.postings.map((x) => (x.account === 'bob' ? { ...x, amount: x.amount - 1 } : x));
        }),
      );
      expect(failed(skewed)).toContain('settlement.1.postings');
    });

    it('a buyer short of funds starts nothing; the same idempotency key holds once', async () => {
      const { run } = await market(t, [costly('a', 10)]);
      await creditPrincipal(t.node.store, { principal: 'carol', amount: 999 });
      const short = await run('carol').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(short).toBeInstanceOf(LedgerError);
      expect((short as LedgerError).code).toBe('insufficient_funds');
      expect(await t.node.store.read.listExecutions({ clientId: 'carol' })).toHaveLength(0);
      expect(await balance(t, 'carol')).toMatchObject({ available: 999, held: 0 });

      await creditPrincipal(t.node.store, { principal: 'carol', amount: 1_001 });
      const first = await run('carol', { idempotencyKey: 'k1' });
      const again = await run('carol', { idempotencyKey: 'k1' });
      expect(again.id).toBe(first.id);
      await t.node.waitFor(first.id, 50);
      expect(await balance(t, 'carol')).toMatchObject({ available: 1_000, held: 0 });
    });

    it('a failed run costs the buyer nothing, the publisher carries the compute; a retry settles only the difference', async () => {
      const { run } = await market(t, [
        costly('a', 100),
        echo('b', {
          depends_on: ['a'],
          model_requirements: { name: 'builtin/fail' },
          retry_policy: { max_attempts: 1 },
        }),
      ]);
      await creditPrincipal(t.node.store, { principal: 'bob', amount: 5_000 });
      const execution = await run('bob');
      await t.node.waitFor(execution.id, 50);
      expect((await t.view(execution.id)).status).toBe('failed');
      expect(await balance(t, 'bob')).toMatchObject({ available: 5_000, held: 0 });
      expect(await balance(t, 'acme')).toMatchObject({ available: -100 });
      expect(await balance(t, 'sys:compute')).toMatchObject({ available: 100 });

      // The retry holds again at the original terms, fails again (the same step), and posts nothing new:
      // the full settlement is the same, so the difference is empty but for the hold going back.
      await t.node.engine.retry(execution.id, 'client:bob');
      await t.node.waitFor(execution.id, 50);
      const settlements = await t.node.store.read.listMarketSettlements(execution.id);
      expect(settlements.map((s) => s.revision)).toEqual([1, 2]);
      expect(await balance(t, 'bob')).toMatchObject({ available: 5_000, held: 0 });
      expect(await balance(t, 'acme')).toMatchObject({ available: -100 });
      const bundle = (await t.node.bundle(execution.id)) as Bundle;
      const report = await verify(t, bundle);
      expect(failed(report)).toEqual([]);
      expect(report.checks.filter((c) => c.name.startsWith('settlement.')).length).toBeGreaterThan(8);
      expect(await t.node.store.read.checkLedger()).toMatchObject(LEDGER_OK);
    });
  });
}
