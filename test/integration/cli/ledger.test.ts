import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

interface Balance {
  principal: string;
  available: number;
  held: number;
}

/** `verity ledger`: the same commands on a data directory (the operator as admin) and against a server. */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'verity-ledger-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('verity ledger on a data directory', () => {
  const local = () => ({ VERITY_DATA_DIR: join(dir, 'local'), VERITY_DATABASE_URL: '' });

  it('credits, pays out and shows the balance and history, with --json', async () => {
    const credited = await runCli(['ledger', 'credit', 'alice', '2500000', '--json'], local());
    expect(credited.code, credited.stderr).toBe(0);
    const transaction = JSON.parse(credited.stdout) as { id: string; kind: string };
    expect(transaction.kind).toBe('credit');
    // The same key again: the same transaction, nothing posted twice.
    const again = await runCli(['ledger', 'credit', 'alice', '500', '--idempotency-key', 'k1', '--json'], local());
    const replay = await runCli(['ledger', 'credit', 'alice', '500', '--idempotency-key', 'k1', '--json'], local());
    expect((JSON.parse(replay.stdout) as { id: string }).id).toBe((JSON.parse(again.stdout) as { id: string }).id);

    const balance = await runCli(['ledger', 'balance', '--principal', 'alice', '--json'], local());
    expect(balance.code, balance.stderr).toBe(0);
    expect(JSON.parse(balance.stdout)).toEqual({ principal: 'alice', available: 2_500_500, held: 0 });

    const short = await runCli(['ledger', 'payout', 'alice', '3000000'], local());
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('499500 micro-units short');
    const paid = await runCli(['ledger', 'payout', 'alice', '500'], local());
    expect(paid.code, paid.stderr).toBe(0);
    expect(paid.stdout).toContain('paid out 500 micro-units from alice');
    const text = await runCli(['ledger', 'balance', '--principal', 'alice'], local());
    expect(text.stdout.trim()).toBe('alice: available 2500000, held 0 (micro-units)');
    // The operator acting for alice (as the market commands do) reads the same account.
    const asAlice = await runCli(['ledger', 'balance', '--as', 'alice'], local());
    expect(asAlice.stdout.trim()).toBe('alice: available 2500000, held 0 (micro-units)');

    const history = await runCli(['ledger', 'history', '--principal', 'alice', '--json'], local());
    const page = JSON.parse(history.stdout) as { transactions: { kind: string; postings: { account: string }[] }[] };
    expect(page.transactions.map((t) => t.kind)).toEqual(['payout', 'credit', 'credit']);
    expect(page.transactions.every((t) => t.postings.every((p) => p.account === 'alice'))).toBe(true);
  });

  it('refuses bad amounts, bad names and a missing --principal as usage errors, writing nothing', async () => {
    for (const amount of ['1.5', '0', '-3', '1e3', '9007199254740993', 'ten']) {
      const refused = await runCli(['ledger', 'credit', 'bob', amount], local());
      expect(refused.code, amount).toBe(2);
      expect(refused.stderr).toContain('AMOUNT must be integer micro-units');
    }
    const reserved = await runCli(['ledger', 'credit', 'sys:platform', '5'], local());
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain('reserved');
    const anonymous = await runCli(['ledger', 'balance'], local());
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toContain('--principal NAME');
    const bob = await runCli(['ledger', 'balance', '--principal', 'bob', '--json'], local());
    expect(JSON.parse(bob.stdout)).toEqual({ principal: 'bob', available: 0, held: 0 });
  });

  it('says in --help that amounts are integer micro-units', async () => {
    const help = await runCli(['ledger', 'credit', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('integer micro-units');
  });
});

describe('verity ledger against a server', () => {
  let server: ServerProcess;
  const remote = (apiKey: string) => ({
    VERITY_SERVER: server.url,
    VERITY_API_KEY: apiKey,
    VERITY_DATA_DIR: join(dir, 'nowhere'),
    VERITY_DATABASE_URL: '',
  });
  beforeAll(async () => {
    server = await startServerProcess({ dataDir: join(dir, 'server'), workers: 0 });
  });
  afterAll(() => server?.stop());

  it('an admin credits a client, who sees its own balance; a client may not credit', async () => {
    const admin = remote(server.adminKey);
    const created = await runCli(['keys', 'create', '--role', 'client', '--name', 'carol'], admin);
    expect(created.code, created.stderr).toBe(0);
    const carol = remote(created.stdout.trim());

    const credited = await runCli(['ledger', 'credit', 'carol', '1000', '--json'], admin);
    expect(credited.code, credited.stderr).toBe(0);
    expect((JSON.parse(credited.stdout) as { kind: string }).kind).toBe('credit');

    const own = await runCli(['ledger', 'balance', '--json'], carol);
    expect(own.code, own.stderr).toBe(0);
    expect(JSON.parse(own.stdout) as Balance).toEqual({ principal: 'carol', available: 1000, held: 0 });
    const byAdmin = await runCli(['ledger', 'balance', '--principal', 'carol', '--json'], admin);
    expect(JSON.parse(byAdmin.stdout) as Balance).toEqual({ principal: 'carol', available: 1000, held: 0 });

    const history = await runCli(['ledger', 'history', '--limit', '5', '--json'], carol);
    expect((JSON.parse(history.stdout) as { transactions: unknown[] }).transactions).toHaveLength(1);

    const refused = await runCli(['ledger', 'credit', 'carol', '5'], carol);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('it needs one of: admin');
    const short = await runCli(['ledger', 'payout', 'carol', '2000'], admin);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain('1000 micro-units short');
    expect(JSON.parse((await runCli(['ledger', 'balance', '--json'], carol)).stdout) as Balance).toMatchObject({
      available: 1000,
    });
  });
});
