import { VerityNode } from '../src/node/verity-node.js';
import { validateWorkflowText } from '../src/workflow/load.js';
import { validateWorkflow } from '../src/workflow/validate.js';
import type { WorkflowRecord } from '../src/store/records.js';
import { verifyBundle } from '../src/attest/verify/verify-bundle.js';
import { buildBundle } from '../src/receipts/bundle.js';
import { documentAttestation, ocrWorkers } from './models.js';
import { serverLoad } from './server-load.js';
import { manyExecutions } from './many-executions.js';
import { zkProving } from './zk.js';
import { median, percentile } from './stats.js';
import { countStatements } from './statement-count.js';
import { schemaVariant } from './postgres.js';

/**
 * The benchmark scenarios. Each runs in its own process (bench/child.ts) so that its peak RSS is its own,
 * and returns plain numbers; bench/run.ts puts them side by side.
 */
export interface ScenarioResult {
  [metric: string]: number;
}

export interface ScenarioContext {
  dataDir: string;
  databaseUrl: string | undefined;
  /** The options after the database URL on bench/child.ts's command line, for the scenarios that take any. */
  args?: readonly string[];
}

const echoStep = (id: string, deps: string[] = []) => ({
  id,
  step_type: 'inference',
  model_requirements: { name: 'builtin/echo' },
  depends_on: deps,
});

