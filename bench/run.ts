import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { ScenarioName, ScenarioResult } from './scenarios.js';
import { DEFAULT_ZK_CONFIG } from '../src/attest/zk/circuit.js';
import { artifactPaths } from '../src/zk/config.js';
import { BENCH_ZK_DIR } from './zk.js';
import { POSTGRES, dropBenchSchemas, postgresUp } from './postgres.js';

/**
 * `npm run bench`: every scenario on SQLite and (when it answers) PostgreSQL, side by side in one run, each
 * in a fresh process and a fresh database. Prints a Markdown table for the README and writes the raw
 * numbers to bench/results/latest.json.
 */

async function runScenario(
  name: ScenarioName,
  backend: 'sqlite' | 'postgres',
  args: readonly string[] = [],
): Promise<ScenarioResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'verity-bench-'));
  const schema = `bench_${name.replace(/[^a-z0-9]/g, '_')}_${process.pid}`;
  const url = backend === 'postgres' ? `${POSTGRES}${POSTGRES.includes('?') ? '&' : '?'}schema=${schema}` : '';
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/child.ts', name, dataDir, url, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    return JSON.parse(out.trim().split('\n').at(-1)!) as ScenarioResult;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    if (backend === 'postgres') await dropBenchSchemas(schema);
  }
}

const fmt = (n: number | null | undefined, digits = 2) => (n === undefined || n === null ? 'n/a' : n.toFixed(digits));

const withPostgres = await postgresUp();
const backends = withPostgres ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);
const results: Record<string, Record<string, ScenarioResult>> = {};
for (const name of [
  'overhead-per-step',
  'fan-out-100',
  'fan-out-10000',
  'concurrent-200x10',
  'attestation-overhead',
  'server-1000x10',
  'many-executions',
] as const) {
  for (const backend of backends) {
    process.stderr.write(`running ${name} on ${backend}…\n`);
    // This PostgreSQL runs with autovacuum off (the CI's configuration): without statistics the claim of a
    // job sorts the whole queue, so the bench analyzes the tables as autovacuum would (bench/RESULTS.md).
    const args = name === 'many-executions' && backend === 'postgres' ? ['--analyze-every', '15'] : [];
    (results[name] ??= {})[backend] = await runScenario(name, backend, args);
  }
}
process.stderr.write('running validate-1000…\n');
results['validate-1000'] = { any: await runScenario('validate-1000', 'sqlite') };
process.stderr.write('running verify-50…\n');
results['verify-50'] = { any: await runScenario('verify-50', 'sqlite') };
// The models run in the workers; the store under them does not change what they cost.
for (const name of ['ocr-workers', 'document-attestation'] as const) {
  process.stderr.write(`running ${name}…\n`);
  results[name] = { any: await runScenario(name, 'sqlite') };
}
// The zk level needs the production circuit's artifacts (an hour of setup on 2 cores): measured when they exist.
const zkReady = existsSync(join(artifactPaths(BENCH_ZK_DIR, DEFAULT_ZK_CONFIG).dir, 'transcript.json'));
if (zkReady) {
  process.stderr.write('running zk-proving…\n');
  results['zk-proving'] = { any: await runScenario('zk-proving', 'sqlite') };
}

