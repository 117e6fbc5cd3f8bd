import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_SOAK, formatReport, runSoak } from './soak.js';

/**
 * `npm run soak [-- --executions 1000 --seed 1 --backend sqlite|postgres --replicas 1]`: the soak under failure
 * (minutes; not part of `npm test`, which runs a short one). `npm run chaos` is the same with 3 replicas on
 * PostgreSQL and 500 executions. Each flag also reads from the environment: SOAK_EXECUTIONS, SOAK_SEED,
 * SOAK_BACKEND, SOAK_REPLICAS, SOAK_WORKERS, SOAK_WINDOW, SOAK_KILL_GAP_MS ("2000-5000"), SOAK_DATABASE_URL.
 * Prints a table of counts on stdout; exits 1 when anything was wrong.
 */
const env = process.env;
const { values } = parseArgs({
  options: {
    executions: { type: 'string', default: env.SOAK_EXECUTIONS ?? String(DEFAULT_SOAK.executions) },
    seed: { type: 'string', default: env.SOAK_SEED ?? String(DEFAULT_SOAK.seed) },
    backend: { type: 'string', default: env.SOAK_BACKEND ?? DEFAULT_SOAK.backend },
    replicas: { type: 'string', default: env.SOAK_REPLICAS ?? String(DEFAULT_SOAK.replicas) },
    workers: { type: 'string', default: env.SOAK_WORKERS ?? String(DEFAULT_SOAK.workers) },
    window: { type: 'string', default: env.SOAK_WINDOW ?? String(DEFAULT_SOAK.window) },
    'kill-gap-ms': { type: 'string', default: env.SOAK_KILL_GAP_MS ?? DEFAULT_SOAK.killGapMs.join('-') },
    'database-url': { type: 'string', default: env.SOAK_DATABASE_URL ?? DEFAULT_SOAK.postgresUrl },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

function int(name: string, text: string | undefined, min: number): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    console.error(`--${name} must be an integer of at least ${min}, not ${text}`);
    process.exit(2);
  }
  return n;
}

if (values.backend !== 'sqlite' && values.backend !== 'postgres') {
  console.error(`--backend must be sqlite or postgres, not ${values.backend}`);
  process.exit(2);
}
const replicas = int('replicas', values.replicas, 1);
if (replicas > 1 && values.backend !== 'postgres') {
  console.error(`--replicas ${replicas}: replicas share one PostgreSQL database; add --backend postgres`);
  process.exit(2);
}
const gap = values['kill-gap-ms'].split('-').map((part) => int('kill-gap-ms', part, 100));
if (gap.length !== 2 || gap[0]! > gap[1]!) {
  console.error('--kill-gap-ms must be a range such as 2000-5000');
  process.exit(2);
}

// Ctrl-C: exit through 'exit', where the soak kills the processes it started.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const report = await runSoak({
  executions: int('executions', values.executions, 1),
  seed: int('seed', values.seed, 0),
  backend: values.backend,
  replicas,
  postgresUrl: values['database-url'],
  workers: int('workers', values.workers, 3),
  window: int('window', values.window, 1),
  killGapMs: [gap[0]!, gap[1]!],
  keep: values.keep,
});
console.log(`${new Date().toISOString()}\n${formatReport(report)}`);
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
process.exit(report.violations.length === 0 ? 0 : 1);
