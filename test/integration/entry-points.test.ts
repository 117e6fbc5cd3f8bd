import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';

/**
 * `verity/verify` and `verity/sdk` are what a browser (the dashboard, a third party) imports. Bundle each
 * entry file for the browser platform (esbuild refuses Node built-ins there) and read from the metafile
 * everything it pulls in: importing the entry must load only pure, browser-safe code, with snarkjs and
 * poseidon-lite left to chunks that level zk loads on first use. eslint.config.js enforces the same
 * boundary file by file; this checks what a bundler actually does with it.
 */
const root = process.cwd();

/** The verifier's leaf: src/attest/ and the workflow and expression files level full needs. */
const VERIFY_FILES = [
  /^src\/attest\//,
  /^src\/errors\.ts$/,
  /^src\/workflow\/(types|graph|plan|expression|context)\.ts$/,
  /^src\/expressions\/(evaluator|fast-path|plain-json|evaluate|inline-evaluator)\.ts$/,
  /^src\/expressions\/browser\/web-worker-evaluator\.ts$/,
];
const SDK_FILES = [
  /^src\/sdk\//,
  /^src\/api\/schemas\.ts$/,
  /^src\/store\/records\.ts$/,
  /^src\/blobs\/(blob-ref|errors)\.ts$/,
  /^src\/errors\.ts$/,
  /^src\/attest\/(bytes|canonical|digest)\.ts$/,
];
/** Pure JavaScript packages that run in a browser. */
const PURE_PACKAGES = ['zod', 'canonicalize', '@noble/hashes', 'jsonata'];
/** Loaded by level zk on first use, never by importing the entry. */
const LAZY_PACKAGES = ['snarkjs', 'poseidon-lite'];

function packageOf(input: string): string | undefined {
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
}

async function bundle(entry: string): Promise<{ all: string[]; loaded: string[] }> {
  const result = await build({
    entryPoints: [entry],
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    splitting: true,
    outdir: 'out',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const outputs: Metafile['outputs'] = result.metafile.outputs;
  const all = [...new Set(Object.values(outputs).flatMap((o) => Object.keys(o.inputs)))];
  // What importing the entry executes: its output and the chunks it imports statically, not dynamic ones.
  const start = Object.keys(outputs).find((path) => outputs[path]!.entryPoint === entry)!;
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const i of outputs[path]!.imports) if (i.kind === 'import-statement' && outputs[i.path]) visit(i.path);
  };
  visit(start);
  const loaded = [...new Set([...seen].flatMap((path) => Object.keys(outputs[path]!.inputs)))];
  return { all, loaded };
}

function outside(inputs: readonly string[], files: readonly RegExp[], packages: readonly string[]): string[] {
  return inputs.filter((input) => {
    const pkg = packageOf(input);
    return pkg ? !packages.includes(pkg) : !files.some((pattern) => pattern.test(input));
  });
}

describe('the browser-safe entry points', () => {
  it('verity/verify (src/attest/index.ts) loads only the verifier leaf and pure packages', async () => {
    const { all, loaded } = await bundle('src/attest/index.ts');
    expect(loaded).toContain('src/attest/verify/verify-bundle.ts');
    expect(loaded).toContain('src/workflow/plan.ts');
    expect(outside(loaded, VERIFY_FILES, PURE_PACKAGES)).toEqual([]);
    // Level zk's packages are in the bundle, but only behind import(): importing the entry runs neither.
    expect(all.some((input) => packageOf(input) === 'snarkjs')).toBe(true);
    expect(outside(all, VERIFY_FILES, [...PURE_PACKAGES, ...LAZY_PACKAGES])).toEqual([]);
  });

  it('verity/sdk (src/sdk/index.ts) loads only the client, its schemas and pure packages', async () => {
    const { all, loaded } = await bundle('src/sdk/index.ts');
    expect(loaded).toContain('src/sdk/client.ts');
    expect(outside(all, SDK_FILES, ['zod', 'canonicalize', '@noble/hashes'])).toEqual([]);
    expect(loaded).toEqual(expect.arrayContaining(all));
  });

  it('the Web Worker script bundles for the browser with the evaluator core alone', async () => {
    const { all } = await bundle('src/expressions/browser/web-worker-entry.ts');
    expect(
      outside(
        all,
        [/^src\/expressions\/(evaluate|evaluator|plain-json|browser\/web-worker-entry)\.ts$/, /^src\/errors\.ts$/],
        ['jsonata'],
      ),
    ).toEqual([]);
  });
});

describe('the package exports', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, string | { types: string; default: string }>;
  };

  it('name verity/verify, verity/sdk, verity/worker and the expression worker, with their types', () => {
    expect(pkg.exports).toMatchObject({
      '.': './dist/index.js',
      './verify': { types: './dist/attest/index.d.ts', default: './dist/attest/index.js' },
      './verify/expression-worker': {
        types: './dist/expressions/browser/web-worker-entry.d.ts',
        default: './dist/expressions/browser/web-worker-entry.js',
      },
      './sdk': { types: './dist/sdk/index.d.ts', default: './dist/sdk/index.js' },
      './worker': { types: './dist/worker/sdk/index.d.ts', default: './dist/worker/sdk/index.js' },
    });
  });

  it('resolve and load from the build (npm run build first)', () => {
    for (const target of Object.values(pkg.exports)) {
      for (const file of typeof target === 'string' ? [target] : [target.types, target.default]) {
        expect(existsSync(join(root, file)), `${file} is missing: npm run build first`).toBe(true);
      }
    }
    // Node resolves a package's own name through its "exports" (self-reference), as an installed copy would.
    const script = `
      const resolved = Object.fromEntries(['verity/verify', 'verity/sdk', 'verity/verify/expression-worker', 'verity/worker'].map((s) => [s, import.meta.resolve(s)]));
      const verify = await import('verity/verify');
      const sdk = await import('verity/sdk');
      const worker = await import('verity/worker');
      console.log(JSON.stringify({ resolved, verify: typeof verify.verifyBundle, evaluator: typeof verify.WebWorkerEvaluator, sdk: typeof sdk.VerityClient, worker: [typeof worker.defineExecutor, typeof worker.runWorker] }));
    `;
    const out = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }),
    ) as Record<string, unknown>;
    const url = (file: string) => pathToFileURL(join(root, file)).href;
    expect(out).toEqual({
      resolved: {
        'verity/verify': url('dist/attest/index.js'),
        'verity/sdk': url('dist/sdk/index.js'),
        'verity/verify/expression-worker': url('dist/expressions/browser/web-worker-entry.js'),
        'verity/worker': url('dist/worker/sdk/index.js'),
      },
      verify: 'function',
      evaluator: 'function',
      sdk: 'function',
      worker: ['function', 'function'],
    });
  });
});
