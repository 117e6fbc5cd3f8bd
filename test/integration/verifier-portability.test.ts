import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerificationReport } from '../../src/attest/verify/report.js';
import { buildBundle } from '../../src/receipts/bundle.js';
import { echo, startTestNode, transform } from '../support/node.js';
import type { TestNode } from '../support/node.js';

/**
 * The verifier must run unchanged in a browser. Bundle it for the browser platform (esbuild refuses Node
 * built-ins there) and run it in a bare JavaScript context that has only what a browser has (WebCrypto,
 * TextEncoder, atob): no process, no require, no Buffer.
 */
let t: TestNode;
let bundle: unknown;

beforeAll(async () => {
  t = await startTestNode('sqlite', 'portable');
  const view = await t.run(
    {
      id: 'portable',
      steps: [
        transform('upper', '$uppercase(text)', { input_mappings: { text: 'inputs.text' } }),
        echo('model', { input_mappings: { v: 'steps.upper.output' } }),
      ],
    },
    { text: 'hi' },
  );
  bundle = JSON.parse(
    JSON.stringify(await buildBundle(t.node.store, t.node.log, view.executionId, { includeData: true })),
  );
});
afterAll(() => t.close());

describe('the verifier in a browser-like context', () => {
  it('bundles for the browser without Node built-ins and verifies a real bundle at both levels', async () => {
    const result = await build({
      // verity/verify's entry, with the evaluator that runs in the calling thread: this context has no Web Workers.
      stdin: {
        contents: "export { verifyBundle, InlineEvaluator } from './src/attest/index.ts';",
        resolveDir: process.cwd(),
        loader: 'ts',
      },
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'VerityVerifier',
      write: false,
      logLevel: 'silent',
      // Level zk loads snarkjs on first use (it ships a browser build); basic and full never do.
      external: ['snarkjs'],
    });
    const code = result.outputFiles[0]!.text;
    expect(code).not.toMatch(/require\(["']node:/);
    const sandbox: Record<string, unknown> = {
      crypto: globalThis.crypto,
      TextEncoder,
      TextDecoder,
      atob,
      btoa,
      console,
    };
    runInNewContext(code, sandbox);
    const verifier = sandbox.VerityVerifier as {
      verifyBundle: (b: unknown, o: unknown) => Promise<VerificationReport>;
      InlineEvaluator: new () => unknown;
    };
    const trustedKeys = [t.node.coordinatorSigner.publicKeyPem];
    for (const level of ['basic', 'full'] as const) {
      const report = await verifier.verifyBundle(bundle, {
        trustedKeys,
        level,
        evaluator: new verifier.InlineEvaluator(),
      });
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.ok).toBe(true);
    }
    const other = await verifier.verifyBundle(bundle, { trustedKeys: [], level: 'basic' });
    expect(other.unusable).toMatch(/no trusted key/);
  });
});
