import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
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
 * The dashboard with large things in it, structurally (the timings are bench/dashboard-scale.ts's): a
 * 1,000-step graph is drawn; a list longer than a page shows one page and pages forward and back in a
 * stable order; the status chips and the workflow filter narrow it and live in the URL; every page fits
 * 1280×800 and 390×844 in light and dark without scrolling the page sideways; keyboard focus is visible.
 * Screenshots go to test-output/dashboard-scale/. Needs the built dashboard (npm run build → dist/web).
 */
const available = chromiumAvailable();
const SHOTS = join(REPO, 'test-output', 'dashboard-scale');
const PAGE_ROWS = 25;
const OK_RUNS = 50;
const FAILED_RUNS = 4;
const rows = (page: Page) => page.locator('table.list tbody tr');
const firstRowId = (page: Page) => rows(page).first().getAttribute('data-execution');
/** Waits for a value in the page to come right (waitForFunction would eval a string, which the CSP forbids). */
const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });

const GRID = {
  id: 'scale-grid',
  name: '20 × 50 grid',
  steps: Array.from({ length: 1000 }, (_, i) => {
    const [rank, j] = [Math.floor(i / 50), i % 50];
    return {
      id: `s${rank}_${j}`,
      step_type: 'data_processing',
      input_mappings: { x: '1' },
      expression: 'x',
      ...(rank > 0 && { depends_on: [`s${rank - 1}_${j}`, `s${rank - 1}_${(j + 1) % 50}`] }),
    };
  }),
};
const ONE = {
  id: 'scale-one',
  name: 'One step',
  steps: [{ id: 'only', step_type: 'data_processing', input_mappings: { x: '1' }, expression: 'x' }],
};
const FAILING = {
  id: 'scale-fail',
  name: 'Always fails',
  steps: [
    {
      id: 'boom',
      step_type: 'inference',
      model_requirements: { name: 'builtin/fail' },
      input_mappings: { code: '"model_unavailable"', retryable: 'false' },
    },
  ],
};

