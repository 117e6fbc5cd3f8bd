import { afterEach, describe, expect, it } from 'vitest';
import { VerityClient } from '../../../src/sdk/client.js';
import { createBackend } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * The crash loop a publisher could cause: a `when` that allocates without bound ended `verity serve` with a
 * V8 fatal error, and again at every restart, because recovery advanced the execution again. Now the
 * condition runs in a sandbox: the execution fails with an error that says why, the server stands, and a
 * server killed while such a decision was due decides it after its restart, and stands again.
 */
const BOMB = "$length($pad('x', 200000000)) > 0";

describe('a publisher workflow that would crash-loop the server', () => {
  let backend: BackendFixture;
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await backend.cleanup();
  });

  it('fails the execution, survives it, and survives a restart in the middle of it', async () => {
    backend = await createBackend('sqlite', 'hostile-restart');
    server = await startServerProcess({ dataDir: backend.dataDir, workers: 2 });
    const admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
    const publisher = new VerityClient({
      server: server.url,
      apiKey: (await admin.createKey('mallory', 'publisher')).token,
    });
    await publisher.publishWorkflow({
      id: 'bomb',
      steps: [
        {
          id: 'wait',
          step_type: 'inference',
          model_requirements: { name: 'builtin/sleep' },
          input_mappings: { ms: 'inputs.ms' },
        },
        {
          id: 'boom',
          step_type: 'inference',
          model_requirements: { name: 'builtin/echo' },
          depends_on: ['wait'],
          when: BOMB,
        },
      ],
    });

    const first = await publisher.execute('bomb', { inputs: { ms: 1 } });
    const ended = await publisher.waitFor(first.executionId);
    expect(ended.status).toBe('failed');
    expect(ended.error).toMatchObject({ code: 'condition_failed', stepId: 'boom' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    // Killed while the condition's decision is still ahead: the restart recovers the execution and decides it.
    const second = await publisher.execute('bomb', { inputs: { ms: 1500 } });
    await new Promise((r) => setTimeout(r, 500));
    const port = new URL(server.url).port;
    await server.kill();
    server = await startServerProcess({ dataDir: backend.dataDir, workers: 2, port: Number(port) });
    const again = new VerityClient({ server: server.url, apiKey: server.adminKey });
    const after = await again.waitFor(second.executionId);
    expect(after.status).toBe('failed');
    expect(after.error).toMatchObject({ code: 'condition_failed', stepId: 'boom' });
    // And once more: a third start finds nothing left to choke on.
    await server.stop();
    server = await startServerProcess({ dataDir: backend.dataDir, workers: 2, port: Number(port) });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(
      (await new VerityClient({ server: server.url, apiKey: server.adminKey }).status(second.executionId)).status,
    ).toBe('failed');
  }, 120_000);
});
