import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 * The dashboard in a real browser, served by a real `verity serve` with in-process workers: sign in, watch
 * an execution's steps turn completed live, read a failed step's error, verify a receipt in the page,
 * verify a dropped bundle with the API cut off (and a tampered one fail on the right check), a revoked key
 * sent back to sign-in; no console errors anywhere. Screenshots go to test-output/dashboard/.
 * Needs the built dashboard (npm run build → dist/web).
 */
const available = chromiumAvailable();
const SHOTS = join(REPO, 'test-output', 'dashboard');

const LIVE_WORKFLOW = {
  id: 'dash-live',
  name: 'Dashboard live',
  steps: [
    { id: 'prepare', step_type: 'data_processing', input_mappings: { n: 'inputs.n' }, expression: 'n + 1' },
    {
      id: 'wait',
      step_type: 'inference',
      depends_on: ['prepare'],
      model_requirements: { name: 'builtin/sleep' },
      input_mappings: { ms: '1500', n: 'steps.prepare.output' },
    },
    { id: 'finish', step_type: 'data_processing', input_mappings: { v: 'steps.wait.output.n' }, expression: 'v * 2' },
  ],
  outputs: { result: 'steps.finish.output' },
};

const FAILING_WORKFLOW = {
  id: 'dash-fail',
  name: 'Dashboard failure',
  steps: [
    { id: 'ok', step_type: 'data_processing', input_mappings: { x: '1' }, expression: 'x' },
    {
      id: 'explode',
      step_type: 'inference',
      depends_on: ['ok'],
      model_requirements: { name: 'builtin/fail' },
      input_mappings: { code: '"model_unavailable"', message: '"the model is on fire"', retryable: 'false' },
    },
  ],
};

