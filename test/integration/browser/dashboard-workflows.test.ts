import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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
 * The dashboard's workflow pages in a real browser against a real `verity serve` with in-process workers:
 * a workflow's versions, its definition as YAML and as a graph, a run from the form generated from its
 * input schema (bad values named before sending, the server's refusal shown), landing on the execution
 * as it completes; the definition checker marking the step each problem is about, and publishing.
 * Screenshots go to test-output/dashboard-workflows/. Needs the built dashboard (npm run build → dist/web).
 */
const available = chromiumAvailable();
const SHOTS = join(REPO, 'test-output', 'dashboard-workflows');

const FIRST = {
  id: 'form-run',
  name: 'Form run',
  steps: [{ id: 'only', step_type: 'data_processing', input_mappings: { x: '1' }, expression: 'x' }],
};

const SECOND = {
  id: 'form-run',
  name: 'Form run',
  description: 'Multiplies a number and labels it.',
  inputs: {
    type: 'object',
    required: ['n', 'label', 'mode'],
    properties: {
      n: { type: 'integer', minimum: 0, maximum: 100, description: 'The number to multiply' },
      // The form does not check patterns (the server does, with RE2): a refusal the page must show.
      label: { type: 'string', pattern: '^[a-z]+$', maxLength: 20 },
      mode: { enum: ['double', 'triple'], default: 'double' },
      note: { type: 'string' },
    },
  },
  steps: [
    {
      id: 'multiply',
      step_type: 'data_processing',
      input_mappings: { n: 'inputs.n', mode: 'inputs.mode' },
      expression: "mode = 'triple' ? n * 3 : n * 2",
    },
    {
      id: 'label',
      step_type: 'data_processing',
      depends_on: ['multiply'],
      input_mappings: { v: 'steps.multiply.output', l: 'inputs.label' },
      expression: "{ 'value': v, 'label': l }",
    },
  ],
  outputs: { result: 'steps.label.output' },
};

/** Every kind of field the form draws, and one it cannot (a oneOf): the step answers the inputs it got. */
const KINDS = {
  id: 'form-kinds',
  name: 'Form kinds',
  inputs: {
    type: 'object',
    required: ['loud', 'options'],
    properties: {
      tags: { type: 'array', items: { type: 'string' }, maxItems: 3, title: 'Tags' },
      colours: { type: 'array', items: { enum: ['red', 'green', 'blue'] }, title: 'Colours' },
      loud: { type: 'boolean', title: 'Loud' },
      quiet: { type: 'boolean', title: 'Quiet' },
      options: {
        type: 'object',
        title: 'Options',
        required: ['depth'],
        properties: { depth: { type: 'integer', title: 'Depth' }, ratio: { type: 'number', title: 'Ratio' } },
      },
      either: { oneOf: [{ type: 'string' }, { type: 'number' }], title: 'Either' },
    },
  },
  steps: [{ id: 'echo', step_type: 'data_processing', input_mappings: { all: 'inputs' }, expression: 'all' }],
};

const BROKEN = `id: broken
steps:
  - id: start
    step_type: data_processing
    depends_on: [ghost]
    expression: "1"
  - id: ping
    step_type: data_processing
    depends_on: [pong]
    expression: "1"
  - id: pong
    step_type: data_processing
    depends_on: [ping]
    expression: "1"
  - id: fine
    step_type: data_processing
    depends_on: [start]
    expression: "2"
`;

describe.skipIf(!available)('the workflow pages of the dashboard in Chromium', () => {
  let dir: string;
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let publisherKey: string;
  const consoleErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const noSidewaysScroll = async () => {
    // What is wider than the screen, by tag and class, if anything (this project compiles without DOM types).
    const wide = await page.evaluate(() => {
      type El = {
        tagName: string;
        className: unknown;
        getBoundingClientRect: () => { right: number };
        closest: (s: string) => unknown;
      };
      const view = globalThis as unknown as {
        innerWidth: number;
        document: { querySelectorAll: (s: string) => Iterable<El> };
      };
      return (
        [...view.document.querySelectorAll('body *')]
          // What scrolls or clips inside its own box (the graph's canvas, a table, a text) is not the page's width.
          .filter((el) => !el.closest('.react-flow, .table-wrap, pre, textarea'))
          .filter((el) => el.getBoundingClientRect().right > view.innerWidth + 1)
          .map((el) => `${el.tagName}.${String(el.className)}`)
          .slice(0, 5)
      );
    });
    expect(wide).toEqual([]);
  };

  beforeAll(async () => {
    if (!existsSync(join(REPO, 'dist', 'web', 'index.html')))
      throw new Error('dist/web is missing: run `npm run build` before this test');
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'verity-dashboard-workflows-'));
    server = await startServerProcess({ dataDir: join(dir, 'data'), workers: 2 });
    const admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
    publisherKey = (await admin.createKey('acme', 'publisher')).token;
    const publisher = new VerityClient({ server: server.url, apiKey: publisherKey });
    await publisher.publishWorkflow(FIRST);
    await publisher.publishWorkflow(SECOND);
    await publisher.publishWorkflow(KINDS);

    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${page.url()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
    await page.goto(`${server.url}/`);
    await page.getByLabel('API key').fill(publisherKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens a workflow from the list: its versions, digest, YAML and graph', async () => {
    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.getByRole('link', { name: 'Form run' }).click();
    await page.waitForURL(/#\/workflows\/form-run$/);
    await page.getByRole('heading', { name: /Form run\s+v2/ }).waitFor();
    expect(await page.locator('.facts').textContent()).toContain('the latest');

    const yaml = await page.locator('pre.definition-yaml').textContent();
    expect(yaml).toContain('id: form-run');
    expect(yaml).toContain('step_type: data_processing');
    expect(yaml).toContain("mode = 'triple' ? n * 3 : n * 2");

    await page.locator('.react-flow__node[data-step="label"]').waitFor();
    expect(await page.locator('.react-flow__node').count()).toBe(2);
    expect(await page.locator('.react-flow__edge').count()).toBe(1);

    const versions = page.locator('tr[data-version]');
    expect(await versions.count()).toBe(2);
    expect(await versions.first().getAttribute('data-version')).toBe('2');
    expect(await page.getByRole('link', { name: 'Its executions' }).getAttribute('href')).toBe(
      '#/executions?workflow=form-run',
    );
    await shot('workflow');

    // The older version: its own definition, without the form fields (it declares no inputs).
    await page.getByRole('link', { name: 'v1', exact: true }).click();
    await page.waitForURL(/#\/workflows\/form-run\/versions\/1$/);
    await page.getByText('not the latest (v2)').waitFor();
    expect(await page.locator('.react-flow__node').count()).toBe(1);
    await page.getByLabel('Inputs (JSON)').waitFor();
    await shot('workflow-v1');
  });

  it('runs it from the form generated from its input schema and lands on the completed execution', async () => {
    await page.goto(`${server.url}/#/workflows/form-run`);
    const run = page.getByRole('button', { name: 'Run v2' });
    await run.waitFor();
    // The enum starts at its default; the required fields are marked.
    expect(await page.getByLabel(/^mode/).inputValue()).toBe('0');

    // Nothing filled: each required field is named, and nothing is sent.
    await run.click();
    await page.getByText('inputs.n: required; fill it in').waitFor();
    await page.getByText('inputs.label: required; fill it in').waitFor();
    expect(page.url()).toMatch(/#\/workflows\/form-run$/);
    await page.getByLabel(/^n\b/).fill('seven');
    await run.click();
    await page.getByText('inputs.n: must be a whole number').waitFor();
    await page.getByLabel(/^n\b/).fill('700');
    await run.click();
    await page.getByText('inputs.n: must be at most 100').waitFor();
    await shot('workflow-form-errors');

    // What only the server checks (the pattern): its 400 names the field.
    await page.getByLabel(/^n\b/).fill('7');
    await page.getByLabel(/^label/).fill('Seven!');
    await run.click();
    const refusal = page.locator('.run-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('inputs.label');
    await shot('workflow-server-refusal');

    await page.getByLabel(/^label/).fill('seven');
    await page.getByLabel(/^mode/).selectOption({ label: 'triple' });
    await run.click();
    await page.waitForURL(/#\/executions\/[^/]+$/);
    await page.locator('.step-button[data-step="label"][data-status="completed"]').waitFor({ timeout: 15_000 });
    await page.getByText('"label": "seven"').waitFor({ timeout: 10_000 });
    expect(await page.locator('details.card pre').first().textContent()).toContain('"value": 21');
    await shot('workflow-run-completed');
  });

  it('draws lists, choices, checkboxes, nested objects and a JSON field, and sends what they hold', async () => {
    await page.goto(`${server.url}/#/workflows/form-kinds`);
    const run = page.getByRole('button', { name: 'Run v1' });
    await run.waitFor();
    await page.getByLabel(/^Tags/).fill('alpha\nbeta gamma');
    await page.getByLabel('green', { exact: true }).check();
    await page.getByLabel('red', { exact: true }).check();
    await page.getByLabel('Loud', { exact: true }).check();
    await page.getByLabel(/^Quiet/).selectOption('false');
    await page.getByLabel(/^Ratio/).fill('0.5');
    await page.getByLabel(/^Either/).fill('not json');
    await run.click();
    // The nested required field and the bad JSON, each named; the focus on the first.
    await page.getByText('inputs.options.depth: required; fill it in').waitFor();
    await page.getByText(/^inputs\.either: not JSON/).waitFor();
    const focused = await page.evaluate(
      () =>
        (globalThis as unknown as { document: { activeElement: { id: string } | null } }).document.activeElement?.id,
    );
    expect(focused).toBe(await page.getByLabel(/^Depth/).getAttribute('id'));
    await shot('workflow-form-kinds');
    await page.getByLabel(/^Depth/).fill('4');
    await page.getByLabel(/^Either/).fill('12');
    await run.click();
    await page.waitForURL(/#\/executions\/[^/]+$/);
    await page.locator('.step-button[data-step="echo"][data-status="completed"]').waitFor({ timeout: 15_000 });
    const result = await page.locator('details.card pre').first().textContent();
    expect(JSON.parse(result ?? 'null')).toEqual({
      tags: ['alpha', 'beta gamma'],
      colours: ['red', 'green'],
      loud: true,
      quiet: false,
      options: { depth: 4, ratio: 0.5 },
      either: 12,
    });
  });

  it('marks the step each problem is about in the checker, lists the rest, and publishes what passes', async () => {
    await page.goto(`${server.url}/#/workflows`);
    await page.getByRole('link', { name: 'Check a definition' }).click();
    await page.getByRole('heading', { name: 'Check a definition' }).waitFor();
    const editor = page.getByLabel('Definition (YAML or JSON)');
    await editor.fill(BROKEN);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.getByText('✗ 2 errors').waitFor();

    // The unknown dependency is on "start", the cycle on "ping" (where it closes); the others are clean.
    const start = page.locator('.react-flow__node[data-step="start"]');
    const ping = page.locator('.react-flow__node[data-step="ping"]');
    expect(await start.getAttribute('data-mark')).toBe('bad');
    expect(await start.getAttribute('title')).toContain('unknown step "ghost"');
    expect(await start.textContent()).toContain('1 error');
    expect(await ping.getAttribute('data-mark')).toBe('bad');
    expect(await ping.getAttribute('title')).toContain('dependency cycle ping -> pong -> ping');
    expect(await page.locator('.react-flow__node[data-step="pong"]').getAttribute('data-mark')).toBe('');
    expect(await page.locator('.react-flow__node[data-step="fine"]').getAttribute('data-mark')).toBe('');
    const listed = page.getByRole('list', { name: 'issues on steps' });
    expect(await listed.textContent()).toContain('steps[0].depends_on[0]');
    await shot('checker-errors');
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('checker-errors-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    // A problem of no one step is listed above the graph.
    await editor.fill(BROKEN.replace('id: broken', 'id: "Not An Id!"'));
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.getByText(/✗ [3-9] errors/).waitFor();
    const apart = page.getByRole('list', { name: 'issues not on a step' });
    expect(await apart.locator('li').first().getAttribute('data-path')).toBe('id');

    // Text that is not YAML: no graph, and the server's answer says where.
    await editor.fill('steps: [\n  - id: a');
    expect(await page.getByText('does not parse as YAML or JSON').count()).toBe(1);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.getByText(/✗ \d+ error/).waitFor();
    expect(await page.locator('.issues li').first().textContent()).toMatch(/line \d+/);

    // Opened from the workflow's page, edited into a valid v3, checked and published.
    await page.goto(`${server.url}/#/workflows/form-run`);
    await page.getByRole('link', { name: 'Open in the checker' }).click();
    await page.waitForURL(/#\/check\?workflow=form-run&version=2$/);
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as { document: { querySelector: (s: string) => { value: string } | null } })
        .document;
      return doc.querySelector('#definition-text')?.value.includes('id: form-run') === true;
    });
    const text = await editor.inputValue();
    await editor.fill(text.replace('Multiplies a number and labels it.', 'Multiplies a number, labels it.'));
    const publish = page.getByRole('button', { name: 'Publish' });
    expect(await publish.isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.getByText('✓ Valid: 2 steps').waitFor();
    expect(await page.locator('.react-flow__node[data-mark="bad"]').count()).toBe(0);
    await publish.click();
    await page.getByRole('link', { name: 'open form-run v3' }).click();
    await page.getByRole('heading', { name: /Form run\s+v3/ }).waitFor();
    expect(await page.locator('tr[data-version]').count()).toBe(3);
  });

  it('fits a phone-sized screen, light and dark', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${server.url}/#/workflows/form-run`);
      await page.locator('.react-flow__node').first().waitFor();
      await noSidewaysScroll();
      await shot('workflow-phone');
      await page.emulateMedia({ colorScheme: 'dark' });
      await shot('workflow-phone-dark');
      await page.emulateMedia({ colorScheme: 'light' });

      await page.goto(`${server.url}/#/check`);
      await page.getByRole('button', { name: 'Check', exact: true }).click();
      await page.getByText('✓ Valid').waitFor();
      await noSidewaysScroll();
      await shot('checker-phone');
      await page.goto(`${server.url}/#/workflows`);
      await page.locator('tr[data-workflow="form-run"]').waitFor();
      await shot('workflows-phone');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('logged no console error on any page', () => {
    // The browser logs a failed request by itself: the one 400 is the refusal this test provoked.
    const refused = consoleErrors.filter((line) => /#\/workflows\/form-run: .*status of 400/.test(line));
    expect(refused).toHaveLength(1);
    expect(consoleErrors.filter((line) => !refused.includes(line))).toEqual([]);
  });
});
