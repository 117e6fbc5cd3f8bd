import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { median, percentile } from '../stats.js';
import { STEPS } from './chain.js';
import type { ChildOptions, ChildResult } from './chain.js';
import { POSTGRES, postgresUp } from '../postgres.js';

/**
 * `npm run bench:peers`: the same 50-step no-op chain on BullMQ, LangGraph.js, DBOS Transact and Verity (on
 * SQLite and PostgreSQL, attested and not), interleaved: in each round every system runs once, in its own
 * fresh process and fresh database, in an order that turns from round to round, so that no system is always
 * measured right after the same neighbour or always first. Prints each system's time per step and Verity's
 * ratio to each peer, and writes the raw numbers to bench/results/peers-<date>.json.
 *
 * Options: --rounds N (3), --runs N (20 measured runs per system per round), --warmup N (5),
 * --only id,id (a subset of the systems below). PostgreSQL is VERITY_BENCH_DATABASE_URL (as for
 * `npm run bench`); Redis is 127.0.0.1:6379 (VERITY_BENCH_REDIS_PORT). A system whose server does not
 * answer is left out and said so.
 *
 * The peers' packages live in bench/peers/package.json, outside the product's dependencies; they are
 * installed there (`npm ci`) on the first run.
 */
const PEERS_DIR = 'bench/peers';
const REDIS_PORT = Number(process.env.VERITY_BENCH_REDIS_PORT ?? 6379);
const DBOS_DATABASE = 'verity_bench_dbos';

type Needs = 'postgres' | 'redis' | 'none';
interface System {
  id: string;
  /** The column heading of Verity's ratio to it. */
  name: string;
  label: string;
  /** The child script, relative to the repository's root. */
  script: string;
  needs: Needs;
  peer: boolean;
  options?: Record<string, unknown>;
}

const peerVersion = (name: string): string => {
  const file = join(PEERS_DIR, 'node_modules', name, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : '?';
};

function systems(): System[] {
  return [
    {
      id: 'bullmq',
      name: 'BullMQ',
      label: `BullMQ ${peerVersion('bullmq')} on Redis (a job queue: keeps nothing durable, signs nothing)`,
      script: `${PEERS_DIR}/systems/bullmq.ts`,
      needs: 'redis',
      peer: true,
    },
    {
      id: 'langgraph',
      name: 'LangGraph.js',
      label: `LangGraph.js ${peerVersion('@langchain/langgraph')}, SQLite checkpointer, durability sync`,
      script: `${PEERS_DIR}/systems/langgraph.ts`,
      needs: 'none',
      peer: true,
    },
    {
      id: 'dbos',
      name: 'DBOS',
      label: `DBOS Transact ${peerVersion('@dbos-inc/dbos-sdk')} on PostgreSQL`,
      script: `${PEERS_DIR}/systems/dbos.ts`,
      needs: 'postgres',
      peer: true,
    },
    ...(['sqlite', 'postgres'] as const).flatMap((backend) =>
      [true, false].map((attest): System => ({
        id: `verity-${backend}${attest ? '' : '-plain'}`,
        name: 'Verity',
        label: `Verity on ${backend === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${attest ? 'attested' : 'not attested'}`,
        script: `${PEERS_DIR}/verity.ts`,
        needs: backend === 'postgres' ? 'postgres' : 'none',
        peer: false,
        options: { backend, attest },
      })),
    ),
  ];
}

function parseArgs(argv: string[]) {
  const settings = { rounds: 3, runs: 20, warmup: 5, only: undefined as string[] | undefined };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--only' && value) settings.only = value.split(',');
    else if ((flag === '--rounds' || flag === '--runs' || flag === '--warmup') && value && /^\d+$/.test(value)) {
      settings[flag.slice(2) as 'rounds' | 'runs' | 'warmup'] = Number(value);
    } else {
      throw new Error(
        `bench:peers: unknown or incomplete option ${flag ?? ''} ${value ?? ''}; use --rounds N, --runs N, --warmup N, --only id,id`,
      );
    }
  }
  if (settings.rounds < 1 || settings.runs < 1) throw new Error('bench:peers: --rounds and --runs must be at least 1');
  return settings;
}

