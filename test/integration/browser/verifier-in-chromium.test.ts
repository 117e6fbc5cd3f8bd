import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerificationReport } from '../../../src/attest/verify/report.js';
import { buildBundle } from '../../../src/receipts/bundle.js';
import { chromiumAvailable, launchChromium } from '../../support/chromium.js';
import { echo, startTestNode, transform } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';

/**
 * The verifier in a real browser, at level full, with its expressions in a Web Worker: an honest bundle
 * verifies, and expressions built to hang the page (a catastrophic regex, an endless loop) are stopped
 * by terminating the worker while the page itself keeps running.
 */
const available = chromiumAvailable();

/** What the page has: the bundled verifier, and the browser's Worker (this project compiles without DOM types). */
interface PageGlobals {
  Verity: {
    verifyBundle(bundle: unknown, options: unknown): Promise<VerificationReport>;
    WebWorkerEvaluator: new (
      create: () => unknown,
      limits?: unknown,
    ) => { evaluate(sources: string[], input: unknown, options?: unknown): Promise<unknown[]> };
  };
  Worker: new (url: string) => unknown;
  setInterval(fn: () => void, ms: number): number;
  clearInterval(id: number): void;
  performance: { now(): number };
}

describe.skipIf(!available)('the verifier in Chromium', () => {
  let t: TestNode;
  let http: Server;
  let browser: Browser;
  let page: Page;
  let bundle: unknown;

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'browser-verify');
    const view = await t.run(
      {
        id: 'in-browser',
        steps: [
          transform('upper', '$uppercase(text)', { input_mappings: { text: 'inputs.text' } }),
          echo('model', {
            depends_on: ['upper'],
            when: '$length(steps.upper.output) > 0',
            input_mappings: { v: 'steps.upper.output & "!"' },
          }),
        ],
        outputs: { r: '$string(steps.model.output.v)' },
      },
      { text: 'hi' },
    );
    expect(view.status).toBe('completed');
    bundle = JSON.parse(
      JSON.stringify(await buildBundle(t.node.store, t.node.log, view.executionId, { includeData: true })),
    );
    const bundleCode = async (contents: string, globalName?: string) =>
      (
        await build({
          stdin: { contents, resolveDir: process.cwd(), loader: 'ts' },
          bundle: true,
          platform: 'browser',
          format: 'iife',
          ...(globalName && { globalName }),
          write: false,
          logLevel: 'silent',
          external: ['snarkjs', 'circomlibjs'],
        })
      ).outputFiles[0]!.text;
    const pageScript = await bundleCode(
      "export { verifyBundle, WebWorkerEvaluator } from './src/attest/index.ts';",
      'Verity',
    );
    const workerScript = await bundleCode("import './src/expressions/browser/web-worker-entry.ts';");
    const files: Record<string, [string, string]> = {
      '/': [
        'text/html',
        '<!doctype html><meta charset="utf-8"><title>verify</title><script src="/verity.js"></script>',
      ],
      '/verity.js': ['text/javascript', pageScript],
      '/expression-worker.js': ['text/javascript', workerScript],
    };
    http = createServer((request, response) => {
      const file = files[request.url ?? ''];
      if (!file) return response.writeHead(404).end();
      response
        .writeHead(200, { 'content-type': file[0], 'content-security-policy': "default-src 'self'; worker-src 'self'" })
        .end(file[1]);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => http?.close(resolve));
    await t?.close();
  });

  it('verifies a real bundle at level full, expressions in a Web Worker', async () => {
    const trustedKeys = [t.node.coordinatorSigner.publicKeyPem];
    const report = await page.evaluate(
      async ({ bundle, trustedKeys }) => {
        const page = globalThis as unknown as PageGlobals;
        const evaluator = new page.Verity.WebWorkerEvaluator(() => new page.Worker('/expression-worker.js'));
        return page.Verity.verifyBundle(bundle, { trustedKeys, level: 'full', evaluator });
      },
      { bundle, trustedKeys },
    );
    expect(report.checks.filter((c) => !c.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.checks.some((c) => c.name === 'condition.model' && c.ok)).toBe(true);
  });

  it('stops a catastrophic regex and an endless loop by terminating the worker, while the page keeps running', async () => {
    const outcome = await page.evaluate(async () => {
      const page = globalThis as unknown as PageGlobals;
      const evaluator = new page.Verity.WebWorkerEvaluator(() => new page.Worker('/expression-worker.js'), {
        timeoutMs: 500,
      });
      let ticks = 0;
      const timer = page.setInterval(() => ticks++, 10);
      const started = page.performance.now();
      const [regex] = await evaluator.evaluate(
        ['$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /(a+)+$/)'],
        {},
      );
      const [loop] = await evaluator.evaluate(['($f := function($n) { $f($n + 1) }; $f(0))'], {}, { timeoutMs: 300 });
      const [after] = await evaluator.evaluate(['1 + 1'], {});
      page.clearInterval(timer);
      return { regex, loop, after, ticks, ms: page.performance.now() - started };
    });
    expect(outcome.regex).toMatchObject({ ok: false, error: { code: 'timeout' } });
    expect(outcome.loop).toMatchObject({ ok: false });
    expect(outcome.after).toEqual({ ok: true, value: 2 });
    expect(outcome.ms).toBeLessThan(5_000);
    // The page's own event loop ran while the worker spun: about a second of 10 ms ticks.
    expect(outcome.ticks).toBeGreaterThan(40);
  });
});