const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
const r = (name: string, backend: string) => results[name]?.[backend];
const rows = [
  [
    'orchestration overhead per step, 50-step chain of builtin/echo (median of 20 runs; p90); without attestations; statements sent per step (on PostgreSQL each one a round trip)',
    ...backends.map((b) => {
      const x = r('overhead-per-step', b);
      return `${fmt(x?.median_ms_per_step, 3)} ms (p90 ${fmt(x?.p90_ms_per_step, 3)}); ${fmt(x?.median_ms_per_step_unattested, 3)} ms; ${fmt(x?.statements_per_step, 1)} statements and ${fmt(x?.transactions_per_step, 2)} transactions per step`;
    }),
  ],
  [
    '100-wide fan-out + join, wall time (median of 5)',
    ...backends.map((b) => `${fmt(r('fan-out-100', b)?.median_wall_ms, 0)} ms`),
  ],
  [
    "10,000-step fan-out + join at concurrency 1,000: wall time; per step, and its ratio to the 100-wide fan-out's per step (1.0 = width costs nothing)",
    ...backends.map((b) => {
      const wide = r('fan-out-10000', b);
      const narrow = (r('fan-out-100', b)?.median_wall_ms ?? NaN) / 102;
      return `${fmt((wide?.wall_ms ?? NaN) / 1000, 1)} s; ${fmt(wide?.ms_per_step, 2)} ms/step (**×${fmt((wide?.ms_per_step ?? NaN) / narrow, 2)}**)`;
    }),
  ],
  [
    '200 concurrent 10-step executions: executions/s',
    ...backends.map(
      (b) =>
        `${fmt(r('concurrent-200x10', b)?.executions_per_s, 1)} /s (${fmt(r('concurrent-200x10', b)?.steps_per_s, 0)} steps/s)`,
    ),
  ],
  [
    '… peak RSS of the process (increase during the run)',
    ...backends.map(
      (b) =>
        `${fmt(r('concurrent-200x10', b)?.peak_rss_mb, 0)} MB (+${fmt(r('concurrent-200x10', b)?.rss_increase_mb, 0)} MB)`,
    ),
  ],
  [
    '50-step chain of builtin/sleep 10 ms: with attestations and receipts / without (median of 10, alternating)',
    ...backends.map((b) => {
      const x = r('attestation-overhead', b);
      return `${fmt(x?.attested_ms, 0)} / ${fmt(x?.plain_ms, 0)} ms: **${fmt(x?.overhead_pct, 1)}%** overhead`;
    }),
  ],
  [
    'server + 2 remote workers (HTTP), 50 clients, 1,000 10-step executions: executions/s; `status` p50 / p99 under that load (target p99 ≤ 50 ms)',
    ...backends.map((b) => {
      const x = r('server-1000x10', b);
      return `${fmt(x?.executions_per_s, 1)} /s (${fmt(x?.steps_per_s, 0)} steps/s); ${fmt(x?.status_p50_ms, 1)} / **${fmt(x?.status_p99_ms, 1)} ms**`;
    }),
  ],
  [
    'many executions at once: 10,000 (PostgreSQL; tables analyzed every 15 s) / 1,000 (SQLite) 5-step builtin/echo chains started by 50 clients over HTTP on `verity serve` (16 in-process slots): time to drain, executions/s; `status` p50 / p99 / max meanwhile; peak RSS and CPU time per execution of the server; executions that failed or gave a wrong result',
    ...backends.map((b) => {
      const x = r('many-executions', b);
      if (!x) return 'n/a';
      const failures = (x.not_completed ?? 0) + (x.wrong_results ?? 0) + (x.still_running ?? 0) + (x.start_errors ?? 0);
      const drain = x.drained
        ? `**${fmt(x.drain_s, 0)} s**`
        : `not drained in ${fmt(x.elapsed_s, 0)} s (${fmt(x.still_running, 0)} still running)`;
      return `${fmt(x.executions, 0)}: ${drain} (${fmt(x.executions_per_s, 1)} /s); ${fmt(x.probe_p50_ms, 1)} / ${fmt(x.probe_p99_ms, 1)} / ${fmt(x.probe_max_ms, 0)} ms; ${fmt(x.server_peak_rss_mb, 0)} MB, ${fmt(x.server_cpu_ms_per_execution, 1)} ms CPU/execution; ${failures} failed`;
    }),
  ],
  [
    '`verify` a 50-step bundle at level basic (median of 39; first, cold)',
    `**${fmt(r('verify-50', 'any')?.median_ms, 1)} ms** (first ${fmt(r('verify-50', 'any')?.first_ms, 1)} ms)`,
  ],
  [
    'OCR of an 800×600 invoice (paddleocr): one page on an idle worker; 16 pages at once, pages/s — 1 worker / 2 workers',
    (() => {
      const x = r('ocr-workers', 'any');
      return `${fmt(x?.ocr_1w_page_ms, 0)} ms, ${fmt(x?.ocr_1w_pages_per_s, 2)} pages/s / ${fmt(x?.ocr_2w_page_ms, 0)} ms, ${fmt(x?.ocr_2w_pages_per_s, 2)} pages/s (peak RSS ${fmt(x?.process_peak_rss_mb, 0)} MB)`;
    })(),
  ],
  [
    'document-intelligence example (OCR, NLP, 3 JSONata steps), with attestations and receipts / without (medians of 24 back-to-back pairs; overhead from the median paired difference)',
    (() => {
      const x = r('document-attestation', 'any');
      return `${fmt(x?.attested_ms, 0)} / ${fmt(x?.plain_ms, 0)} ms: **${fmt(x?.overhead_pct, 1)}%** overhead (${fmt(x?.paired_difference_ms, 1)} ms)`;
    })(),
  ],
  [
    'zk level, 50-step chain at 8 steps per proof (registry depth 10): constraints per step; proving time per batch; all 7 batches on 2 prover processes, receipt to last proof (target ≤ 60 s); verifying all 7 proofs (target ≤ 250 ms)',
    (() => {
      const x = r('zk-proving', 'any');
      if (!x) return `not measured: run \`verity zk setup --zk-dir ${BENCH_ZK_DIR} --ptau …\` first`;
      return `${fmt(x.constraints_per_step, 0)} constraints/step; ${fmt((x.proving_ms_per_batch ?? 0) / 1000, 1)} s/batch; **${fmt((x.proving_50_steps_ms ?? 0) / 1000, 1)} s** for 50 steps; **${fmt(x.verify_all_median_ms, 0)} ms** to verify (first ${fmt(x.verify_all_first_ms, 0)} ms); zkey ${fmt(x.zkey_mb, 0)} MB, wasm ${fmt(x.wasm_mb, 1)} MB, vkey ${fmt(x.verification_key_kb, 1)} KB, zk-only bundle ${fmt(x.bundle_kb, 1)} KB`;
    })(),
  ],
  [
    'validate a 1,000-step DAG (median of 29; first run)',
    `${fmt(r('validate-1000', 'any')?.median_ms, 1)} ms from an object, ${fmt(r('validate-1000', 'any')?.median_from_text_ms, 1)} ms from text (first ${fmt(r('validate-1000', 'any')?.first_ms, 1)} ms)`,
  ],
];
const header = ['benchmark', ...backends.map((b) => (b === 'sqlite' ? 'SQLite (embedded)' : 'PostgreSQL 15'))];
const table = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
process.stdout.write(`Machine: ${machine}\n\n${table}\n`);
if (!withPostgres) process.stdout.write(`\n(PostgreSQL at ${POSTGRES} did not answer; its column is missing.)\n`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/latest.json', JSON.stringify({ machine, results }, null, 2) + '\n');