function definitionOf(raw: unknown) {
  const result = validateWorkflow(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result;
}

async function withNode<T>(
  context: ScenarioContext,
  fn: (node: VerityNode, register: (raw: unknown) => Promise<WorkflowRecord>) => Promise<T>,
): Promise<T> {
  const node = await VerityNode.open({ dataDir: context.dataDir, databaseUrl: context.databaseUrl, workers: 16 });
  await node.start();
  try {
    return await fn(node, async (raw) => {
      const v = definitionOf(raw);
      return node.engine.registerWorkflow(v.definition, v.digest);
    });
  } finally {
    await node.stop();
  }
}

/**
 * Wall time of a 50-step chain of builtin/echo, divided by 50: what the engine adds per step. Measured on a
 * node that attests (the default: workers sign, the coordinator checks, a receipt is issued) and on one
 * that does not, alternating runs, so the cost of the attestations is visible on its own.
 */
/**
 * One of the two nodes a scenario runs side by side (attested and not), started, with `v` registered. Each
 * has its own tables: on one PostgreSQL schema each would claim the other's jobs, and an execution finished
 * by the other node is only seen by the waiting one's poll.
 */
async function openSideBySide(
  context: ScenarioContext,
  v: ReturnType<typeof definitionOf>,
  attest: boolean,
  dir: 'attest' | 'plain',
): Promise<{ node: VerityNode; workflow: WorkflowRecord }> {
  const node = await VerityNode.open({
    dataDir: `${context.dataDir}/${dir}`,
    databaseUrl: context.databaseUrl === undefined ? undefined : schemaVariant(context.databaseUrl, dir),
    workers: 16,
    attest,
  });
  await node.start();
  return { node, workflow: await node.engine.registerWorkflow(v.definition, v.digest) };
}

export async function overheadPerStep(context: ScenarioContext): Promise<ScenarioResult> {
  const steps = Array.from({ length: 50 }, (_, i) => echoStep(`s${i}`, i === 0 ? [] : [`s${i - 1}`]));
  const v = definitionOf({ id: 'chain-50', steps });
  const open = (attest: boolean, dir: 'attest' | 'plain') => openSideBySide(context, v, attest, dir);
  const counter = countStatements();
  const nodes = [await open(true, 'attest'), await open(false, 'plain')];
  const perStep: [number[], number[]] = [[], []];
  const countedRuns = 5;
  try {
    for (let run = 0; run < 25; run++) {
      for (const [i, { node, workflow }] of nodes.entries()) {
        const start = performance.now();
        const done = await node.waitFor((await node.engine.start({ workflow, inputs: { run }, clientId: 'bench' })).id);
        if (done.status !== 'completed') throw new Error(`run ${run} ended ${done.status}`);
        // The first runs warm up the JIT, the statement caches and the plan cache.
        if (run >= 5) perStep[i as 0 | 1].push((performance.now() - start) / steps.length);
      }
    }
    // Statements are counted apart, with the other node stopped, so that its idle workers' polls are not
    // counted; what remains is the step path's (and the few status reads of waitFor).
    await nodes[1]!.node.stop();
    const { node, workflow } = nodes[0]!;
    counter.on();
    for (let run = 0; run < countedRuns; run++) {
      await node.waitFor((await node.engine.start({ workflow, inputs: { counted: run }, clientId: 'bench' })).id);
    }
    counter.off();
  } finally {
    for (const { node } of nodes) await node.stop();
  }
  return {
    median_ms_per_step: median(perStep[0]),
    p90_ms_per_step: percentile(perStep[0], 90),
    median_ms_per_step_unattested: median(perStep[1]),
    statements_per_step: counter.statements / (countedRuns * steps.length),
    transactions_per_step: counter.transactions / (countedRuns * steps.length),
    ...(context.databaseUrl !== undefined && {
      round_trips_per_step: counter.roundTrips / (countedRuns * steps.length),
    }),
  };
}

/** One source step, `width` steps that depend on it alone, and one step that joins them all. */
function fanOutWorkflow(id: string, width: number, concurrency: number) {
  return {
    id,
    concurrency,
    steps: [
      echoStep('source'),
      ...Array.from({ length: width }, (_, i) => echoStep(`w${i}`, ['source'])),
      echoStep(
        'join',
        Array.from({ length: width }, (_, i) => `w${i}`),
      ),
    ],
  };
}

/** One source step, 100 independent steps reading it, one step joining them. */
export async function fanOut100(context: ScenarioContext): Promise<ScenarioResult> {
  const width = 100;
  const raw = fanOutWorkflow('fan-out-100', width, width);
  return withNode(context, async (node, register) => {
    const workflow = await register(raw);
    const times: number[] = [];
    for (let run = 0; run < 6; run++) {
      const start = performance.now();
      const execution = await node.engine.start({ workflow, inputs: { run }, clientId: 'bench' });
      const done = await node.waitFor(execution.id);
      if (done.status !== 'completed') throw new Error(`run ${run} ended ${done.status}`);
      if (run >= 1) times.push(performance.now() - start);
    }
    return { median_wall_ms: median(times) };
  });
}

/**
 * The widest workflow there is: a source, 9,998 branches and a join (10,000 steps), at the concurrency
 * limit of 1,000. Scheduling is incremental (a step's end looks at its dependents and the execution's
 * counters, never at every step), so the cost per step should be the 100-wide fan-out's, whatever the width.
 */
export async function fanOut10000(context: ScenarioContext): Promise<ScenarioResult> {
  const width = 9_998;
  const raw = fanOutWorkflow('fan-out-10000', width, 1000);
  return withNode(context, async (node, register) => {
    const workflow = await register(raw);
    const start = performance.now();
    const execution = await node.engine.start({ workflow, inputs: {}, clientId: 'bench' });
    const done = await node.waitFor(execution.id, 100);
    if (done.status !== 'completed') throw new Error(`ended ${done.status}`);
    const ms = performance.now() - start;
    return { wall_ms: ms, ms_per_step: ms / (width + 2), steps_per_s: ((width + 2) / ms) * 1000 };
  });
}

/** 200 executions of a 10-step chain started at once: throughput and the memory it takes. */
export async function concurrentExecutions(context: ScenarioContext): Promise<ScenarioResult> {
  const steps = Array.from({ length: 10 }, (_, i) => echoStep(`s${i}`, i === 0 ? [] : [`s${i - 1}`]));
  return withNode(context, async (node, register) => {
    const workflow = await register({ id: 'ten-steps', steps });
    // Warm up with a few executions, then measure.
    await Promise.all(
      Array.from({ length: 5 }, async (_, i) =>
        node.waitFor((await node.engine.start({ workflow, inputs: { warm: i }, clientId: 'bench' })).id),
      ),
    );
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const start = performance.now();
    const executions = await Promise.all(
      Array.from({ length: 200 }, (_, i) => node.engine.start({ workflow, inputs: { i }, clientId: 'bench' })),
    );
    const finals = await Promise.all(executions.map((e) => node.waitFor(e.id)));
    const seconds = (performance.now() - start) / 1000;
    clearInterval(sampler);
    if (finals.some((f) => f.status !== 'completed')) throw new Error('an execution did not complete');
    return {
      executions_per_s: 200 / seconds,
      steps_per_s: 2000 / seconds,
      wall_s: seconds,
      peak_rss_mb: Math.max(peak, process.memoryUsage().rss) / 2 ** 20,
      rss_increase_mb: (peak - baseline) / 2 ** 20,
    };
  });
}

/** Static validation of a 1,000-step DAG (schema, references, expressions, cycles, digest). */
export function validate1000(): Promise<ScenarioResult> {
  const steps = [];
  for (let level = 0; level < 50; level++) {
    for (let i = 0; i < 20; i++) {
      steps.push(
        level === 0
          ? { id: `l${level}_${i}`, step_type: 'data_processing', expression: `${i}` }
          : {
              id: `l${level}_${i}`,
              step_type: 'data_processing',
              expression: 'x + 1',
              input_mappings: { x: `steps.l${level - 1}_${(i + level) % 20}.output` },
            },
      );
    }
  }
  const raw = { id: 'thousand', steps };
  const yaml = JSON.stringify(raw);
  const objectTimes: number[] = [];
  const textTimes: number[] = [];
  for (let run = 0; run < 30; run++) {
    let start = performance.now();
    if (!validateWorkflow(raw).ok) throw new Error('invalid');
    objectTimes.push(performance.now() - start);
    start = performance.now();
    if (!validateWorkflowText(yaml).ok) throw new Error('invalid');
    textTimes.push(performance.now() - start);
  }
  // The first run compiles the 1,000 expressions into the expression cache; later ones hit it, as a
  // server validating many versions of similar workflows would. Both are reported.
  return Promise.resolve({
    first_ms: objectTimes[0]!,
    median_ms: median(objectTimes.slice(1)),
    median_from_text_ms: median(textTimes.slice(1)),
  });
}

/** `verify` of a 50-step bundle at level basic: 51 signature checks, the Merkle root, the log proof. */
export async function verify50(context: ScenarioContext): Promise<ScenarioResult> {
  const steps = Array.from({ length: 50 }, (_, i) => echoStep(`s${i}`, i === 0 ? [] : [`s${i - 1}`]));
  return withNode(context, async (node, register) => {
    const workflow = await register({ id: 'chain-50', steps });
    // A log with some history, so the inclusion proof is not trivial.
    for (let i = 0; i < 20; i++)
      await node.waitFor((await node.engine.start({ workflow, inputs: { i }, clientId: 'bench' })).id);
    const executions = await node.store.read.listExecutions({ limit: 1 });
    const bundle = JSON.parse(JSON.stringify(await buildBundle(node.store, node.log, executions[0]!.id))) as unknown;
    const trustedKeys = [node.coordinatorSigner.publicKeyPem];
    const times: number[] = [];
    let first = 0;
    for (let run = 0; run < 40; run++) {
      const start = performance.now();
      const report = await verifyBundle(bundle, { trustedKeys, level: 'basic' });
      const took = performance.now() - start;
      if (!report.ok) throw new Error('the bundle did not verify');
      if (run === 0) first = took;
      else times.push(took);
    }
    return { median_ms: median(times), first_ms: first };
  });
}

/**
 * What attestations and receipts cost: a 50-step chain of builtin/sleep 10 ms steps on a node that
 * attests (workers sign, the coordinator checks, receipts are issued and logged) and on one that does
 * not, alternating runs so that both see the same machine.
 */
export async function attestationOverhead(context: ScenarioContext): Promise<ScenarioResult> {
  const steps = Array.from({ length: 50 }, (_, i) => ({
    id: `s${i}`,
    step_type: 'inference',
    model_requirements: { name: 'builtin/sleep' },
    input_mappings: { ms: '10', i: String(i) },
    ...(i > 0 && { depends_on: [`s${i - 1}`] }),
  }));
  const v = definitionOf({ id: 'sleep-50', steps });
  const open = (attest: boolean, dir: 'attest' | 'plain') => openSideBySide(context, v, attest, dir);
  const withAttest = await open(true, 'attest');
  const without = await open(false, 'plain');
  const run = async ({ node, workflow }: { node: VerityNode; workflow: WorkflowRecord }) => {
    const start = performance.now();
    const done = await node.waitFor((await node.engine.start({ workflow, inputs: {}, clientId: 'bench' })).id);
    if (done.status !== 'completed') throw new Error(done.status);
    return performance.now() - start;
  };
  const a: number[] = [];
  const b: number[] = [];
  try {
    for (let i = 0; i < 12; i++) {
      const x = await run(withAttest);
      const y = await run(without);
      if (i >= 2) {
        a.push(x);
        b.push(y);
      }
    }
  } finally {
    await withAttest.node.stop();
    await without.node.stop();
  }
  const attested = median(a);
  const plain = median(b);
  return { attested_ms: attested, plain_ms: plain, overhead_pct: ((attested - plain) / plain) * 100 };
}

export const SCENARIOS = {
  'verify-50': verify50,
  'attestation-overhead': attestationOverhead,
  'overhead-per-step': overheadPerStep,
  'fan-out-100': fanOut100,
  'fan-out-10000': fanOut10000,
  'concurrent-200x10': concurrentExecutions,
  'validate-1000': validate1000,
  'server-1000x10': serverLoad,
  'many-executions': manyExecutions,
  'ocr-workers': ocrWorkers,
  'document-attestation': documentAttestation,
  'zk-proving': zkProving,
} as const;

export type ScenarioName = keyof typeof SCENARIOS;