describe.skipIf(!available)('the dashboard at scale, in Chromium', () => {
  let dir: string;
  let server: ServerProcess;
  let browser: Browser;
  let publisherKey: string;
  let gridRun: string;
  let failedRun: string;
  const consoleErrors: string[] = [];

  const open = async (apiKey: string, role: string, viewport = { width: 1280, height: 800 }, dark = false) => {
    const context = await browser.newContext({ viewport, colorScheme: dark ? 'dark' : 'light' });
    // Strings run in the page: this project compiles without DOM types.
    await context.addInitScript(
      `sessionStorage.setItem('verity.apiKey', ${JSON.stringify(apiKey)});
       sessionStorage.setItem('verity.role', ${JSON.stringify(JSON.stringify({ role, principal: 'acme' }))});`,
    );
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
    return { context, page };
  };
  const rowIds = (page: Page) =>
    page.evaluate<string[]>(`[...document.querySelectorAll('table.list tbody tr')].map((r) => r.dataset.execution)`);

  beforeAll(async () => {
    if (!existsSync(join(REPO, 'dist', 'web', 'index.html')))
      throw new Error('dist/web is missing: run `npm run build` before this test');
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'verity-dashboard-scale-'));
    server = await startServerProcess({ dataDir: join(dir, 'data'), workers: 2 });
    const admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
    publisherKey = (await admin.createKey('acme', 'publisher')).token;
    const publisher = new VerityClient({ server: server.url, apiKey: publisherKey });
    for (const workflow of [GRID, ONE, FAILING]) await publisher.publishWorkflow(workflow);
    gridRun = (await publisher.execute(GRID.id, {})).executionId;
    await publisher.waitFor(gridRun);
    for (let i = 0; i < OK_RUNS; i += 10)
      await Promise.all(Array.from({ length: 10 }, () => publisher.execute(ONE.id, {})));
    const failed = await Promise.all(Array.from({ length: FAILED_RUNS }, () => publisher.execute(FAILING.id, {})));
    failedRun = failed[0]!.executionId;
    while ((await publisher.listExecutions({ status: ['running'], limit: 1 })).executions.length > 0)
      await new Promise((resolve) => setTimeout(resolve, 200));
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('draws a 1,000-step graph in ranks, and lists every step', async () => {
    const { context, page } = await open(publisherKey, 'publisher');
    await page.goto(`${server.url}/#/executions/${gridRun}`);
    await page.locator('.react-flow__node').first().waitFor({ timeout: 60_000 });
    expect(await page.locator('.step-list [data-step]').count()).toBe(1000);
    // Only the nodes in view are in the DOM (React Flow's onlyRenderVisibleElements), not all 1,000.
    expect(await page.locator('.react-flow__node').count()).toBeLessThan(300);
    // Of the nodes drawn, a later rank is always below an earlier one: the layout is the ranked one.
    const drawn: { rank: number; y: number }[] = [];
    for (const node of await page.locator('.react-flow__node').all()) {
      const rank = Number(/^s(\d+)_/.exec((await node.getAttribute('data-id')) ?? '')?.[1]);
      drawn.push({ rank, y: (await node.boundingBox())!.y });
    }
    const ranks = new Set(drawn.map((d) => d.rank));
    expect(ranks.size).toBeGreaterThan(1);
    for (const a of drawn) for (const b of drawn) if (a.rank < b.rank) expect(a.y).toBeLessThan(b.y);
    await page.locator('.dag').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'graph-1000.png') });
    await context.close();
  }, 90_000);

  it('shows one page of a long list, and pages forward and back in a stable order', async () => {
    const { context, page } = await open(publisherKey, 'publisher');
    await page.goto(`${server.url}/#/executions`);
    await page.locator('table.list tbody tr').first().waitFor();
    const total = 1 + OK_RUNS + FAILED_RUNS;
    const pages = [await rowIds(page)];
    expect(pages[0]).toHaveLength(PAGE_ROWS);
    while (await page.getByRole('button', { name: 'Older →' }).isEnabled()) {
      const before = pages.at(-1)![0];
      await page.getByRole('button', { name: 'Older →' }).click();
      await poll(() => firstRowId(page)).not.toBe(before);
      pages.push(await rowIds(page));
    }
    expect(pages.map((p) => p.length)).toEqual([PAGE_ROWS, PAGE_ROWS, total - 2 * PAGE_ROWS]);
    expect(new Set(pages.flat()).size).toBe(total);
    // Back to the newest page: the same rows in the same order as on the way forward.
    for (const expected of pages.slice(0, -1).reverse()) {
      await page.getByRole('button', { name: '← Newer' }).click();
      await poll(() => firstRowId(page)).toBe(expected[0]);
      expect(await rowIds(page)).toEqual(expected);
    }
    expect(await page.getByRole('button', { name: '← Newer' }).isDisabled()).toBe(true);
    await context.close();
  });

  it('filters by several statuses and by workflow, with the filters in the URL', async () => {
    const { context, page } = await open(publisherKey, 'publisher');
    await page.goto(`${server.url}/#/executions`);
    await page.locator('table.list tbody tr').first().waitFor();
    await page.getByRole('button', { name: 'failed', exact: true }).click();
    await poll(() => page.url()).toContain('status=failed');
    await page.locator('table.list tbody tr[data-status="failed"]').first().waitFor();
    const statuses = () =>
      page.evaluate<string[]>(`[...document.querySelectorAll('table.list tbody tr')].map((r) => r.dataset.status)`);
    expect(await statuses()).toEqual(Array(FAILED_RUNS).fill('failed'));
    expect(await page.getByRole('button', { name: 'failed', exact: true }).getAttribute('aria-pressed')).toBe('true');

    await page.getByRole('button', { name: 'completed', exact: true }).click();
    await poll(() => decodeURIComponent(page.url())).toContain('status=completed,failed');
    await poll(() => rows(page).count()).toBe(PAGE_ROWS);
    expect(new Set(await statuses())).toEqual(new Set(['completed', 'failed']));

    await page.getByLabel('Workflow').fill(FAILING.id);
    await page.getByRole('button', { name: 'Filter' }).click();
    await poll(() => page.url()).toContain('workflow=scale-fail');
    await poll(() => rows(page).count()).toBe(FAILED_RUNS);
    await page.screenshot({ path: join(SHOTS, 'executions-filtered.png') });

    // A link made of the URL opens the same filtered list; a status the list does not know is said so.
    const url = page.url();
    await page.goto(`${server.url}/#/workflows`);
    await page.goto(url);
    await poll(() => rows(page).count()).toBe(FAILED_RUNS);
    expect(await page.getByRole('button', { name: 'completed', exact: true }).getAttribute('aria-pressed')).toBe(
      'true',
    );
    expect(await page.getByLabel('Workflow').inputValue()).toBe(FAILING.id);
    await page.goto(`${server.url}/#/executions?status=failed,exploded`);
    await page.getByText('does not know').waitFor();
    expect(await page.locator('.notice').textContent()).toContain('exploded');
    await context.close();
  });

  for (const [name, viewport] of [
    ['desktop', { width: 1280, height: 800 }],
    ['mobile', { width: 390, height: 844 }],
  ] as const) {
    for (const dark of [false, true]) {
      it(`fits every page at ${viewport.width}×${viewport.height}, ${dark ? 'dark' : 'light'}`, async () => {
        const pages: [string, string, string][] = [
          ['executions', '#/executions', 'table.list tbody tr'],
          ['execution', `#/executions/${failedRun}`, '.react-flow__node'],
          ['workflows', '#/workflows', 'table.list tbody tr'],
          ['workers', '#/workers', 'table.list tbody tr'],
          ['verify', '#/verify', 'h1'],
        ];
        for (const [label, hash, ready] of pages) {
          const admin = label === 'workers';
          const { context, page } = await open(
            admin ? server.adminKey : publisherKey,
            admin ? 'admin' : 'publisher',
            viewport,
            dark,
          );
          await page.goto(`${server.url}/${hash}`);
          await page.locator(ready).first().waitFor({ timeout: 60_000 });
          await page.screenshot({ path: join(SHOTS, `${label}-${name}-${dark ? 'dark' : 'light'}.png`) });
          // Wide tables scroll inside their wrapper; the page itself never scrolls sideways.
          const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - innerWidth');
          expect(overflow, `${label} is wider than the window`).toBeLessThanOrEqual(0);
          await context.close();
        }
      }, 120_000);
    }
  }

  it('reaches the status chips with the keyboard, with the focus drawn', async () => {
    const { context, page } = await open(publisherKey, 'publisher');
    await page.goto(`${server.url}/#/executions`);
    await page.locator('table.list tbody tr').first().waitFor();
    let focused = '';
    for (let i = 0; i < 15 && focused !== 'running'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>(`document.activeElement?.getAttribute('data-chip') ?? ''`);
    }
    expect(focused).toBe('running');
    const outline = await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await poll(() => page.url()).toContain('status=running');
    await page.screenshot({ path: join(SHOTS, 'keyboard-focus.png') });
    await context.close();
  });

  it('wrote no console errors', () => {
    expect(consoleErrors).toEqual([]);
  });
});
