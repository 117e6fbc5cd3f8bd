import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerityClient } from '../../../src/sdk/client.js';
import { chromiumAvailable, launchChromium } from '../../support/chromium.js';
import { REPO } from '../../support/cli.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';

/**
 * The zk proving progress on an execution's page, in Chromium, against a real `verity serve` that proves
 * with the test circuit (one step per proof, so a five-step run is five batches): the panel says the
 * proofs come once the run completes, follows the batches, and ends on "Proved" with every batch counted.
 * Needs the built dashboard (npm run build → dist/web) and the test circuit's artifacts (made once).
 */
const available = chromiumAvailable();
const SHOTS = join(REPO, 'test-output', 'dashboard-zk');

describe.skipIf(!available)('the zk proving progress in Chromium', () => {
  let dir: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let admin: VerityClient;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    const zk = await ensureTestZkArtifacts();
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'verity-dashboard-zk-'));
    server = await startServerProcess({
      dataDir: join(dir, 'data'),
      workers: 2,
      env: {
        VERITY_ZK_DIR: zk.zkDir,
        VERITY_ZK_BATCH_SIZE: String(zk.config.batchSize),
        VERITY_ZK_REGISTRY_DEPTH: String(zk.config.registryDepth),
      },
    });
    admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
    await admin.publishWorkflow(readFileSync(join(REPO, 'examples', 'private-report', 'workflow.yaml'), 'utf8'));
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
    await page.goto(`${server.url}/`);
    await page.getByLabel('API key').fill(server.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();
  }, 30 * 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('follows the proofs of a zk execution from its steps to "Proved", every batch counted', async () => {
    const inputs = JSON.parse(readFileSync(join(REPO, 'examples', 'private-report', 'input.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const { executionId } = await admin.execute('private-report', { inputs });
    await page.goto(`${server.url}/#/executions/${executionId}`);
    const panel = page.locator('.zk-proving');
    await panel.waitFor();
    // Whatever state the page opens on (running, queued, proving), it ends proved, without a reload.
    await page.locator('.zk-proving[data-zk="proved"]').waitFor({ timeout: 180_000 });
    const view = await admin.status(executionId);
    const batches = view.zk!.batchesTotal;
    expect(view.zk).toMatchObject({ status: 'completed', batchesDone: batches });
    expect(batches).toBeGreaterThan(0);
    expect(await panel.getByRole('status').textContent()).toContain(`Proved: ${batches} batch`);
    expect(await panel.locator('progress').getAttribute('value')).toBe(String(batches));
    await page.screenshot({ path: join(SHOTS, 'zk-proved.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
  }, 240_000);
});
