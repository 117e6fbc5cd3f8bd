import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobRef } from '../../../src/blobs/blob-ref.js';
import { NO_FILE_PATHS } from '../../../src/executors/inference/ocr/image-source.js';
import { VerityClient } from '../../../src/sdk/client.js';
import { runCli } from '../../support/cli.js';
import { startServerProcess, startWorkerProcess } from '../../support/server.js';
import type { ProcessHandle, ServerProcess } from '../../support/server.js';

/**
 * An OCR step's `image` may be a file path only in a local CLI run. Through a server, the worker that runs
 * the step (in-process, with the server's data directory beside it, or remote, with its own key there)
 * opens no file an input names: every path is refused with one answer, whether or not the file exists.
 * Before, a client read another client's uploaded invoice by its path under blobs/, and admin.key or
 * keys/coordinator.key were opened (refused only as "not a PNG": an existence oracle).
 */

const INVOICE = readFileSync(new URL('../../../examples/document-intelligence/invoice.png', import.meta.url));

const ocrFlow = {
  id: 'ocr-paths',
  name: 'ocr-paths',
  version: 1,
  // Retries allowed, so a failure after one attempt shows the refusal is final.
  steps: [
    {
      id: 'ocr',
      step_type: 'inference',
      model_requirements: { name: 'paddleocr' },
      input_mappings: { image: 'inputs.image' },
      retry_policy: { max_attempts: 3, initial_backoff_ms: 0 },
    },
  ],
  outputs: { text: 'steps.ocr.output.text' },
};

let dir: string;
let server: ServerProcess;
let remoteWorker: (ProcessHandle & { workerId: string }) | undefined;
let alice: VerityClient;
let bobsInvoice: BlobRef;

function clients(url: string, adminKey: string) {
  const admin = new VerityClient({ server: url, apiKey: adminKey });
  const key = async (name: string, role: 'client' | 'publisher' | 'worker') =>
    (await admin.createKey(name, role)).token;
  return {
    key,
    client: async (name: string, role: 'client' | 'publisher') =>
      new VerityClient({ server: url, apiKey: await key(name, role) }),
  };
}

/** Every path an attacker would try, existing files and not: each must get the same answer. */
function attackPaths(extra: string[] = []): string[] {
  const hex = bobsInvoice.$blob.slice('sha256:'.length);
  return [
    `blobs/sha256/${hex.slice(0, 2)}/${hex}`,
    `blobs/sha256/${hex}`,
    'admin.key',
    'keys/coordinator.key',
    'keys/worker.key',
    'verity.db',
    '/etc/passwd',
    '../x',
    'no-such-file.png',
    ...extra,
  ];
}

async function expectAllRefusedAlike(paths: string[]): Promise<void> {
  for (const image of paths) {
    const started = await alice.execute('ocr-paths', { inputs: { image } });
    const done = await alice.waitFor(started.executionId);
    expect(done.status, image).toBe('failed');
    expect(done.steps[0], image).toMatchObject({ attempts: 1 });
    expect(done.error, image).toMatchObject({ code: 'invalid_input', message: `step "ocr" failed: ${NO_FILE_PATHS}` });
    expect(JSON.stringify(done)).not.toContain('INV-2024-0117');
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'verity-ocr-paths-'));
  server = await startServerProcess({ dataDir: join(dir, 'server'), workers: 1 });
  const { client } = clients(server.url, server.adminKey);
  alice = await client('alice', 'client');
  const bob = await client('bob', 'client');
  bobsInvoice = await bob.uploadBlob(INVOICE, 'image/png');
  // Alice's own publisher key: the plan's execute route runs only the caller's own workflows.
  await (await client('alice', 'publisher')).publishWorkflow(ocrFlow);
}, 120_000);

afterAll(async () => {
  await remoteWorker?.stop();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('OCR image paths through a server', () => {
  it('are refused by the in-process worker with one answer, whether the file exists or not', async () => {
    await expectAllRefusedAlike(attackPaths());
    // The same image as a blob of her own reads fine: blobs are the way through a server.
    const mine = await alice.uploadBlob(INVOICE, 'image/png');
    const done = await alice.waitFor((await alice.execute('ocr-paths', { inputs: { image: mine } })).executionId);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect((done.result as { text: string }).text).toContain('INV-2024-0117');
  }, 120_000);

  it('are refused by a remote worker with the same answer', async () => {
    // The same store, served with no in-process worker: every job goes to the remote worker.
    await server.stop();
    server = await startServerProcess({ dataDir: join(dir, 'server'), workers: 0 });
    const { key } = clients(server.url, server.adminKey);
    alice = new VerityClient({ server: server.url, apiKey: await key('alice', 'client') });
    remoteWorker = await startWorkerProcess({
      url: server.url,
      apiKey: await key('gpu', 'worker'),
      dataDir: join(dir, 'worker'),
      concurrency: 1,
      capabilities: 'paddleocr',
    });
    await expectAllRefusedAlike(
      attackPaths(['.verity-worker/keys/worker.key', join(dir, 'worker', 'keys', 'worker.key')]),
    );
  }, 180_000);
});

describe('OCR image paths in a local CLI run', () => {
  it('still read a file under the data directory', async () => {
    const dataDir = join(dir, 'local');
    const env = { VERITY_DATA_DIR: dataDir, VERITY_DATABASE_URL: '', VERITY_SERVER: '' };
    mkdirSync(dataDir, { recursive: true });
    copyFileSync(
      new URL('../../../examples/document-intelligence/invoice.png', import.meta.url),
      join(dataDir, 'invoice.png'),
    );
    const run = await runCli(
      [
        'run',
        'examples/document-intelligence/workflow.yaml',
        '--input',
        JSON.stringify({ image: 'invoice.png' }),
        '--json',
      ],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('INV-2024-0117');
  }, 180_000);
});
