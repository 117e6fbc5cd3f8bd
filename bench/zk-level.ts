import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TEST_ZK_CONFIG } from '../src/attest/zk/circuit.js';
import { VerityNode } from '../src/node/verity-node.js';
import { validateWorkflow } from '../src/workflow/validate.js';
import type { ScenarioContext, ScenarioResult } from './scenarios.js';
import { median, percentile } from './stats.js';

/**
 * The zk level's cost on the step path: a 50-step chain of builtin/echo at verification level basic and
 * the same chain at level zk, on one node, runs alternating, until the result (the proofs come after, and
 * this node makes none). At level zk every step's leaf is also signed (worker) and checked (coordinator)
 * with Baby Jubjub, ~44 ms of CPU a step, on threads beside the step path; after each zk run the benchmark
 * waits for those checks, timed apart (`zk_leaves_settled_ms`), so that no run pays for another's.
 * The zk section needs circuit artifacts: the test circuit's, from `.zk/test` (made by the test suite, or
 * by `verity zk setup --batch-size 1 --registry-depth 2 --zk-dir .zk/test`), or VERITY_BENCH_ZK_LEVEL_DIR.
 */
export async function zkLevel(context: ScenarioContext): Promise<ScenarioResult> {
  const zkDir = process.env.VERITY_BENCH_ZK_LEVEL_DIR ?? join('.zk', 'test');
  const node = await VerityNode.open({
    dataDir: context.dataDir,
    databaseUrl: context.databaseUrl,
    workers: 16,
    zkDir,
    zkConfig: TEST_ZK_CONFIG,
    provers: 0,
  });
  await node.start();
  const chain = Array.from({ length: 50 }, (_, i) => ({
    id: `s${i}`,
    step_type: 'inference',
    model_requirements: { name: 'builtin/echo' },
    depends_on: i === 0 ? [] : [`s${i - 1}`],
  }));
  const register = async (level: 'basic' | 'zk') => {
    const v = validateWorkflow({ id: `chain-50-${level}`, verification_level: level, steps: chain });
    if (!v.ok) throw new Error(JSON.stringify(v.errors));
    return node.engine.registerWorkflow(v.definition, v.digest);
  };
  const workflows = { basic: await register('basic'), zk: await register('zk') };
  const times: { basic: number[]; zk: number[]; settled: number[] } = { basic: [], zk: [], settled: [] };
  try {
    for (let run = 0; run < 15; run++) {
      for (const level of ['basic', 'zk'] as const) {
        const started = performance.now();
        const execution = await node.engine.start({ workflow: workflows[level], inputs: { run }, clientId: 'bench' });
        const done = await node.waitFor(execution.id);
        const ran = performance.now() - started;
        if (done.status !== 'completed') throw new Error(`run ${run} at ${level} ended ${done.status}`);
        let settled = 0;
        if (level === 'zk') {
          if ((await node.store.read.getZkProof(execution.id)) === undefined)
            throw new Error('the zk run got no zk receipt: are the test circuit artifacts in .zk/test?');
          for (;;) {
            const leaves = await node.store.read.listZkLeaves(execution.id);
            if (leaves.some((l) => l.status === 'invalid')) throw new Error('a leaf signature did not verify');
            if (leaves.length === chain.length && leaves.every((l) => l.status === 'valid')) break;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          settled = performance.now() - started;
        }
        // The first runs warm up the JIT, the statement caches and the signature threads.
        if (run < 5) continue;
        times[level].push(ran);
        if (level === 'zk') times.settled.push(settled);
      }
    }
  } finally {
    await node.stop();
  }
  return {
    basic_median_ms: median(times.basic),
    zk_median_ms: median(times.zk),
    zk_p90_ms: percentile(times.zk, 90),
    zk_to_basic_ratio: median(times.zk) / median(times.basic),
    zk_leaves_settled_ms: median(times.settled),
  };
}

// Run on its own: `npx tsx bench/zk-level.ts` (SQLite in a temporary directory).
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dataDir = await mkdtemp(join(tmpdir(), 'verity-bench-zk-level-'));
  try {
    const result = await zkLevel({ dataDir, databaseUrl: process.env.VERITY_BENCH_DATABASE_URL });
    for (const [name, value] of Object.entries(result)) console.log(`${name.padEnd(24)} ${value.toFixed(2)}`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  process.exit(0);
}
