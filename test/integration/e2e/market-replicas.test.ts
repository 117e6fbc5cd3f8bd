import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelopePayload } from '../../../src/attest/dsse.js';
import type { Bundle } from '../../../src/attest/bundle.js';
import type { SettlementPredicate } from '../../../src/attest/settlement/statement.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { VerityClient } from '../../../src/sdk/client.js';
import type { ExecutionView } from '../../../src/sdk/client.js';
import { openStore } from '../../../src/store/open-store.js';
import type { Store } from '../../../src/store/store.js';
import { echo } from '../../support/node.js';
import { freshSchema, postgresAvailable } from '../../support/postgres.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * Two `verity serve` replicas on one PostgreSQL database, each with its own in-process workers, settling
 * runs through one listing at the same time: a buyer starts N runs alternating between the replicas, and
 * whichever replica ends a run settles it. At the end every run has exactly one settlement (one revision
 * each), the ledger checks out, and every balance is the sum of the settlements' postings. The children run
 * the built code (dist/): `npm run build` first.
 */
const RUNS = 12;
const CREDIT = 100_000;
const PRICE = 1_000;

interface Replica {
  server: ServerProcess;
  admin: VerityClient;
}

describe.skipIf(!(await postgresAvailable()))('two replicas on one PostgreSQL settle runs through a listing', () => {
  const root = mkdtempSync(join(tmpdir(), 'verity-market-replicas-'));
  const schema = freshSchema('market_replicas');
  const servers: ServerProcess[] = [];
  let replicas: Replica[] = [];
  let store: Store;

  beforeAll(async () => {
    // One data directory for both: the same coordinator key signs receipts and settlements on either.
    const dataDir = join(root, 'node');
    for (let i = 0; i < 2; i++)
      servers.push(await startServerProcess({ dataDir, databaseUrl: schema.url, workers: 2 }));
    replicas = servers.map((server) => ({
      server,
      admin: new VerityClient({ server: server.url, apiKey: server.adminKey }),
    }));
    store = await openStore({ dataDir, databaseUrl: schema.url });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await store?.close();
    await schema.drop();
    rmSync(root, { recursive: true, force: true });
  });

  it('settles each run exactly once, and the balances are the sum of the settlements', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const publisherKey = (await a.admin.createKey('acme', 'publisher')).token;
    const buyerKey = (await a.admin.createKey('bob', 'client')).token;
    const publisher = new VerityClient({ server: b.server.url, apiKey: publisherKey });
    await publisher.publishWorkflow({
      id: 'priced-echo',
      steps: [
        echo('a', { input_mappings: { cost: '120' } }),
        echo('b', { depends_on: ['a'], input_mappings: { cost: '80' } }),
      ],
    });
    const listing = await publisher.createListing({
      workflow_id: 'priced-echo',
      title: 'Priced echo',
      execution_price: PRICE,
      pricing: { model: 'per_execution' },
    });
    await b.admin.credit({ principal: 'bob', amount: CREDIT });

    // N runs started at once, alternating replicas; each replica's workers take whatever is queued.
    const started = await Promise.all(
      Array.from({ length: RUNS }, async (_, i) => {
        const { server } = replicas[i % 2]!;
        const response = await fetch(`${server.url}/v1/market/listings/${listing.id}/execute`, {
          method: 'POST',
          headers: { authorization: `Bearer ${buyerKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ inputs: { n: i } }),
        });
        expect(response.status).toBe(202);
        return (await response.json()) as ExecutionView;
      }),
    );
    const buyers = replicas.map((r) => new VerityClient({ server: r.server.url, apiKey: buyerKey }));
    const ended = await Promise.all(started.map((e, i) => buyers[(i + 1) % 2]!.waitFor(e.executionId)));
    expect(ended.map((e) => e.status)).toEqual(Array(RUNS).fill('completed'));

    const coordinatorKey = (await a.admin.coordinatorKey()).publicKeyPem;
    const sums = new Map<string, number>();
    for (const [i, e] of ended.entries()) {
      const settlements = await store.read.listMarketSettlements(e.executionId);
      expect(
        settlements.map((s) => s.revision),
        e.executionId,
      ).toEqual([1]);
      const bundle = (await buyers[i % 2]!.receipt(e.executionId)) as unknown as Bundle;
      expect(bundle.settlements).toHaveLength(1);
      const report = await verifyBundle(bundle, { trustedKeys: [coordinatorKey], level: 'basic' });
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      const statement = JSON.parse(new TextDecoder().decode(envelopePayload(bundle.settlements![0]!.statement))) as {
        predicate: SettlementPredicate;
      };
      for (const p of statement.predicate.postings) sums.set(p.account, (sums.get(p.account) ?? 0) + p.amount);
    }
    expect(sums.get('bob')).toBe(-RUNS * PRICE);

    const report = await store.read.checkLedger();
    expect(report).toMatchObject({ ok: true, mismatches: [], unbalanced: [] });
    for (const [account, sum] of sums) {
      const balance = await b.admin.balance({ principal: account });
      expect(balance, account).toMatchObject({
        available: account === 'bob' ? CREDIT + sum : sum,
        held: 0,
      });
    }
  }, 180_000);
});
