import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../support/api-http.js';
import { runCli } from '../../support/cli.js';
import { echo } from '../../support/node.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

interface Settlement {
  revision: number;
  outcome: string;
  price: number;
  fee: number;
  compute_cost: number;
}

/** Two steps whose attested costs sum to C = 200, and that say back their text. */
const flow = {
  id: 'cli-buy',
  name: 'CLI buy',
  version: 1,
  steps: [
    echo('a', { input_mappings: { text: 'inputs.text', cost: '120' } }),
    echo('b', { depends_on: ['a'], input_mappings: { cost: '80' } }),
  ],
  max_cost_budget: 1_000_000,
};
const PRICE = 1_000;
const FEE = 50;

/**
 * `verity market run` against a real `verity serve` (the key says who buys), then on the same data directory
 * with the server stopped, buying `--as` a principal: the execution id, and once it ended, its settlement.
 */
describe('verity market run', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  let listingId: string;
  const keys: Record<string, string> = {};
  const remote = (who: string) => ({
    VERITY_SERVER: server!.url,
    VERITY_API_KEY: keys[who]!,
    VERITY_DATA_DIR: join(dir, 'nowhere'),
    VERITY_DATABASE_URL: '',
  });
  const local = () => ({ VERITY_DATA_DIR: join(dir, 'server'), VERITY_DATABASE_URL: '' });
  const balance = async (principal: string) =>
    (await call(server!.url, 'GET', `/v1/ledger/balance?principal=${principal}`, { key: keys.admin! })).json;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-market-run-cli-'));
    server = await startServerProcess({ dataDir: join(dir, 'server'), workers: 2 });
    keys.admin = server.adminKey;
    for (const [name, role] of [
      ['acme', 'publisher'],
      ['bob', 'client'],
      ['carol', 'client'],
    ] as const) {
      const created = await runCli(['keys', 'create', '--role', role, '--name', name], remote('admin'));
      expect(created.code, created.stderr).toBe(0);
      keys[name] = created.stdout.trim();
    }
    expect((await call(server.url, 'POST', '/v1/workflows', { key: keys.acme!, json: flow })).status).toBe(201);
    const listed = await call(server.url, 'POST', '/v1/market/listings', {
      key: keys.acme!,
      json: { workflow_id: 'cli-buy', title: 'Buy me', execution_price: PRICE, pricing: { model: 'per_execution' } },
    });
    expect(listed.status, listed.text).toBe(201);
    listingId = (listed.json as { id: string }).id;
    const credited = await call(server.url, 'POST', '/v1/ledger/credit', {
      key: keys.admin,
      json: { principal: 'bob', amount: 5_000 },
    });
    expect(credited.status).toBe(201);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('buys a run on a server: the execution id, then with --wait the settlement, in text and --json', async () => {
    const started = await runCli(['market', 'run', listingId, '--input', 'text=hello'], remote('bob'));
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);

    const file = join(dir, 'inputs.json');
    writeFileSync(file, JSON.stringify({ text: 'from a file' }));
    const waited = await runCli(
      ['market', 'run', listingId, '--inputs-file', file, '--wait', '--json', '--idempotency-key', 'k1'],
      remote('bob'),
    );
    expect(waited.code, waited.stderr).toBe(0);
    const out = JSON.parse(waited.stdout) as {
      execution: { executionId: string; status: string };
      settlements: Settlement[];
    };
    expect(out.execution.status).toBe('completed');
    expect(out.settlements).toEqual([
      expect.objectContaining({ revision: 1, outcome: 'completed', price: PRICE, fee: FEE, compute_cost: 200 }),
    ]);

    const text = await runCli(['market', 'run', listingId, '--wait', '--max-price', String(PRICE)], remote('bob'));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^[0-9a-f-]{36}\n/);
    expect(text.stdout).toContain(`price ${PRICE}, fee ${FEE}, compute cost 200`);
    // The first run settled too by now; three paid runs, holds all released.
    await runCli(['market', 'run', listingId, '--wait', '--idempotency-key', 'k1', '--json'], remote('bob'));
    expect(await balance('bob')).toMatchObject({ available: 5_000 - 3 * PRICE, held: 0 });
  });

  it('refuses a buyer short of funds, a bad --input and a fixed price above --max-price, starting nothing', async () => {
    const short = await runCli(['market', 'run', listingId], remote('carol'));
    expect(short.code).not.toBe(0);
    expect(short.stderr).toMatch(/carol is 1000 micro-units short/);
    const bad = await runCli(['market', 'run', listingId, '--input', 'novalue'], remote('bob'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--input must be key=value');
    const low = await runCli(['market', 'run', listingId, '--max-price', '10'], remote('bob'));
    expect(low.code).not.toBe(0);
    expect(low.stderr).toContain('max_price');
    expect(await balance('carol')).toMatchObject({ available: 0, held: 0 });
    expect(await balance('bob')).toMatchObject({ available: 5_000 - 3 * PRICE, held: 0 });
  });

  it('buys on the data directory --as a principal, with in-process workers, and needs --as', async () => {
    await server!.stop();
    server = undefined;
    const missing = await runCli(['market', 'run', listingId], local());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--as');
    const bought = await runCli(['market', 'run', listingId, '--as', 'bob', '--input', 'text=here', '--json'], local());
    expect(bought.code, bought.stderr).toBe(0);
    const out = JSON.parse(bought.stdout) as { execution: { status: string }; settlements: Settlement[] };
    expect(out.execution.status).toBe('completed');
    expect(out.settlements).toEqual([
      expect.objectContaining({ outcome: 'completed', price: PRICE, fee: FEE, compute_cost: 200 }),
    ]);
    const left = await runCli(['ledger', 'balance', '--principal', 'bob', '--json'], local());
    expect(left.code, left.stderr).toBe(0);
    expect(JSON.parse(left.stdout)).toMatchObject({ available: 5_000 - 4 * PRICE, held: 0 });
  });
});
