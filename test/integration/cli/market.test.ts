import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../support/api-http.js';
import { runCli } from '../../support/cli.js';
import { echo } from '../../support/node.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

interface Listing {
  id: string;
  title: string;
  owner: string;
  status: string;
  tags: string[];
  pricing: { model: string; markup_bps: number; max_price: number | null };
  definition?: unknown;
}

const flow = {
  id: 'cli-echo',
  name: 'CLI echo',
  version: 1,
  steps: [echo('a', { input_mappings: { text: 'inputs.text' } })],
  max_cost_budget: 1_000_000,
};

/**
 * `verity market` against a server (the key says who acts), then on the same data directory with the server
 * stopped, where the operator acts for a principal with --as under the same rules.
 */
describe('verity market', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  const keys: Record<string, string> = {};
  const remote = (who: string) => ({
    VERITY_SERVER: server!.url,
    VERITY_API_KEY: keys[who]!,
    VERITY_DATA_DIR: join(dir, 'nowhere'),
    VERITY_DATABASE_URL: '',
  });
  const local = () => ({ VERITY_DATA_DIR: join(dir, 'server'), VERITY_DATABASE_URL: '' });
  const json = <T>(stdout: string): T => JSON.parse(stdout) as T;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-market-cli-'));
    server = await startServerProcess({ dataDir: join(dir, 'server'), workers: 0 });
    keys.admin = server.adminKey;
    for (const [name, role] of [
      ['pub', 'publisher'],
      ['alice', 'client'],
    ] as const) {
      const created = await runCli(['keys', 'create', '--role', role, '--name', name], remote('admin'));
      expect(created.code, created.stderr).toBe(0);
      keys[name] = created.stdout.trim();
    }
    expect((await call(server.url, 'POST', '/v1/workflows', { key: keys.pub!, json: flow })).status).toBe(201);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  let listed: Listing;

  it('publishes, finds, shows and pauses a listing against a server; refusals exit 2 naming the field', async () => {
    const published = await runCli(
      ['market', 'publish', 'cli-echo', '--title', 'CLI agent', '--tag', 'Echo', '--price', '1500', '--json'],
      remote('pub'),
    );
    expect(published.code, published.stderr).toBe(0);
    listed = json<Listing>(published.stdout);
    expect(listed).toMatchObject({ title: 'CLI agent', owner: 'pub', tags: ['echo'], status: 'active' });

    const found = await runCli(['market', 'list', 'cli', '--tag', 'echo', '--json'], remote('alice'));
    expect(found.code, found.stderr).toBe(0);
    expect(json<{ listings: Listing[] }>(found.stdout).listings.map((l) => l.id)).toEqual([listed.id]);
    const text = await runCli(['market', 'show', listed.id], remote('alice'));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('per_execution: 1500 micro-units a completed run');
    expect(text.stdout).toContain('none yet');

    const cheap = await runCli(
      [
        'market',
        'publish',
        'cli-echo',
        '--title',
        'Too cheap',
        '--model',
        'per_usage',
        '--markup-bps',
        '10',
        '--max-price',
        '100',
      ],
      remote('pub'),
    );
    expect(cheap.code).toBe(2);
    expect(cheap.stderr).toContain('body.pricing.markup_bps');
    expect(cheap.stderr).toContain('at least 527');
    const byClient = await runCli(['market', 'pause', listed.id], remote('alice'));
    expect(byClient.code).toBe(1);
    const paused = await runCli(['market', 'pause', listed.id], remote('pub'));
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toContain('is paused');
    await server!.stop();
    server = undefined;
  });

  it('does the same on the data directory, acting --as a principal under the same rules', async () => {
    // A paused listing: its owner finds it, a buyer does not.
    const asBuyer = await runCli(['market', 'list', '--as', 'alice', '--json'], local());
    expect(asBuyer.code, asBuyer.stderr).toBe(0);
    expect(json<{ listings: Listing[] }>(asBuyer.stdout).listings).toEqual([]);
    const asOwner = await runCli(['market', 'list', '--as', 'pub', '--json'], local());
    expect(json<{ listings: Listing[] }>(asOwner.stdout).listings.map((l) => l.status)).toEqual(['paused']);
    expect((await runCli(['market', 'resume', listed.id, '--as', 'pub'], local())).code).toBe(0);

    const file = join(dir, 'listing.json');
    writeFileSync(file, JSON.stringify({ title: 'From a file', pricing: { model: 'per_usage', markup_bps: 600 } }));
    const published = await runCli(
      ['market', 'publish', 'cli-echo', '--as', 'pub', '--file', file, '--max-price', '5000', '--no-public', '--json'],
      local(),
    );
    expect(published.code, published.stderr).toBe(0);
    const usage = json<Listing>(published.stdout);
    expect(usage).toMatchObject({
      title: 'From a file',
      owner: 'pub',
      pricing: { model: 'per_usage', markup_bps: 600, max_price: 5000 },
    });
    // Private: alice does not see it, and cannot tell it from nothing.
    const hidden = await runCli(['market', 'show', usage.id, '--as', 'alice'], local());
    expect(hidden.code).toBe(2);
    expect(hidden.stderr).toContain(`no listing ${usage.id}`);
    const shown = await runCli(['market', 'show', usage.id, '--json'], local());
    expect(json<Listing>(shown.stdout).definition).toMatchObject({ id: 'cli-echo' });

    // The rules are the API's: another principal cannot list pub's workflow, nor change pub's listing.
    const foreign = await runCli(['market', 'publish', 'cli-echo', '--as', 'alice', '--title', 'Mine'], local());
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('no published workflow cli-echo');
    const taken = await runCli(['market', 'update', listed.id, '--as', 'alice', '--title', 'Mine'], local());
    expect(taken.code).toBe(2);
    const blank = await runCli(['market', 'update', listed.id, '--as', 'pub', '--title', ''], local());
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain('title');
    const noOwner = await runCli(['market', 'publish', 'cli-echo', '--title', 'Nobody'], local());
    expect(noOwner.code).toBe(2);
    expect(noOwner.stderr).toContain('--as');

    const updated = await runCli(['market', 'update', listed.id, '--as', 'pub', '--tag', 'new', '--json'], local());
    expect(updated.code, updated.stderr).toBe(0);
    expect(json<Listing>(updated.stdout).tags).toEqual(['new']);
    expect((await runCli(['market', 'retire', listed.id, '--as', 'pub'], local())).stdout).toContain('is retired');
    const again = await runCli(['market', 'resume', listed.id, '--as', 'pub'], local());
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('retired');
    const all = await runCli(['market', 'list', '--json'], local());
    expect(json<{ listings: Listing[] }>(all.stdout).listings.map((l) => l.id)).toEqual([usage.id]);
  });
});
