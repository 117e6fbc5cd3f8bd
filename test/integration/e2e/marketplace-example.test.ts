import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { envelopePayload } from '../../../src/attest/dsse.js';
import type { SettlementPredicate } from '../../../src/attest/settlement/statement.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { VerityClient } from '../../../src/sdk/client.js';
import { runExampleScript } from '../../support/cli.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * examples/marketplace/walkthrough.sh, run as a user would against a real `verity serve` with in-process
 * workers, so the example cannot rot: it lists the document-intelligence agent, credits a buyer, runs it
 * through the listing, verifies the bundle and its settlement offline, and shows the balances. The test
 * then checks what the script left behind: the bundle verifies here too, and the balances are the
 * settlement's. The script and the server run the built code (dist/): `npm run build` first.
 */
const PRICE = 250_000;
const FEE = 12_500; // the default fee, 5%

describe('examples/marketplace: the walkthrough against a real server', () => {
  const root = mkdtempSync(join(tmpdir(), 'verity-market-example-'));
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    server = await startServerProcess({ dataDir: join(root, 'data'), workers: 2 });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('lists, credits, runs through the listing, verifies offline and shows the balances', async () => {
    const out = join(root, 'out');
    const result = await runExampleScript('examples/marketplace/walkthrough.sh', {
      VERITY_SERVER: server!.url,
      VERITY_ADMIN_KEY: server!.adminKey,
      VERITY_EXAMPLE_DIR: out,
      RUN_SUFFIX: 'test',
      PRICE: String(PRICE),
      // The script's own CLI calls must not pick up a local store.
      VERITY_DATA_DIR: join(root, 'nowhere'),
      VERITY_DATABASE_URL: '',
    });
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('status completed');
    expect(result.stdout).toMatch(/settlement\.1\.amounts: C \d+, price 250000, fee 12500: recomputed/);
    expect(result.stdout).toContain(`buyer-test: available ${1_000_000 - PRICE}, held 0`);

    // What the buyer kept verifies here too, with the key the script trusted.
    const bundle = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8')) as Bundle;
    const trusted = readFileSync(join(out, 'coordinator.pem'), 'utf8');
    const report = await verifyBundle(bundle, { trustedKeys: [trusted], level: 'basic' });
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(bundle.settlements).toHaveLength(1);
    const { predicate } = JSON.parse(new TextDecoder().decode(envelopePayload(bundle.settlements![0]!.statement))) as {
      predicate: SettlementPredicate;
    };
    expect(predicate).toMatchObject({ buyer: 'buyer-test', publisher: 'docs-co-test', price: PRICE, fee: FEE });

    // The balances the script showed are the settlement's postings.
    const admin = new VerityClient({ server: server!.url, apiKey: server!.adminKey });
    expect(await admin.balance({ principal: 'buyer-test' })).toMatchObject({ available: 1_000_000 - PRICE, held: 0 });
    expect(await admin.balance({ principal: 'docs-co-test' })).toMatchObject({
      available: PRICE - FEE - predicate.computeCost,
    });
  }, 300_000);
});