describe.skipIf(!available)('the web dashboard in Chromium', () => {
  let dir: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let publisherKey: string;
  let publisher: VerityClient;
  let admin: VerityClient;
  let linearId: string;
  const consoleErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });

  beforeAll(async () => {
    if (!existsSync(join(REPO, 'dist', 'web', 'index.html')))
      throw new Error('dist/web is missing: run `npm run build` before this test');
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'verity-dashboard-'));
    server = await startServerProcess({ dataDir: join(dir, 'data'), workers: 4 });
    admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
    publisherKey = (await admin.createKey('acme', 'publisher')).token;
    publisher = new VerityClient({ server: server.url, apiKey: publisherKey });
    await publisher.publishWorkflow(LIVE_WORKFLOW);
    await publisher.publishWorkflow(FAILING_WORKFLOW);
    await publisher.publishWorkflow(readFileSync(join(REPO, 'examples', 'linear', 'workflow.yaml'), 'utf8'));
    const linear = await publisher.execute('text-report', {
      inputs: JSON.parse(readFileSync(join(REPO, 'examples', 'linear', 'input.json'), 'utf8')) as unknown,
    });
    linearId = linear.executionId;
    await publisher.waitFor(linearId);

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

  it('signs in with a pasted key, shows its role, and lists executions', async () => {
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shot('sign-in');
    await page.getByLabel('API key').fill('vrt_nope_nope');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The server does not know this key').waitFor();

    await page.getByLabel('API key').fill(publisherKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();
    expect(await page.locator('.role').textContent()).toBe('publisher');
    // The key is in session storage, never in the URL.
    expect(page.url()).not.toContain(publisherKey);
    await page.locator('table.list tbody tr').first().waitFor();
    expect(await page.locator('table.list').textContent()).toContain('text-report');
    await shot('executions');

    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.getByRole('heading', { name: 'Workflows' }).waitFor();
    await page.getByText('Dashboard live').waitFor();
    await shot('workflows');
  });

  it('shows a run started after the list opened, live from the list stream, until it completes', async () => {
    await page.goto(`${server.url}/#/executions`);
    await page.locator('table.list tbody tr').first().waitFor();
    await page.getByText('Live: rows change').waitFor();
    const started = await publisher.execute('dash-live', { inputs: { n: 2 } });
    const row = page.locator(`tr[data-execution="${started.executionId}"]`);
    await row.waitFor({ timeout: 10_000 });
    await page.locator(`tr[data-execution="${started.executionId}"][data-status="completed"]`).waitFor({
      timeout: 15_000,
    });
    expect(await row.locator('.steps-count').textContent()).toContain('3/3');
    expect(await row.textContent()).toContain('dash-live');
    // Started in local time, the exact ISO value on hover.
    expect(await row.locator('time').first().getAttribute('title')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    await shot('executions-live');

    // The workflow filter goes to the API: only that workflow's rows.
    await page.getByLabel('Workflow').fill('text-report');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/workflow=text-report/);
    await page.locator(`tr[data-execution="${linearId}"]`).waitFor();
    expect(await page.locator(`tr[data-execution="${started.executionId}"]`).count()).toBe(0);
  });

  it("follows an execution live: the graph's steps turn completed as they finish", async () => {
    const started = await publisher.execute('dash-live', { inputs: { n: 20 } });
    await page.goto(`${server.url}/#/executions/${started.executionId}`);
    await page.locator('.react-flow__node').first().waitFor();
    expect(await page.locator('.react-flow__node').count()).toBe(3);
    // Edges are drawn once React Flow has measured the nodes' handles (a vertical one has no width, so
    // Playwright never calls it visible: wait for it to be there).
    await page.locator('.react-flow__edge').nth(1).waitFor({ state: 'attached' });
    expect(await page.locator('.react-flow__edge').count()).toBe(2);
    // The sleeping step is seen running, then completed, without a reload.
    await page.locator('[data-step="wait"][data-status="running"]').waitFor({ timeout: 10_000 });
    await shot('execution-running');
    await page.locator('[data-step="finish"][data-status="completed"]').waitFor({ timeout: 15_000 });
    await page.getByText('ended', { exact: true }).waitFor();
    expect(await page.locator('.page-head .badge').textContent()).toContain('completed');
    await page.getByText('Result', { exact: true }).waitFor();
    await shot('execution-completed');

    // A completed step's panel: its resolved input, its output and the worker that ran it (GET …/steps/{id}).
    const detail = await publisher.getStep(started.executionId, 'wait');
    const workerId = detail.attempts[0]!.workerId!;
    await page.locator('button[data-step="wait"]').click();
    const panel = page.locator('.step-panel[data-step="wait"]');
    await panel.locator('.step-output pre').waitFor();
    expect(await panel.locator('.step-input pre').textContent()).toContain('1500');
    expect(JSON.parse((await panel.locator('.step-output pre').textContent())!)).toEqual(detail.output);
    expect(await panel.locator('.attempts .worker-id').first().textContent()).toBe(workerId);
    expect(await panel.locator('.step-model').textContent()).toContain('builtin/sleep');
    await shot('step-panel');
  });

  it("draws a raster image blob of a step's input from the authenticated download", async () => {
    // A 1×1 PNG.
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    const ref = await publisher.uploadBlob(new Uint8Array(png), 'image/png');
    await publisher.publishWorkflow({
      id: 'dash-blob',
      name: 'Dashboard blob',
      steps: [
        {
          id: 'look',
          step_type: 'inference',
          model_requirements: { name: 'builtin/echo' },
          input_mappings: { img: 'inputs.img' },
        },
      ],
    });
    const started = await publisher.execute('dash-blob', { inputs: { img: ref } });
    await publisher.waitFor(started.executionId);
    await page.goto(`${server.url}/#/executions/${started.executionId}`);
    await page.locator('button[data-step="look"]').click();
    const image = page.locator(`.step-panel .step-input .blob[data-blob="${ref.$blob}"] img`);
    await image.waitFor();
    const src = (await image.getAttribute('src'))!;
    expect(src.startsWith('blob:')).toBe(true);
    expect(src).not.toContain(publisherKey);
    // Decoded: the bytes arrived and the page's CSP let the object URL draw.
    await page.waitForFunction((digest) => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { naturalWidth: number } | null } })
        .document;
      return (doc.querySelector(`.step-input .blob[data-blob="${digest}"] img`)?.naturalWidth ?? 0) === 1;
    }, ref.$blob);
    await page.locator('.step-input .blob a', { hasText: 'Download' }).first().waitFor();
  });

  it('cancels a running execution from its page', async () => {
    const started = await publisher.execute('dash-live', { inputs: { n: 1 } });
    await page.goto(`${server.url}/#/executions/${started.executionId}`);
    await page.locator('[data-step="wait"][data-status="running"]').waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('.page-head .badge', { hasText: 'cancelled' }).waitFor({ timeout: 10_000 });
    expect((await publisher.status(started.executionId)).status).toBe('cancelled');
    await page.getByRole('button', { name: 'Retry' }).waitFor();
  });

  it("opens a failed step's error", async () => {
    const started = await publisher.execute('dash-fail');
    await publisher.waitFor(started.executionId);
    await page.goto(`${server.url}/#/executions/${started.executionId}`);
    await page.locator('button[data-step="explode"][data-status="failed"]').click();
    const panel = page.locator('.step-panel[data-step="explode"]');
    await panel.waitFor();
    expect(await panel.locator('.step-error').textContent()).toContain('model_unavailable');
    expect(await panel.locator('.step-error').textContent()).toContain('the model is on fire');
    // Its attempt, from GET …/steps/{id}, carries the same error.
    expect(await panel.locator('.attempts .attempt-error').first().textContent()).toContain('model_unavailable');
    // A failed execution of one's own may be retried, not cancelled.
    await page.getByRole('button', { name: 'Retry' }).waitFor();
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    await shot('execution-failed');
  });

  it('verifies the receipt in the page at level full, and pins the coordinator key', async () => {
    await page.goto(`${server.url}/#/executions/${linearId}`);
    // Only the hash changes: for a moment the page still shows the execution before (2 steps, ended too),
    // so wait for this one's graph before anything else.
    await expect.poll(() => page.locator('.react-flow__node').count(), { timeout: 10_000 }).toBe(5);
    await page.getByText('ended', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Verify receipt in this page' }).click();
    const verdict = page.locator('.report .verdict');
    await verdict.waitFor({ timeout: 20_000 });
    expect(await verdict.textContent()).toContain('Verified at level full');
    expect(await page.locator('.checks li.bad').count()).toBe(0);
    expect(await page.locator('.checks li.ok').count()).toBeGreaterThan(5);
    const keyId = (await admin.coordinatorKey()).keyid;
    expect(await page.locator('.receipt .fingerprint').textContent()).toBe(keyId);
    await page.locator('.receipt').scrollIntoViewIfNeeded();
    await shot('receipt-verified');

    // Another pinned key: the page warns loudly, verifies against the pin (which did not sign), and can re-pin.
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await page.evaluate((pem) => {
      (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(
        'verity.pinnedCoordinatorKey',
        pem,
      );
    }, other);
    await page.reload();
    await page.getByRole('button', { name: 'Verify receipt in this page' }).click();
    await page.locator('.receipt .alarm').waitFor({ timeout: 20_000 });
    await page.locator('.report .verdict.bad').waitFor();
    await page.locator('.receipt .alarm').scrollIntoViewIfNeeded();
    await shot('receipt-key-mismatch');
    await page.getByRole('button', { name: 'Pin the presented key' }).click();
    await page.getByRole('button', { name: 'Verify receipt in this page' }).click();
    await page.locator('.report .verdict.ok').waitFor({ timeout: 20_000 });
    expect(await page.locator('.receipt .alarm').count()).toBe(0);

    // The same page in the dark scheme.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    await shot('execution-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('verifies a dropped bundle with no server, and names the check a tampered one fails', async () => {
    const bundle = await publisher.receipt(linearId, { includeData: true });
    const pem = (await admin.coordinatorKey()).publicKeyPem;
    const good = join(dir, 'bundle.json');
    writeFileSync(good, JSON.stringify(bundle));
    // Flip one bit of the first attestation's signature.
    const tampered = structuredClone(bundle) as { attestations: { payload: string; signatures: { sig: string }[] }[] };
    const attestation = tampered.attestations[0]!;
    const sig = Buffer.from(attestation.signatures[0]!.sig, 'base64');
    sig[0]! ^= 1;
    attestation.signatures[0]!.sig = sig.toString('base64');
    const stepId = (
      JSON.parse(Buffer.from(attestation.payload, 'base64').toString('utf8')) as {
        predicate: { stepId: string };
      }
    ).predicate.stepId;
    const bad = join(dir, 'tampered.json');
    writeFileSync(bad, JSON.stringify(tampered));

    await page.getByRole('link', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Verify a bundle' }).waitFor();
    // The page must not need the API: every call to it fails from here on (installed once the previous
    // page, which streams, is gone).
    let apiCalls = 0;
    await page.route('**/v1/**', (route) => {
      apiCalls++;
      return route.abort();
    });
    try {
      await page.getByLabel('Coordinator public key (PEM)').fill(pem);
      await page.locator('[data-testid="bundle-file"]').setInputFiles(good);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.locator('.report .verdict.ok').waitFor({ timeout: 20_000 });
      expect(await page.locator('.checks li.bad').count()).toBe(0);
      await shot('verify-ok');

      await page.locator('[data-testid="bundle-file"]').setInputFiles(bad);
      await page.getByRole('button', { name: 'Verify', exact: true }).click();
      await page.locator('.report .verdict.bad').waitFor({ timeout: 20_000 });
      const failed = await page.locator('.checks li.bad').all();
      expect(await Promise.all(failed.map((item) => item.getAttribute('data-check')))).toEqual([
        `attestation.${stepId}`,
      ]);
      await shot('verify-tampered');
      expect(apiCalls).toBe(0);
    } finally {
      await page.unroute('**/v1/**');
    }
  });

  it('is usable on a phone-sized screen', async () => {
    // The same tab: the key is in its session storage.
    const phone = page;
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${server.url}/#/executions/${linearId}`);
    await phone.locator('.react-flow__node').first().waitFor();
    // Nothing wider than the screen: no sideways scrolling of the page itself.
    const overflow = await phone.evaluate(() => {
      // This project compiles without DOM types.
      const page = globalThis as unknown as {
        document: { documentElement: { scrollWidth: number } };
        innerWidth: number;
      };
      return page.document.documentElement.scrollWidth - page.innerWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: join(SHOTS, 'execution-phone.png') });
    await phone.setViewportSize({ width: 1280, height: 800 });
  });

  it('sends a revoked key back to sign-in, shows the workers page to the admin only, and logged no console error', async () => {
    const keys = await admin.listKeys();
    const mine = keys.find((k) => k.principal === 'acme' && k.role === 'publisher')!;
    await admin.revokeKey(mine.id);
    await page.goto(`${server.url}/#/executions`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 10_000 });
    await page.getByText('Sign in again').waitFor();
    await shot('signed-out');

    // A client key of a principal with nothing run yet: its role, and the list's empty state.
    const newcomer = (await admin.createKey('newcomer', 'client')).token;
    await page.getByLabel('API key').fill(newcomer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('No executions yet').waitFor();
    expect(await page.locator('.role').textContent()).toBe('client');
    await shot('executions-empty');
    // The workers page is the admin's: a client key has no entry for it in the nav.
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workers' }).count()).toBe(0);

    // The admin sees the in-process workers, and the job one of them holds under a lease.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').fill(server.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workers' }).click();
    await page.getByRole('heading', { name: 'Workers' }).waitFor();
    const local = page.locator('tr[data-kind="local"]');
    await local.first().waitFor();
    const workers = await admin.listWorkers();
    const inProcess = workers.find((w) => w.kind === 'local')!;
    expect(await page.locator(`tr[data-worker="${inProcess.id}"]`).textContent()).toContain('builtin/sleep');
    // A step that sleeps long enough for the page's next poll to see its job, then is cancelled.
    await admin.publishWorkflow({
      id: 'dash-nap',
      name: 'Dashboard nap',
      steps: [
        {
          id: 'nap',
          step_type: 'inference',
          model_requirements: { name: 'builtin/sleep' },
          input_mappings: { ms: '8000' },
        },
      ],
    });
    const running = await admin.execute('dash-nap');
    const job = page.locator('td.jobs li', { hasText: running.executionId.slice(0, 8) });
    await job.filter({ hasText: 'nap' }).waitFor({ timeout: 10_000 });
    expect(await job.first().textContent()).toContain('lease until');
    await shot('workers');
    await admin.cancel(running.executionId);
    expect(consoleErrors.filter((e) => !isExpected(e))).toEqual([]);
  });
});

/**
 * The browser logs failed requests to the console by itself: the wrong key's 401 at sign-in, the revoked
 * key's 401, and the requests this test aborted on purpose. Those are the test's doing, not the page's.
 */
function isExpected(line: string): boolean {
  return /status of 401|net::ERR_FAILED/.test(line);
}
