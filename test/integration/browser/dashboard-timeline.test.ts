import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerityClient } from '../../../src/sdk/client.js';
import { chromiumAvailable, launchChromium } from '../../support/chromium.js';
import { REPO } from '../../support/cli.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * The execution timeline, the graph's keyboard and the metrics page in a real browser, against a real
 * `verity serve` with in-process workers: a step that fails once and then succeeds has two bars on its
 * row, live; Enter on a focused graph node or bar opens the step and Escape closes it; the metrics page
 * draws its uPlot charts under the dashboard's CSP. No console errors anywhere. Screenshots go to
 * test-output/dashboard-timeline/. Needs the built dashboard (npm run build → dist/web).
 */
const available = chromiumAvailable();
const SHOTS = join(REPO, 'test-output', 'dashboard-timeline');

const RETRY_WORKFLOW = {
  id: 'dash-retry',
  name: 'Dashboard retry',
  steps: [
    {
      id: 'warm',
      step_type: 'inference',
      model_requirements: { name: 'builtin/sleep' },
      input_mappings: { ms: '700' },
    },
    {
      id: 'wobbly',
      step_type: 'inference',
      depends_on: ['warm'],
      model_requirements: { name: 'builtin/flaky' },
      input_mappings: { fail_times: '1' },
      retry_policy: { max_attempts: 3, initial_backoff_ms: 600 },
    },
    {
      id: 'settle',
      step_type: 'inference',
      depends_on: ['wobbly'],
      model_requirements: { name: 'builtin/sleep' },
      input_mappings: { ms: '500' },
    },
  ],
};

