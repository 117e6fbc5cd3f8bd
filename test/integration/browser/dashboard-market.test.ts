import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerityClient } from '../../../src/sdk/client.js';
import { chromiumAvailable, launchChromium } from '../../support/chromium.js';
import { REPO } from '../../support/cli.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * The dashboard's marketplace in a real browser, against a real `verity serve` with in-process workers: an
 * admin credits a buyer, a publisher lists a workflow at a price; the buyer signs in, finds the listing by
 * searching, runs it (bad inputs refused first, here and by the server), follows the run to completed,
 * rates it and sees the review, and finds the charge on the account page; subscribes to a subscription
 * listing and unsubscribes; the publisher pauses and resumes the listing. No console errors. Screenshots go to test-output/dashboard-market/ (1280×800 and 390×844).
 * Needs the built dashboard (npm run build → dist/web).
 */
const available = chromiumAvailable();
const SHOTS = join(REPO, 'test-output', 'dashboard-market');

const CREDIT = 10_000_000;
const PRICE = 1_500_000;
const SUBSCRIPTION = 2_000_000;

const DOUBLER = {
  id: 'market-doubler',
  name: 'Doubler',
  // multipleOf is the server's to check (the form checks types, required fields and bounds).
  inputs: { type: 'object', properties: { n: { type: 'number', multipleOf: 3 } }, required: ['n'] },
  steps: [{ id: 'double', step_type: 'data_processing', input_mappings: { n: 'inputs.n' }, expression: 'n * 2' }],
  outputs: { doubled: 'steps.double.output' },
};

