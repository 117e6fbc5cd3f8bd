import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { TEST_ZK_CONFIG } from '../../../src/attest/zk/circuit.js';
import { setupCircuit } from '../../../src/zk/setup/ceremony.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';
import type { TestZkArtifacts } from '../../support/zk-artifacts.js';

/**
 * What the setup test files share. The real test circuit's ceremony (2^13, minutes) is made once and
 * cached (useCachedCeremony); setup.test.ts checks what it produced. The ceremony's mechanics (an imported
 * phase 1, resuming, contributing, checking the chain) do not depend on the circuit, and each change to a
 * setup at 2^13 is minutes of CPU: they run on a stand-in circuit of 2^9 (tiny-circuit/, useTinyCeremony)
 * through the same setupCircuit, in seconds, and need not wait for the cached ceremony.
 */
export const MINUTES = 60_000;

/** The stand-in circuit's sources: VerityBatch(B, depth) with the real public inputs and about 300 constraints. */
export const TINY_CIRCUITS_DIR = fileURLToPath(new URL('./tiny-circuit/', import.meta.url));
/** The stand-in's powers of tau: what its transcript and log lines say. */
export const TINY_POWER = 9;

export class Scratch {
  private readonly dirs: string[] = [];

  async dir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** A copy of the cached setup: everything that changes a setup works on one, so the cache stays as it is. */
  async copyOf(cache: TestZkArtifacts): Promise<string> {
    const dir = await this.dir('verity-zk-copy-');
    await cp(cache.zkDir, dir, { recursive: true });
    return dir;
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

export async function setupLogged(
  cache: Pick<TestZkArtifacts, 'config'>,
  zkDir: string,
  extra: { ptau?: string; circuitsDir?: string } = {},
) {
  const lines: string[] = [];
  const result = await setupCircuit({ zkDir, config: cache.config, ...extra, log: (line) => lines.push(line) });
  return { ...result, lines };
}

/**
 * The hooks every setup test file needs: the cached ceremony made (or found) before its tests, the scratch
 * copies removed and the curve workers released after. Use `cache` only inside tests.
 */
export function useCachedCeremony() {
  let artifacts: TestZkArtifacts | undefined;
  const scratch = new Scratch();
  beforeAll(async () => {
    artifacts = await ensureTestZkArtifacts();
  }, 20 * MINUTES);
  afterAll(async () => {
    await scratch.cleanup();
    await releaseCurveWorkers();
  });
  const cache = (): TestZkArtifacts => {
    if (!artifacts) throw new Error('the cached ceremony is ready only inside tests');
    return artifacts;
  };
  return {
    cache,
    scratch,
    copyOfCache: () => scratch.copyOf(cache()),
    setupLogged: (zkDir: string, extra: { ptau?: string } = {}) => setupLogged(cache(), zkDir, extra),
  };
}

/**
 * The hooks of a file that tests the ceremony's mechanics: a whole development ceremony of the stand-in
 * circuit, made in a scratch directory before its tests (seconds), copies of it for each test, and the
 * curve workers released after. `setupLogged` always passes the stand-in's sources: without them,
 * setupCircuit would see other sources and recompile the real circuit.
 */
export function useTinyCeremony() {
  let artifacts: TestZkArtifacts | undefined;
  const scratch = new Scratch();
  beforeAll(async () => {
    const zkDir = await scratch.dir('verity-zk-tiny-');
    const { paths } = await setupCircuit({ zkDir, config: TEST_ZK_CONFIG, circuitsDir: TINY_CIRCUITS_DIR });
    artifacts = { zkDir, config: TEST_ZK_CONFIG, paths };
  }, 5 * MINUTES);
  afterAll(async () => {
    await scratch.cleanup();
    await releaseCurveWorkers();
  });
  const tiny = (): TestZkArtifacts => {
    if (!artifacts) throw new Error('the stand-in ceremony is ready only inside tests');
    return artifacts;
  };
  return {
    tiny,
    scratch,
    copyOfTiny: () => scratch.copyOf(tiny()),
    setupLogged: (zkDir: string, extra: { ptau?: string } = {}) =>
      setupLogged(tiny(), zkDir, { ...extra, circuitsDir: TINY_CIRCUITS_DIR }),
  };
}
