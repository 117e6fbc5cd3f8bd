import { statSync } from 'node:fs';
import { join } from 'node:path';
import { verifyBundle } from '../src/attest/verify/verify-bundle.js';
import { VerityNode } from '../src/node/verity-node.js';
import { DEFAULT_ZK_CONFIG } from '../src/attest/zk/circuit.js';
import type { ZkConfig } from '../src/attest/zk/circuit.js';
import { readArtifacts } from '../src/zk/setup/artifacts.js';
import { readR1csHeader } from '../src/zk/setup/binfile.js';
import { releaseCurveWorkers } from '../src/zk/setup/curve.js';
import { validateWorkflow } from '../src/workflow/validate.js';
import type { ScenarioContext, ScenarioResult } from './scenarios.js';
import { median } from './stats.js';

/**
 * The zk level at its production size (8 steps per proof, a registry of depth 10): a 50-step workflow run
 * at verification level zk on a node with 2 prover processes, from the receipt to the last proof; then the
 * zk-only bundle verified (all 7 proofs). The circuit's artifacts come from `verity zk setup` in
 * VERITY_BENCH_ZK_DIR (default .zk/bench): about an hour on 2 cores the first time, so the benchmark never
 * makes them itself.
 */
export const BENCH_ZK_DIR = process.env.VERITY_BENCH_ZK_DIR ?? join('.zk', 'bench');

export async function zkProving(context: ScenarioContext): Promise<ScenarioResult> {
  const config: ZkConfig = DEFAULT_ZK_CONFIG;
  const artifacts = await readArtifacts(BENCH_ZK_DIR, config);
  const r1cs = await readR1csHeader(artifacts.paths.r1cs);
  const size = (file: string) => statSync(file).size / 2 ** 20;
  const node = await VerityNode.open({
    dataDir: context.dataDir,
    databaseUrl: context.databaseUrl,
    workers: 16,
    zkDir: BENCH_ZK_DIR,
    zkConfig: config,
    provers: 2,
  });
  await node.start();
  try {
    const steps = Array.from({ length: 50 }, (_, i) => ({
      id: `s${i}`,
      step_type: 'inference',
      model_requirements: { name: 'builtin/echo' },
      depends_on: i === 0 ? [] : [`s${i - 1}`],
    }));
    const validated = validateWorkflow({ id: 'zk-chain-50', verification_level: 'zk', steps });
    if (!validated.ok) throw new Error(JSON.stringify(validated.errors));
    const workflow = await node.engine.registerWorkflow(validated.definition, validated.digest);
    const started = performance.now();
    const execution = await node.engine.start({ workflow, inputs: { n: 1 }, clientId: 'bench' });
    await node.waitFor(execution.id);
    const ran = performance.now() - started;
    let record = await node.store.read.getZkProof(execution.id);
    while (record?.status !== 'completed') {
      if (record?.status === 'failed' || record === undefined)
        throw new Error(`proving failed: ${record?.error?.message ?? 'no proof record'}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      record = await node.store.read.getZkProof(execution.id);
    }
    const events = await node.store.read.listEvents(execution.id, 0, 10_000);
    const proved = events.find((e) => e.type === 'zk.proved')!;
    const pending = events.find((e) => e.type === 'zk.pending')!;
    const bundle = JSON.parse(JSON.stringify(await node.bundle(execution.id, { zkOnly: true }))) as unknown;
    const trustedKeys = [node.coordinatorSigner.publicKeyPem];
    const times: number[] = [];
    let first = 0;
    for (let run = 0; run < 11; run++) {
      const start = performance.now();
      const report = await verifyBundle(bundle, { trustedKeys, level: 'zk' });
      const took = performance.now() - start;
      if (!report.ok)
        throw new Error(`the zk bundle did not verify: ${JSON.stringify(report.checks.filter((c) => !c.ok))}`);
      if (run === 0) first = took;
      else times.push(took);
    }
    await releaseCurveWorkers();
    return {
      batch_size: config.batchSize,
      registry_depth: config.registryDepth,
      constraints: r1cs.nConstraints,
      constraints_per_step: r1cs.nConstraints / config.batchSize,
      batches: record.batchesTotal,
      run_ms: ran,
      // From the receipt (zk.pending) to the last proof (zk.proved), both stamped by the node.
      proving_50_steps_ms: proved.at - pending.at,
      // Each batch alone, in its prover process (two run side by side).
      proving_ms_per_batch: median((proved.data as { batchMs: number[] }).batchMs),
      verify_all_median_ms: median(times),
      verify_all_first_ms: first,
      zkey_mb: size(artifacts.paths.zkey),
      wasm_mb: size(artifacts.paths.wasm),
      r1cs_mb: size(artifacts.paths.r1cs),
      ptau_mb: size(artifacts.ptau),
      verification_key_kb: statSync(artifacts.paths.verificationKey).size / 1024,
      bundle_kb: JSON.stringify(bundle).length / 1024,
    };
  } finally {
    await node.stop();
  }
}