/** The peers' packages, installed from bench/peers/package-lock.json when one of them is missing or another version. */
function ensurePeersInstalled(): void {
  const manifest = JSON.parse(readFileSync(join(PEERS_DIR, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const stale = Object.entries(manifest.dependencies).filter(([name, version]) => peerVersion(name) !== version);
  if (stale.length === 0) return;
  process.stderr.write(`installing the peers into ${PEERS_DIR}/node_modules (npm ci, once; a few minutes)…\n`);
  execFileSync('npm', ['ci', '--prefix', PEERS_DIR, '--no-audit', '--no-fund'], { stdio: 'inherit' });
}

function redisUp(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: REDIS_PORT });
    const end = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(2000, () => end(false));
    socket.on('error', () => end(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => end(data.toString().startsWith('+PONG')));
  });
}

async function onPostgres(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const withDatabase = (url: string, database: string) => {
  const u = new URL(url);
  u.pathname = `/${database}`;
  u.search = '';
  return u.toString();
};
const withSchema = (url: string, schema: string) => `${url}${url.includes('?') ? '&' : '?'}schema=${schema}`;

/** Runs one system once in its own process, on fresh storage that is removed afterwards. */
async function runChild(system: System, settings: { runs: number; warmup: number }, tag: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'verity-peers-'));
  const options: ChildOptions = { warmup: settings.warmup, runs: settings.runs, dataDir, ...system.options };
  let cleanup = () => Promise.resolve();
  if (system.id === 'dbos') {
    await onPostgres(`DROP DATABASE IF EXISTS ${DBOS_DATABASE} WITH (FORCE)`);
    await onPostgres(`CREATE DATABASE ${DBOS_DATABASE}`);
    options.databaseUrl = withDatabase(POSTGRES, DBOS_DATABASE);
    cleanup = () => onPostgres(`DROP DATABASE IF EXISTS ${DBOS_DATABASE} WITH (FORCE)`);
  } else if (system.options?.backend === 'postgres') {
    const schema = `peers_${tag}_${process.pid}`;
    options.databaseUrl = withSchema(POSTGRES, schema);
    cleanup = () => onPostgres(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } else if (system.id === 'bullmq') {
    options.queue = `verity-peers-${tag}-${process.pid}`;
    options.redisPort = REDIS_PORT;
  }
  try {
    // stderr is kept and shown only when the child fails: the peers log deprecation notices on the way.
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', system.script, JSON.stringify(options)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (exitCode) => resolve({ code: exitCode, stdout, stderr }));
      },
    );
    if (code !== 0) throw new Error(`${system.id} exited with ${code}:\n${stderr.trim()}`);
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await cleanup();
  }
}

interface Round {
  median_ms: number;
  p90_ms: number;
  per_step_ms: number[];
}
interface Outcome {
  label: string;
  settings?: string;
  rounds: Round[];
  median_ms?: number;
  p90_ms?: number;
  error?: string;
}

const settings = parseArgs(process.argv.slice(2));
ensurePeersInstalled();
const up: Record<Needs, boolean> = { postgres: await postgresUp(), redis: await redisUp(), none: true };
const all = systems().filter((s) => !settings.only || settings.only.includes(s.id));
const skipped = all.filter((s) => !up[s.needs]);
const chosen = all.filter((s) => up[s.needs]);
const outcomes: Record<string, Outcome> = Object.fromEntries(chosen.map((s) => [s.id, { label: s.label, rounds: [] }]));
const loadBefore = loadavg();
for (let round = 0; round < settings.rounds; round++) {
  // Turn the order each round: a system is not always first, nor always after the same one.
  const order = chosen.map((_, i) => chosen[(i + round) % chosen.length]!);
  for (const system of order) {
    const outcome = outcomes[system.id]!;
    if (outcome.error) continue;
    process.stderr.write(`round ${round + 1}/${settings.rounds}: ${system.id}…\n`);
    try {
      const result = await runChild(system, settings, `${system.id.replace(/-/g, '_')}_${round}`);
      outcome.settings = result.settings;
      outcome.rounds.push({
        median_ms: median(result.per_step_ms),
        p90_ms: percentile(result.per_step_ms, 90),
        per_step_ms: result.per_step_ms,
      });
    } catch (error) {
      outcome.error = error instanceof Error ? error.message : String(error);
      process.stderr.write(`${outcome.error}\n`);
    }
  }
}
const loadAfter = loadavg();

