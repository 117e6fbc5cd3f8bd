import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { setupCircuit } from '../../../src/zk/setup/ceremony.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';
import type { TestZkArtifacts } from '../../support/zk-artifacts.js';

/**
 * What the setup test files share. The ceremony's mechanics are tested in three files (setup, setup-resume,
 * setup-contribute) rather than one: each change to a setup (phase 2 again, a contribution and a check of
 * the whole chain) is minutes of CPU on a copy of the cached ceremony, and separate files let vitest run
 * them on both of its workers instead of one after the other behind the ceremony.
 */
export const MINUTES = 60_000;

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

export async function setupLogged(cache: TestZkArtifacts, zkDir: string, extra: { ptau?: string } = {}) {
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
