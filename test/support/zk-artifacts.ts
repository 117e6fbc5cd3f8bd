import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { TEST_ZK_CONFIG } from '../../src/attest/zk/circuit.js';
import type { ZkConfig } from '../../src/attest/zk/circuit.js';
import type { artifactPaths } from '../../src/zk/config.js';
import { setupCircuit } from '../../src/zk/setup/ceremony.js';
import { REPO } from './cli.js';

/** The shared, gitignored cache of the test circuit's ceremony: made once (about 5 min), reused by every run. */
export const TEST_ZK_DIR = join(REPO, '.zk', 'test');
const LOCK = join(REPO, '.zk', 'test.lock');

export interface TestZkArtifacts {
  zkDir: string;
  config: ZkConfig;
  paths: ReturnType<typeof artifactPaths>;
}

let pending: Promise<TestZkArtifacts> | undefined;

/**
 * Sets up TEST_ZK_CONFIG ({batchSize 1, registryDepth 2}) in `.zk/test`, or checks and reuses what is
 * there: setupCircuit skips every finished stage, and recompiles and redoes phase 2 if a circuit source
 * changed. Vitest runs test files in two processes: a lock directory makes the second wait for the first.
 */
export function ensureTestZkArtifacts(): Promise<TestZkArtifacts> {
  pending ??= withLock(async () => {
    const result = await setupCircuit({
      zkDir: TEST_ZK_DIR,
      config: TEST_ZK_CONFIG,
      log: (line) => {
        process.stderr.write(`[zk test setup] ${line}\n`);
      },
    });
    return { zkDir: TEST_ZK_DIR, config: TEST_ZK_CONFIG, paths: result.paths };
  }).catch((error: unknown) => {
    pending = undefined;
    throw error;
  });
  return pending;
}

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  await mkdir(join(REPO, '.zk'), { recursive: true });
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await holderIsGone()) {
        await rm(LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`waited 30 min for ${LOCK}: remove it if no test run is setting up the zk artifacts`, {
          cause: error,
        });
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  try {
    await writeFile(
      join(LOCK, 'owner.json'),
      JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }),
    );
    return await work();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

/** A lock left by a process that died (on this host) is taken over; one without an owner is young unless a minute old. */
async function holderIsGone(): Promise<boolean> {
  let owner: { pid: number; host: string };
  try {
    owner = JSON.parse(await readFile(join(LOCK, 'owner.json'), 'utf8')) as { pid: number; host: string };
  } catch {
    const made = await stat(LOCK).then(
      (s) => s.mtimeMs,
      () => Date.now(),
    );
    return Date.now() - made > 60_000;
  }
  if (owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
