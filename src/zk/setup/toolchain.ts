import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZkError } from '../../attest/zk/errors.js';

/**
 * Where the circuit sources and the tools that build them are. Resolved from this file rather than the
 * working directory, so it holds when Verity runs from src/ (tsx), from dist/ (the built CLI) or as an
 * installed package.
 */
export interface Toolchain {
  /** The directory holding verity_batch.circom: `circuits/` at the package root, next to src/ and dist/. */
  circuitsDir: string;
  /** The node_modules directory circomlib is in: includes say `circomlib/circuits/…`. */
  includeDir: string;
  /** circom2's cli.js: the circom compiler built to WebAssembly, run by node. */
  circomCli: string;
  snarkjsVersion: string;
  circom2Version: string;
}

const require = createRequire(import.meta.url);

let cached: Toolchain | undefined;

export function toolchain(): Toolchain {
  cached ??= {
    circuitsDir: findCircuitsDir(),
    includeDir: dirname(packageDir('circomlib', 'circomlib/package.json')),
    circomCli: require.resolve('circom2/cli.js'),
    snarkjsVersion: packageVersion(snarkjsDir()),
    circom2Version: packageVersion(packageDir('circom2', 'circom2/package.json')),
  };
  return cached;
}

function findCircuitsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'circuits');
    if (existsSync(join(candidate, 'verity_batch.circom'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new ZkError(
        'setup_failed',
        'cannot find circuits/verity_batch.circom above the Verity package: is the package complete?',
      );
    dir = parent;
  }
}

function packageDir(name: string, manifest: string): string {
  try {
    return dirname(require.resolve(manifest));
  } catch (error) {
    throw new ZkError('setup_failed', `cannot find the ${name} package: run npm install`, { cause: error });
  }
}

/** snarkjs's `exports` hides its package.json: find it above the entry point instead. */
function snarkjsDir(): string {
  let dir = dirname(require.resolve('snarkjs'));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

function packageVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}