describe.skipIf(!available)('the dashboard marketplace in Chromium', () => {
  let dir: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let admin: VerityClient;
  let publisherKey: string;
  let buyerKey: string;
  let buyer: VerityClient;
  let listingId: string;
  let subscriptionListingId: string;
  let executionId: string;
  const consoleErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });

  const signIn = async (key: string) => {
    await page.goto(`${server.url}/`);
    if (await page.getByRole('button', { name: 'Sign out' }).count()) {
      await page.getByRole('button', { name: 'Sign out' }).click();
    }
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();
  };

  /** Nothing wider than the screen: the page itself never scrolls sideways (tables scroll in their frame). */
  const overflow = () =>
    page.evaluate(() => {
      // This project compiles without DOM types.
      const g = globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number };
      return g.document.documentElement.scrollWidth - g.innerWidth;
    });

  beforeAll(async () => {
    if (!existsSync(join(REPO, 'dist', 'web', 'index.html')))
      throw new Error('dist/web is missing: run `npm run build` before this test');
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'verity-dashboard-market-'));
    server = await startServerProcess({ dataDir: join(dir, 'data'), workers: 2 });
    admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
    publisherKey = (await admin.createKey('acme', 'publisher')).token;
    buyerKey = (await admin.createKey('bob', 'client')).token;
    buyer = new VerityClient({ server: server.url, apiKey: buyerKey });
    await admin.credit({ principal: 'bob', amount: CREDIT });

    const publisher = new VerityClient({ server: server.url, apiKey: publisherKey });
    await publisher.publishWorkflow(DOUBLER);
    listingId = (
      await publisher.createListing({
        workflow_id: DOUBLER.id,
        title: 'Number doubler',
        description: 'Doubles the number it is given.\nOne data_processing step; its receipt says so.',
        tags: ['math', 'demo'],
        execution_price: PRICE,
        pricing: { model: 'per_execution' },
        show_definition: true,
      })
    ).id;
    // Another listing of the same workflow, priced by usage, that the search must leave out.
    await publisher.createListing({
      workflow_id: DOUBLER.id,
      title: 'Metered arithmetic',
      tags: ['math'],
      pricing: { model: 'per_usage', markup_bps: 1000, max_price: 2_000_000 },
    });

    // A subscription listing: its included runs cost the buyer nothing, so its workflow bounds their compute.
    await publisher.publishWorkflow({ ...DOUBLER, id: 'market-doubler-sub', max_cost_budget: 500_000 });
    subscriptionListingId = (
      await publisher.createListing({
        workflow_id: 'market-doubler-sub',
        title: 'Doubling by the month',
        execution_price: 1_000_000,
        subscription_price: SUBSCRIPTION,
        pricing: { model: 'subscription', included_executions: 2, over_quota: 'refuse' },
      })
    ).id;

    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds the listing by searching, with its price in credits and no rating yet', async () => {
    await signIn(buyerKey);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Marketplace' }).click();
    await page.getByRole('heading', { name: 'Marketplace' }).waitFor();
    await page.locator('tr[data-listing]').nth(1).waitFor();
    await shot('market');

    await page.getByLabel('Search').fill('doubler');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=doubler/);
    const row = page.locator(`tr[data-listing="${listingId}"]`);
    await row.waitFor();
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document;
      return doc.querySelectorAll('tr[data-listing]').length === 1;
    });
    expect(await row.locator('.price').textContent()).toBe('1.5 / run');
    expect(await row.locator('.rating').textContent()).toBe('not rated yet');
    expect(await row.textContent()).toContain('acme');
    await shot('market-search');

    // A search that matches nothing says so.
    await page.getByLabel('Search').fill('zebra');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No listing matches this search.').waitFor();
  });

  it('refuses bad inputs, here and from the server, then runs the listing and follows the run', async () => {
    await page.goto(`${server.url}/#/market?q=doubler`);
    await page.getByRole('link', { name: 'Number doubler' }).click();
    await page.getByRole('heading', { name: 'Number doubler' }).waitFor();
    expect(await page.locator('.price-headline').textContent()).toBe('1.5 / run');
    expect(await page.locator('.terms').textContent()).toContain('A fixed price per completed run: 1.5 credits.');
    const listing = await buyer.getListing(listingId);
    expect(await page.locator('.listing .digest').textContent()).toBe(listing.workflow_digest);
    await page.getByText('You can rate this listing once a run of yours has completed').waitFor();
    await shot('listing');

    // The run form is generated from the listing's inputs schema, which a buyer sees without the definition.
    const n = page.getByLabel(/^n\b/);
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.locator('.run-listing [role="alert"]', { hasText: 'needs attention' }).waitFor();
    // A number the form accepts and the workflow's schema refuses: the server's message, and nothing held.
    await n.fill('20');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const refused = page.locator('.run-listing [role="alert"]', { hasText: 'inputs.n' });
    await refused.waitFor();
    await shot('listing-refused');
    expect((await buyer.balance()).available).toBe(CREDIT);

    await n.fill('21');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForURL(/#\/executions\/[0-9a-f-]+$/);
    executionId = decodeURIComponent(page.url().split('/').pop()!);
    await page.locator('.page-head .badge', { hasText: 'completed' }).waitFor({ timeout: 20_000 });
    // The buyer cannot read the publisher's definition, and still sees the run's graph.
    await page.locator('.react-flow__node', { hasText: 'double' }).waitFor();
    await page.getByText('Result', { exact: true }).waitFor();
    expect(await page.locator('details', { hasText: 'Result' }).locator('pre').textContent()).toContain('42');
    await shot('run-completed');
  });

  it('rates the completed run and shows the review on the listing page', async () => {
    // The settlement is posted with the receipt, just after the run ends: the rating names a settled run.
    await expect.poll(async () => (await buyer.settlements(executionId)).length, { timeout: 10_000 }).toBe(1);
    await page.goto(`${server.url}/#/market/${listingId}`);
    await page.getByRole('heading', { name: 'Number doubler' }).waitFor();
    await page.getByText(`For your run ${executionId.slice(0, 8)}`).waitFor();
    // Keyboard: the stars are radios in one group.
    await page.getByLabel('4 stars').focus();
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowLeft');
    expect(await page.getByLabel('4 stars').isChecked()).toBe(true);
    await page.locator('.rate-form').scrollIntoViewIfNeeded();
    await shot('rate-keyboard');
    await page.getByLabel('Review (optional)').fill('Doubled 21 into 42, and the receipt checks out.');
    await page.getByRole('button', { name: 'Rate', exact: true }).click();
    await page.getByText('Thank you: your rating is in.').waitFor();
    const review = page.locator('.review[data-buyer="bob"]');
    await review.waitFor();
    expect(await review.textContent()).toContain('Doubled 21 into 42');
    expect(await review.locator('.stars').textContent()).toBe('★★★★☆');
    await page.locator('.rating-summary', { hasText: '4.0 (1 rating)' }).waitFor();
    const ratings = await buyer.listRatings(listingId);
    expect(ratings.ratings.map((r) => [r.buyer, r.stars, r.execution_id])).toEqual([['bob', 4, executionId]]);
    await page.locator('.ratings').scrollIntoViewIfNeeded();
    await shot('listing-rated');

    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await shot('listing-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it("shows the charge on the account page: the balance, the settlement's transaction and the statement", async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { name: 'Account' }).waitFor();
    // 10 credited − 1.5 for the completed run; nothing left held.
    await page.locator('.amount[data-bucket="available"]', { hasText: '8.5' }).waitFor();
    expect(await page.locator('.amount[data-bucket="held"]').textContent()).toBe('0');
    expect(await buyer.balance()).toMatchObject({ available: CREDIT - PRICE, held: 0 });

    const settled = page.locator('tr[data-kind="settlement"]');
    await settled.waitFor();
    expect(await settled.textContent()).toContain('−1.5');
    expect(await settled.locator(`a[href="#/executions/${executionId}"]`).count()).toBe(1);
    expect(await page.locator('tr[data-kind="credit"]').textContent()).toContain('+10');
    const statement = page.locator(`.settlements tr[data-execution="${executionId}"]`);
    await statement.waitFor();
    expect(await statement.textContent()).toContain('completed');
    expect(await statement.textContent()).toContain('−1.5');
    await shot('account');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('account-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('subscribes to a subscription listing, charged at once, and unsubscribes', async () => {
    await page.goto(`${server.url}/#/market/${subscriptionListingId}`);
    await page.getByRole('heading', { name: 'Doubling by the month' }).waitFor();
    expect(await page.locator('.price-headline').textContent()).toBe('2 / 30 days');
    const terms = await page.locator('.terms').textContent();
    expect(terms).toContain('2 runs included in each period.');
    expect(terms).toContain('Past the included runs: refused until the next period.');
    await page.getByText('Runs need a subscription: 2 credits for 30 days').waitFor();
    await page.getByRole('button', { name: 'Subscribe' }).click();
    await page.getByText('0 of 2 included runs used').waitFor();
    expect(await page.locator('.subscription .badge').textContent()).toContain('active');
    expect((await buyer.balance()).available).toBe(CREDIT - PRICE - SUBSCRIPTION);
    await page.locator('.run-listing').scrollIntoViewIfNeeded();
    await shot('listing-subscribed');
    await page.getByRole('button', { name: 'Unsubscribe' }).click();
    await page.locator('.subscription .badge', { hasText: 'cancelled' }).waitFor();
    expect((await buyer.listSubscriptions())[0]?.status).toBe('cancelled');
  });

  it('fits a phone-sized screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const [name, hash, ready] of [
        ['market-phone', '#/market', 'tr[data-listing]'],
        ['listing-phone', `#/market/${listingId}`, '.price-headline'],
        ['account-phone', '#/account', '.amount'],
      ] as const) {
        await page.goto(`${server.url}/${hash}`);
        await page.locator(ready).first().waitFor();
        await shot(name);
        expect(await overflow(), name).toBeLessThanOrEqual(0);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('lets the publisher pause and resume its listing, and logged no console error', async () => {
    await signIn(publisherKey);
    await page.goto(`${server.url}/#/market/${listingId}`);
    await page.getByRole('heading', { name: 'Your listing' }).waitFor();
    await page.getByText('Publishers do not rate their own listings').waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('.page-head .badge', { hasText: 'paused' }).waitFor();
    expect((await buyer.getListing(listingId).catch(() => undefined))?.status).toBe('paused');
    await page.getByText('This listing is paused: it cannot be run now.').waitFor();
    await shot('listing-owner-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.page-head .badge', { hasText: 'active' }).waitFor();
    expect((await buyer.getListing(listingId)).status).toBe('active');
    // Retiring asks twice; "Keep it" leaves the listing as it was.
    await page.getByRole('button', { name: 'Retire…' }).click();
    await page.getByRole('button', { name: 'Keep it' }).click();
    expect((await buyer.getListing(listingId)).status).toBe('active');

    expect(consoleErrors.filter((e) => !isExpected(e))).toEqual([]);
  });
});

/**
 * The browser logs refused requests by itself: the 400 the test provoked with inputs the schema refuses.
 * Nothing else: the execution page of a buyer's run draws the publisher's workflow from the execution's
 * graph, not from its definition, which a buyer may not read.
 */
function isExpected(line: string): boolean {
  return /status of 400/.test(line);
}
