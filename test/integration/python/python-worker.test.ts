import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerityClient } from '../../../src/sdk/client.js';
import { REPO, runCli } from '../../support/cli.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * The Python worker (python/verity_worker) against a real `verity serve`: its attestations are accepted by
 * the coordinator and pass `verify --level full` next to those of the TypeScript workers, a killed one's
 * job finishes on another, and SIGTERM deregisters. Skipped without a python3 that has `cryptography`,
 * except in CI, where that is a failure.
 */
/** The first of these with `cryptography`: the one on PATH may be a version manager's without it, beside Debian's. */
const CANDIDATES = process.env.VERITY_PYTHON ? [process.env.VERITY_PYTHON] : ['python3', '/usr/bin/python3'];
const FOUND = CANDIDATES.find(
  (python) => spawnSync(python, ['-c', 'import cryptography'], { stdio: 'ignore' }).status === 0,
);
const hasPython = FOUND !== undefined;
const PYTHON = FOUND ?? CANDIDATES[0]!;
const EXECUTORS = join(REPO, 'test', 'integration', 'python', 'executors.py');

if (!hasPython && process.env.CI === 'true') {
  describe('the Python worker', () => {
    it('needs python3 with the cryptography package in CI', () => {
      throw new Error(`${PYTHON} with cryptography is required when CI=true (apt-get install python3-cryptography)`);
    });
  });
}

