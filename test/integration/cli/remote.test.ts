import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { sleepStep } from '../../support/node.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * The CLI against a real `verity serve` process: the same commands as locally, through the SDK, with keys
 * created by the CLI itself. Nothing here touches the server's store except through the server.
 */
let dir: string;
let server: ServerProcess;
let admin: Record<string, string>;
let alice: Record<string, string>;

const remote = (apiKey: string) => ({
  VERITY_SERVER: server.url,
  VERITY_API_KEY: apiKey,
  VERITY_DATA_DIR: join(dir, 'nowhere'),
  VERITY_DATABASE_URL: '',
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verity-remote-cli-'));
  server = await startServerProcess({ dataDir: join(dir, 'server'), workers: 2 });
  admin = remote(server.adminKey);
  const created = await runCli(['keys', 'create', '--role', 'publisher', '--name', 'alice'], admin);
  expect(created.code).toBe(0);
  // The key alone on stdout, so `KEY=$(verity keys create …)` works.
  expect(created.stdout).toMatch(/^vrt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
  alice = remote(created.stdout.trim());
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the CLI against a server', () => {
  it('runs an example with live progress, then status, history, list, receipt and verify show it as they do locally', async () => {
    const run = await runCli(['run', 'examples/linear/workflow.yaml', '--input', '@examples/linear/input.json'], alice);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`on ${server.url}`);
    expect(run.stderr).toMatch(/normalize: completed[\s\S]*report: completed[\s\S]*execution completed/);
    const id = /execution ([0-9a-f-]{36}) in /.exec(run.stdout)![1]!;

    const json = await runCli(['status', id, '--json'], alice);
    const view = JSON.parse(json.stdout) as {
      status: string;
      result: { words: number };
      steps: { id: string; status: string }[];
    };
    expect(view.status).toBe('completed');
    expect(view.result.words).toBe(27);
    expect(view.steps.map((s) => s.status)).toEqual(Array(5).fill('completed'));

    const history = JSON.parse((await runCli(['history', id, '--json'], alice)).stdout) as {
      seq: number;
      type: string;
      actor: string;
    }[];
    expect(history[0]).toMatchObject({ type: 'execution.started', actor: 'client:alice' });
    expect(history.filter((e) => e.type === 'step.completed')).toHaveLength(5);
    expect(history.map((e) => e.seq)).toEqual([...history.map((e) => e.seq)].sort((a, b) => a - b));

    const list = JSON.parse((await runCli(['list', '--json'], alice)).stdout) as { executionId: string }[];
    expect(list.map((e) => e.executionId)).toContain(id);

    // Offline verification with a pinned key, as a third party would do it.
    const pem = join(dir, 'coordinator.pem');
    const shown = await runCli(['keys', 'show'], alice);
    writeFileSync(pem, shown.stdout);
    const bundleFile = join(dir, 'bundle.json');
    expect((await runCli(['receipt', id, '--include-data', '-o', bundleFile], alice)).code).toBe(0);
    const verified = await runCli(['verify', bundleFile, '--trust', pem, '--level', 'full'], {
      VERITY_SERVER: '',
      VERITY_API_KEY: '',
    });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain('verified at level full');

    // Verify by execution id: the bundle is fetched, the checks run here; the key used is said out loud.
    const byId = await runCli(['verify', id, '--level', 'full'], alice);
    expect(byId.code).toBe(0);
    expect(byId.stderr).toContain('trusting the coordinator key');

    // A tampered bundle fails here just as it does locally.
    const bundle = JSON.parse(readFileSync(bundleFile, 'utf8')) as { data: { inputs: { text: string } } };
    bundle.data.inputs.text += '!';
    writeFileSync(bundleFile, JSON.stringify(bundle));
    expect((await runCli(['verify', bundleFile, '--trust', pem, '--level', 'full'], {})).code).toBe(1);
  });

  it('runs a published workflow by id, a pinned version, and returns at once with --no-wait', async () => {
    expect(
      (await runCli(['run', 'examples/fan-out/workflow.yaml', '--input', '@examples/fan-out/input.json', '-q'], alice))
        .code,
    ).toBe(0);
    const byId = await runCli(
      ['run', 'review-fan-out@1', '--input', '@examples/fan-out/input.json', '--json', '-q'],
      alice,
    );
    expect(byId.code).toBe(0);
    expect(JSON.parse(byId.stdout)).toMatchObject({
      workflowId: 'review-fan-out',
      workflowVersion: 1,
      status: 'completed',
    });

    const detached = await runCli(
      ['run', 'review-fan-out', '--input', '@examples/fan-out/input.json', '--no-wait'],
      alice,
    );
    expect(detached.code).toBe(0);
    expect(detached.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);

    const missing = await runCli(['run', 'no-such-workflow'], alice);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no workflow no-such-workflow of yours/);
  });

  it('cancels a running execution and retries it to the end', async () => {
    const slow = join(dir, 'slow.yaml');
    writeFileSync(
      slow,
      JSON.stringify({
        id: 'remote-slow',
        name: 'slow',
        version: 1,
        steps: [sleepStep('nap', 8000), sleepStep('after', 10, { depends_on: ['nap'] })],
      }),
    );
    // The nap outlasts two CLI starts (each takes seconds on a loaded machine), so the cancel finds it running.
    const started = await runCli(['run', slow, '--no-wait'], alice);
    const id = started.stdout.trim();
    const cancelled = await runCli(['cancel', id], alice);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toContain(`cancelled ${id}`);
    expect(JSON.parse((await runCli(['status', id, '--json'], alice)).stdout)).toMatchObject({ status: 'cancelled' });
    const retried = await runCli(['retry', id, '--json', '-q'], alice);
    expect(retried.code, retried.stderr).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ executionId: id, status: 'completed' });
  });

  it('manages keys: list shows no secrets, a client sees only its own executions, a revoked key is refused', async () => {
    const bob = (await runCli(['keys', 'create', '--role', 'client', '--name', 'bob'], admin)).stdout.trim();
    const list = await runCli(['keys', 'list', '--json'], admin);
    const keys = JSON.parse(list.stdout) as { id: string; principal: string; role: string; revokedAt?: string }[];
    expect(keys.map((k) => `${k.principal}:${k.role}`)).toEqual(
      expect.arrayContaining(['admin:admin', 'alice:publisher', 'bob:client']),
    );
    expect(list.stdout).not.toContain(bob.split('_')[2]);

    // Bob cannot see Alice's executions: not listed, and by id not found.
    const aliceFirst = (JSON.parse((await runCli(['list', '--json'], alice)).stdout) as { executionId: string }[])[0]!
      .executionId;
    expect(JSON.parse((await runCli(['list', '--json'], remote(bob))).stdout)).toEqual([]);
    const probe = await runCli(['status', aliceFirst], remote(bob));
    expect(probe.code).toBe(2);
    expect(probe.stderr).toContain(`no execution ${aliceFirst}`);
    // A client may not publish; it runs the workflows its principal published, not another's.
    const publish = await runCli(
      ['run', 'examples/linear/workflow.yaml', '--input', '@examples/linear/input.json'],
      remote(bob),
    );
    expect(publish.code).toBe(2);
    expect(publish.stderr).toContain('verity run text-report');
    const foreign = await runCli(['run', 'text-report', '--input', '@examples/linear/input.json', '-q'], remote(bob));
    expect(foreign.code).toBe(2);
    expect(foreign.stderr).toContain('no workflow text-report of yours');
    expect(foreign.stderr).toContain('POST /v1/market/listings/{id}/execute');
    const alicesClient = (await runCli(['keys', 'create', '--role', 'client', '--name', 'alice'], admin)).stdout.trim();
    expect(
      (await runCli(['run', 'text-report', '--input', '@examples/linear/input.json', '-q'], remote(alicesClient))).code,
    ).toBe(0);

    const bobId = keys.find((k) => k.principal === 'bob')!.id;
    const revoked = await runCli(['keys', 'revoke', bobId], admin);
    expect(revoked.stdout).toContain(`revoked client key ${bobId} of bob`);
    const refused = await runCli(['list'], remote(bob));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--api-key');
    // Only an admin manages keys.
    expect((await runCli(['keys', 'list'], alice)).code).toBe(1);
  });

  it('creates keys directly on a data directory, and says what is missing without a key', async () => {
    const dataDir = join(dir, 'local-keys');
    const created = await runCli(['keys', 'create', '--role', 'worker', '--name', 'gpu-1', '--data-dir', dataDir], {
      VERITY_SERVER: '',
      VERITY_DATABASE_URL: '',
    });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^vrt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n$/);
    const listed = JSON.parse(
      (await runCli(['keys', 'list', '--json', '--data-dir', dataDir], { VERITY_SERVER: '', VERITY_DATABASE_URL: '' }))
        .stdout,
    ) as { principal: string; role: string }[];
    expect(listed).toEqual([expect.objectContaining({ principal: 'gpu-1', role: 'worker' })]);

    const badRole = await runCli(['keys', 'create', '--role', 'root', '--name', 'x', '--data-dir', dataDir], {
      VERITY_SERVER: '',
    });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toContain('--role must be one of client, publisher, worker, admin');

    const noKey = await runCli(['list', '--server', server.url], { VERITY_API_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('VERITY_API_KEY');
    const badUrl = await runCli(['list', '--server', 'localhost:8080', '--api-key', 'x'], {});
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--server must be');
  });
});