describe.skipIf(!available)('the execution timeline and the metrics page in Chromium', () => {
  let dir: string;
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let admin: VerityClient;
  let executionId: string;
  const consoleErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (!existsSync(join(REPO, 'dist', 'web', 'index.html')))
      throw new Error('dist/web is missing: run `npm run build` before this test');
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'verity-timeline-'));
    server = await startServerProcess({ dataDir: join(dir, 'data'), workers: 2 });
    admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
    await admin.publishWorkflow(RETRY_WORKFLOW);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
    await page.goto(`${server.url}/`);
    await page.getByLabel('API key').fill(server.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('draws each attempt as a bar, live: the retried step has two on its row', async () => {
    const started = await admin.execute('dash-retry');
    executionId = started.executionId;
    await page.goto(`${server.url}/#/executions/${executionId}`);
    const timeline = page.getByLabel('timeline of attempts');
    // Live: the first bar appears while the execution runs, before the retry.
    await timeline.locator('[data-timeline-step="warm"]').first().waitFor({ timeout: 10_000 });
    if ((await timeline.locator('[data-timeline-step="settle"]').count()) === 0) await shot('timeline-live');
    await timeline.locator('[data-timeline-step="settle"][data-outcome="completed"]').waitFor({ timeout: 20_000 });

    const wobbly = timeline.locator('[data-timeline-step="wobbly"]');
    expect(await wobbly.count()).toBe(2);
    expect(await wobbly.nth(0).getAttribute('data-outcome')).toBe('failed');
    expect(await wobbly.nth(0).getAttribute('data-attempt')).toBe('1');
    expect(await wobbly.nth(1).getAttribute('data-outcome')).toBe('completed');
    expect(await wobbly.nth(1).getAttribute('data-attempt')).toBe('2');
    expect(await timeline.locator('[data-timeline-step="warm"]').count()).toBe(1);
    // The retry comes after the failure, later along the same row.
    const [first, second] = [await wobbly.nth(0).boundingBox(), await wobbly.nth(1).boundingBox()];
    expect(second!.x).toBeGreaterThan(first!.x);
    expect(Math.abs(second!.y - first!.y)).toBeLessThan(1);

    // Hover shows the attempt's worker, times and error.
    await wobbly.nth(0).hover();
    const tip = timeline.locator('.attempt-tip');
    await tip.waitFor();
    const text = (await tip.textContent())!;
    expect(text).toContain('wobbly · attempt 1');
    expect(text).toContain('failed');
    expect(text).toContain('flaky');
    expect(text).toContain('builtin/flaky fails attempt 1');
    expect(text).toMatch(/worker \S+/);
    expect(await tip.locator('time').first().getAttribute('title')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    await shot('timeline-hover');

    // A click opens the step's panel, with both attempts.
    await wobbly.nth(1).click();
    const panel = page.locator('.step-panel[data-step="wobbly"]');
    await panel.waitFor();
    await expect.poll(() => panel.locator('li.attempt').count()).toBe(2);
    await shot('timeline-opened');
  });

  it('opens a step with Enter on a focused graph node or bar, and closes it with Escape', async () => {
    await page.goto(`${server.url}/#/executions/${executionId}`);
    const node = page.locator('.react-flow__node[data-id="settle"]');
    await node.waitFor();
    await node.focus();
    await page.keyboard.press('Enter');
    await page.locator('.step-panel[data-step="settle"]').waitFor();
    await page.keyboard.press('Escape');
    await page.locator('.step-panel').waitFor({ state: 'detached' });

    // Tab order reaches the graph's nodes from the page.
    await page.locator('.react-flow__node[data-id="warm"]').focus();
    await page.keyboard.press('Tab');
    expect(await page.locator('.react-flow__node:focus').getAttribute('data-id')).toBe('wobbly');
    await page.keyboard.press(' ');
    await page.locator('.step-panel[data-step="wobbly"]').waitFor();
    await page.keyboard.press('Escape');

    const bar = page.locator('[data-timeline-step="warm"]');
    await bar.focus();
    expect(await page.locator('.attempt-tip').textContent()).toContain('warm · attempt 1');
    await page.keyboard.press('Enter');
    await page.locator('.step-panel[data-step="warm"]').waitFor();
    await shot('keyboard-bar');
  });

  it('shows the timeline on a phone and in the dark', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${server.url}/#/executions/${executionId}`);
    await page.locator('[data-timeline-step="wobbly"]').first().waitFor();
    await shot('timeline-dark');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.locator('[data-timeline-step="wobbly"]').first().waitFor();
    const box = await page.getByLabel('timeline of attempts').boundingBox();
    expect(box!.width).toBeLessThanOrEqual(390);
    await shot('timeline-phone-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await shot('timeline-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('draws the last hour on the metrics page with uPlot, refreshed', async () => {
    await page.goto(`${server.url}/#/executions`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Metrics' }).click();
    await page.getByRole('heading', { name: 'Metrics' }).waitFor();
    await page.locator('.metric-chart canvas').first().waitFor();
    expect(await page.locator('.metric-chart canvas').count()).toBe(4);
    // Numbers the page shows match the summary the API gives.
    const summary = await admin.metricsSummary();
    expect(summary.totals.stepsCompleted).toBeGreaterThanOrEqual(3);
    expect(await page.locator('[data-metric="steps-completed"] dd').textContent()).toBe(
      summary.totals.stepsCompleted.toLocaleString('en-US'),
    );
    expect(await page.locator('[data-metric="executions-completed"] dd').textContent()).toBe('1');
    expect(await page.locator('[data-metric="latency-p95"] dd').textContent()).toMatch(/^\d+(\.\d)? (ms|s)$/);
    expect(await page.locator('[data-metric="queue-depth"] dd').textContent()).toBe('0');
    // uPlot's legend carries the series the charts draw.
    expect(await page.locator('.metric-chart .u-legend').first().textContent()).toContain('steps completed');
    // The canvas has been drawn on: some pixel is not transparent.
    const drawn = await page
      .locator('.metric-chart canvas')
      .first()
      .evaluate((element) => {
        // The test's types know no DOM: the canvas as much of it as this reads.
        const canvas = element as unknown as {
          width: number;
          height: number;
          getContext(kind: '2d'): { getImageData(...box: number[]): { data: Uint8ClampedArray } };
        };
        const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
        for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) return true;
        return false;
      });
    expect(drawn).toBe(true);
    await shot('metrics');

    // A new execution shows up at the next refresh (every 10 s).
    await admin.waitFor((await admin.execute('dash-retry')).executionId);
    await expect
      .poll(async () => page.locator('[data-metric="executions-completed"] dd').textContent(), { timeout: 15_000 })
      .toBe('2');

    await page.emulateMedia({ colorScheme: 'dark' });
    await page.locator('.metric-chart canvas').first().waitFor();
    await shot('metrics-dark');
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('metrics-phone-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await shot('metrics-phone');
  }, 30_000);

  it('logged no console errors (CSP included)', () => {
    expect(consoleErrors).toEqual([]);
  });
});