interface PythonWorker {
  child: ChildProcess;
  workerId: string;
  keyId: string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startPythonWorker(url: string, key: string, dataDir: string, name: string): Promise<PythonWorker> {
  const child = spawn(
    PYTHON,
    [
      '-m',
      'verity_worker',
      '--server',
      url,
      '--key',
      key,
      '--module',
      EXECUTORS,
      '--data-dir',
      dataDir,
      '--name',
      name,
    ],
    {
      cwd: REPO,
      // Straight to the test server, whatever proxy the environment names.
      env: {
        ...process.env,
        PYTHONPATH: join(REPO, 'python'),
        NO_PROXY: '127.0.0.1,localhost',
        no_proxy: '127.0.0.1,localhost',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Python worker did not start:\n${stderr}`)), 20_000);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const ready = /worker (\S+) \(key ([0-9a-f]{64})\)/.exec(stderr);
      if (ready) {
        clearTimeout(timer);
        resolve({ child, workerId: ready[1]!, keyId: ready[2]!, stderr: () => stderr, exited });
      }
    });
    void exited.then((result) => {
      clearTimeout(timer);
      reject(new Error(`the Python worker exited (${result.code ?? result.signal}):\n${stderr}`));
    });
  });
}

describe.skipIf(!hasPython)('the Python worker', () => {
  let dir: string;
  let server: ServerProcess;
  let workerKey: string;
  let client: VerityClient;
  let admin: VerityClient;
  let trust: string;
  const workers: PythonWorker[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'verity-python-worker-'));
    // A short lease, so a killed worker's job is handed out again within seconds.
    server = await startServerProcess({ dataDir: join(dir, 'server'), workers: 2, args: ['--lease-ms', '1500'] });
    const env = { VERITY_SERVER: server.url, VERITY_API_KEY: server.adminKey };
    workerKey = (await runCli(['keys', 'create', '--role', 'worker', '--name', 'py'], env)).stdout.trim();
    const publisher = (await runCli(['keys', 'create', '--role', 'publisher', '--name', 'alice'], env)).stdout.trim();
    client = new VerityClient({ server: server.url, apiKey: publisher });
    admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
    trust = join(dir, 'coordinator.pem');
    writeFileSync(trust, (await runCli(['keys', 'show'], env)).stdout);
    workers.push(await startPythonWorker(server.url, workerKey, join(dir, 'py-a'), 'py-a'));
  }, 60_000);

  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Publishes and runs a workflow, then waits for its end. */
  async function run(definition: Record<string, unknown>, inputs: unknown = {}) {
    await client.publishWorkflow(definition);
    const started = await client.execute(definition.id as string, { inputs });
    return client.waitFor(started.executionId);
  }

  /** The receipt bundle with its data, verified at level full by the CLI with the coordinator's key pinned. */
  async function verifyFull(executionId: string) {
    const bundle = await client.receipt(executionId, { includeData: true });
    const file = join(dir, `${executionId}.json`);
    writeFileSync(file, JSON.stringify(bundle));
    const verified = await runCli(['verify', file, '--trust', trust, '--level', 'full'], {
      VERITY_SERVER: '',
      VERITY_API_KEY: '',
    });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain('verified at level full');
    return bundle as { attestations: { payload: string; signatures: { keyid: string }[] }[] };
  }

  it('passes its own unit tests (the shared vectors byte for byte)', () => {
    const result = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', 'python/tests'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
  });

  it('runs Python steps among TypeScript ones, and the receipt verifies at level full', async () => {
    const done = await run(
      {
        id: 'py-mixed',
        name: 'Python and TypeScript steps',
        version: 1,
        steps: [
          {
            id: 'echo',
            step_type: 'inference',
            model_requirements: { name: 'builtin/echo' },
            input_mappings: { text: 'inputs.text' },
          },
          {
            id: 'words',
            step_type: 'inference',
            model_requirements: { name: 'test/py-words' },
            input_mappings: { text: 'steps.echo.output.text' },
          },
          {
            id: 'big',
            step_type: 'inference',
            model_requirements: { name: 'test/py-big' },
            input_mappings: { text: 'inputs.text' },
          },
          {
            id: 'read',
            step_type: 'inference',
            model_requirements: { name: 'test/py-read' },
            input_mappings: { ref: 'steps.big.output.blob' },
          },
          {
            id: 'shout',
            step_type: 'data_processing',
            input_mappings: { w: 'steps.words.output', r: 'steps.read.output.text' },
            expression: "w.upper & ' ' & $string(w.words) & ' ' & r",
          },
        ],
        outputs: { shout: 'steps.shout.output', words: 'steps.words.output.words', pi: 'steps.words.output.pi' },
      },
      { text: 'héllo python wörld 😀' },
    );
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.result).toEqual({
      shout: 'HÉLLO PYTHON WÖRLD 😀 4 héllo python wörld 😀',
      words: 4,
      pi: 3.141592653589793,
    });
    // The cost the Python executor reported, not the reservation.
    expect(done.steps.find((s) => s.id === 'words')!.cost).toBe(7);
    const bundle = await verifyFull(done.executionId);
    const pythonKey = workers[0]!.keyId;
    const signedByPython = bundle.attestations.filter((a) => a.signatures[0]!.keyid === pythonKey);
    expect(signedByPython).toHaveLength(3);
    const predicate = (
      JSON.parse(Buffer.from(signedByPython[0]!.payload, 'base64').toString('utf8')) as {
        predicate: { model: { name: string; version: string; digest: string }; usage: Record<string, number> };
      }
    ).predicate;
    expect(predicate.model).toMatchObject({ name: 'test/py-words', version: '1' });
    expect(predicate.model.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(predicate.usage).toEqual({ words: 4, ratio: 0.5 });
  }, 30_000);

  it('reports an executor error by its code, and refuses output mappings it cannot run', async () => {
    const refused = await run({
      id: 'py-refuse',
      name: 'refused',
      version: 1,
      steps: [{ id: 'no', step_type: 'inference', model_requirements: { name: 'test/py-refuse' } }],
    });
    expect(refused.status).toBe('failed');
    expect(refused.steps[0]).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'bad_input' } });

    const mapped = await run({
      id: 'py-mapped',
      name: 'mapped',
      version: 1,
      steps: [
        {
          id: 'm',
          step_type: 'inference',
          model_requirements: { name: 'test/py-words' },
          input_mappings: { text: "'a b'" },
          output_mappings: { n: 'words' },
        },
      ],
    });
    expect(mapped.steps[0]).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'output_mappings_unsupported' },
    });
    expect(mapped.steps[0]!.error!.message).toContain('input_mappings');
  }, 30_000);

  it('finishes a step on another Python worker when the one running it is killed', async () => {
    const definition = {
      id: 'py-kill',
      name: 'killed mid-job',
      version: 1,
      steps: [
        {
          id: 'nap',
          step_type: 'inference',
          model_requirements: { name: 'test/py-sleep' },
          input_mappings: { seconds: '60' },
        },
        {
          id: 'after',
          step_type: 'inference',
          model_requirements: { name: 'builtin/echo' },
          input_mappings: { slept: 'steps.nap.output.slept' },
        },
      ],
    };
    await client.publishWorkflow(definition);
    const started = await client.execute('py-kill');
    // Only the first Python worker runs until the nap is under way; then a second one starts and the first dies.
    for (let i = 0; ; i++) {
      const view = await client.status(started.executionId);
      if (view.steps.find((s) => s.id === 'nap')?.status === 'running') break;
      if (i > 100) throw new Error('the nap never started');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Heartbeats hold the lease (1.5 s) while the nap outlasts it: still the first attempt, still running.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await client.status(started.executionId)).steps.find((s) => s.id === 'nap')).toMatchObject({
      status: 'running',
      attempts: 1,
    });
    workers.push(await startPythonWorker(server.url, workerKey, join(dir, 'py-b'), 'py-b'));
    workers[0]!.child.kill('SIGKILL');
    expect((await workers[0]!.exited).signal).toBe('SIGKILL');
    const done = await client.waitFor(started.executionId);
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    expect(done.steps.find((s) => s.id === 'nap')!.attempts).toBe(2);
    const bundle = await verifyFull(done.executionId);
    expect(bundle.attestations.map((a) => a.signatures[0]!.keyid)).toContain(workers[1]!.keyId);
  }, 30_000);

  it('deregisters on SIGTERM', async () => {
    const worker = workers[1]!;
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(worker.stderr()).toContain(`worker ${worker.workerId} deregistered`);
    const listed = (await admin.listWorkers()).find((w) => w.id === worker.workerId);
    expect(listed?.status).toBe('stopped');
  }, 20_000);

  it('keeps its key in the data directory, readable by its owner only', () => {
    const file = join(dir, 'py-a', 'keys', 'worker.key');
    expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(spawnSync('stat', ['-c', '%a', file], { encoding: 'utf8' }).stdout.trim()).toBe('600');
  });
});