for (const outcome of Object.values(outcomes)) {
  const every = outcome.rounds.flatMap((r) => r.per_step_ms);
  if (every.length > 0) {
    outcome.median_ms = median(every);
    outcome.p90_ms = percentile(every, 90);
  }
}

/** Verity's time over the peer's: of all runs' medians, and the lowest and highest of the same-round ratios. */
function ratio(verity: Outcome, peer: Outcome) {
  if (verity.median_ms === undefined || peer.median_ms === undefined) return undefined;
  const perRound = verity.rounds
    .map((r, i) => (peer.rounds[i] ? r.median_ms / peer.rounds[i].median_ms : NaN))
    .filter((x) => Number.isFinite(x));
  return { ratio: verity.median_ms / peer.median_ms, low: Math.min(...perRound), high: Math.max(...perRound) };
}

const fmt = (n: number | undefined, digits = 2) => (n === undefined ? 'n/a' : n.toFixed(digits));
const peers = chosen.filter((s) => s.peer);
const verities = chosen.filter((s) => !s.peer);
const ratios: Record<string, Record<string, ReturnType<typeof ratio>>> = {};
for (const v of verities) {
  ratios[v.id] = Object.fromEntries(peers.map((p) => [p.id, ratio(outcomes[v.id]!, outcomes[p.id]!)]));
}

const commit = (() => {
  try {
    // The last commit that changed Verity's code, which is what its figures are of (not the bench's own).
    return execFileSync('git', ['log', '-1', '--format=%h', '--', 'src'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const date = new Date().toISOString();
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const load = `load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after`;
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
const lines = [
  `Peers, side by side: a ${STEPS}-step chain of no-op steps (each step gets the previous step's output), time from the start of the workflow to its result, per step.`,
  `${settings.rounds} rounds; in each, every system in its own fresh process and database: ${settings.warmup} warm-up runs, then ${settings.runs} measured.`,
  `Machine: ${machine}; ${load}. Verity's src/ as of commit ${commit}. ${date}`,
  '',
  row(['system', 'settings', 'per step: median (p90) of all runs', 'median of each round']),
  row(['---', '---', '---', '---']),
  ...chosen.map((s) => {
    const o = outcomes[s.id]!;
    return row([
      o.label,
      o.settings ?? '',
      o.error ? 'failed (its error is printed above)' : `**${fmt(o.median_ms)} ms** (${fmt(o.p90_ms)})`,
      o.rounds.map((r) => fmt(r.median_ms)).join(', '),
    ]);
  }),
  '',
  "Verity's time over each peer's (median over median; below 1 Verity is faster; in brackets the lowest and highest of the ratios within one round):",
  '',
  row(['Verity', ...peers.map((p) => p.name)]),
  row(['---', ...peers.map(() => '---')]),
  ...verities.map((v) =>
    row([
      outcomes[v.id]!.label.replace(/^Verity on /, ''),
      ...peers.map((p) => {
        const x = ratios[v.id]![p.id];
        return x ? `**${fmt(x.ratio)}** (${fmt(x.low)}–${fmt(x.high)})` : 'n/a';
      }),
    ]),
  ),
  ...(skipped.length > 0
    ? ['', `Left out, their server did not answer: ${skipped.map((s) => `${s.id} (${s.needs})`).join(', ')}.`]
    : []),
];
process.stdout.write(`${lines.join('\n')}\n`);
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/peers-${date.slice(0, 19).replace(/:/g, '-')}.json`;
writeFileSync(
  file,
  JSON.stringify(
    { date, machine, load: { before: loadBefore, after: loadAfter }, commit, settings, outcomes, ratios },
    null,
    2,
  ) + '\n',
);
process.stdout.write(`\nRaw numbers: ${file}\n`);
