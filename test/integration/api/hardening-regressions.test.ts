import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Assignment } from '../../../src/coordinator/protocol.js';
import { call } from '../../support/api-http.js';
import type { RawResponse } from '../../support/api-http.js';
import { createBackend } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';
import { runCli } from '../../support/cli.js';
import { HttpWorker } from '../../support/http-worker.js';
import { startOpenAiServer } from '../../support/openai-server.js';
import type { OpenAiTestServer } from '../../support/openai-server.js';
import { startServerProcess } from '../../support/server.js';
import type { ServerProcess } from '../../support/server.js';

/**
 * Regression tests for items of the hardening issue that had none through a real server: each runs the
 * built `verity serve` as a child process and speaks to it over HTTP only, as a stranger with a key would.
 * Workflows are published and run by keys of one principal, so the tests do not depend on who else may run
 * a workflow.
 */

interface Execution {
  executionId: string;
  status: string;
  result?: unknown;
  error?: { code: string; message: string; stepId?: string };
  steps: { id: string; status: string; attempts: number; error?: { code: string; message: string } }[];
}

interface Check {
  name: string;
  ok: boolean;
  skipped?: boolean;
  message: string;
}

interface Report {
  ok: boolean;
  level: string;
  checks: Check[];
}

interface Event {
  type: string;
  stepId?: string;
}

/** A server process on a fresh SQLite data directory, with a publisher, a client and a worker key of "acme". */
class Harness {
  backend!: BackendFixture;
  server!: ServerProcess;
  readonly keys: Record<'publisher' | 'client' | 'worker', string> = { publisher: '', client: '', worker: '' };

  async start(label: string, options: { workers: number; args?: string[] }): Promise<void> {
    this.backend = await createBackend('sqlite', label);
    this.server = await startServerProcess({
      dataDir: this.backend.dataDir,
      workers: options.workers,
      ...(options.args && { args: options.args }),
    });
    for (const role of ['publisher', 'client', 'worker'] as const) {
      const created = await this.call('admin', 'POST', '/v1/keys', { json: { principal: 'acme', role } });
      expect(created.status, created.text).toBe(201);
      this.keys[role] = (created.json as { token: string }).token;
    }
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    await this.backend?.cleanup();
  }

  call(
    who: 'admin' | 'publisher' | 'client' | 'worker',
    method: string,
    path: string,
    options: { json?: unknown } = {},
  ): Promise<RawResponse> {
    const key = who === 'admin' ? this.server.adminKey : this.keys[who];
    return call(this.server.url, method, path, { key, ...options });
  }

  async publish(workflow: unknown): Promise<void> {
    const published = await this.call('publisher', 'POST', '/v1/workflows', { json: workflow });
    expect(published.status, published.text).toBe(201);
  }

  async execute(workflowId: string, inputs: unknown): Promise<string> {
    const started = await this.call('client', 'POST', `/v1/agents/${workflowId}/execute`, { json: { inputs } });
    expect(started.status, started.text).toBe(202);
    return (started.json as { executionId: string }).executionId;
  }

  async execution(id: string): Promise<Execution> {
    const response = await this.call('client', 'GET', `/v1/executions/${id}`);
    expect(response.status, response.text).toBe(200);
    return response.json as Execution;
  }

  /** Polls the execution until it is no longer pending or running. */
  async waitForEnd(id: string, timeoutMs = 30_000): Promise<Execution> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.execution(id);
      if (view.status !== 'pending' && view.status !== 'running') return view;
      if (Date.now() > deadline) throw new Error(`execution ${id} still ${view.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async run(workflowId: string, inputs: unknown): Promise<Execution> {
    return this.waitForEnd(await this.execute(workflowId, inputs));
  }

  async history(id: string): Promise<Event[]> {
    const response = await this.call('client', 'GET', `/v1/executions/${id}/history`);
    expect(response.status, response.text).toBe(200);
    return (response.json as { events: Event[] }).events;
  }
}

describe('item 8: a chat content part cannot make the model server fetch a URL', () => {
  const h = new Harness();
  let model: OpenAiTestServer;
  const MODEL_KEY = 'sk-hardening-test-0123456789';
  const configDir = mkdtempSync(join(tmpdir(), 'verity-hardening-models-'));

  beforeAll(async () => {
    model = await startOpenAiServer({ apiKey: MODEL_KEY });
    // The models config of the server's in-process workers: the fake model server, over a real socket.
    const config = join(configDir, 'models.json');
    writeFileSync(
      config,
      JSON.stringify({ baseUrl: model.url, apiKey: MODEL_KEY, models: [{ name: 'test-llm', upstream: 'tiny-chat' }] }),
    );
    await h.start('hardening-image-url', { workers: 2, args: ['--models-config', config] });
    await h.publish({
      id: 'describe-image',
      name: 'Describe an image',
      version: 1,
      steps: [
        {
          id: 'describe',
          step_type: 'inference',
          model_requirements: { name: 'test-llm' },
          input_mappings: { messages: 'inputs.messages' },
          // Retries are allowed, yet a refused input must end the step at its first attempt.
          retry_policy: { max_attempts: 3, initial_backoff_ms: 10 },
        },
      ],
    });
  });
  afterAll(async () => {
    await h.stop();
    await model?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  const messages = (image: unknown) => [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'what is this?' },
        { type: 'image_url', image_url: image },
      ],
    },
  ];

  it('fails an execution whose image_url is not a data: URL with invalid_input naming the field, and sends the model server nothing', async () => {
    // What the model server would fetch itself: its own routes, any host, the cloud metadata service, files.
    const urls = [
      `${model.url}/v1/models`,
      'https://example.com/cat.png',
      'http://169.254.169.254/latest/meta-data/',
      'file:///etc/passwd',
      'ftp://example.com/x.png',
      ' data:image/png;base64,AAAA',
    ];
    const images = [...urls.map((url) => ({ url })), ...urls];
    const views = await Promise.all(images.map((image) => h.run('describe-image', { messages: messages(image) })));
    for (const [i, view] of views.entries()) {
      const image = JSON.stringify(images[i]);
      expect(view.status, image).toBe('failed');
      expect(view.error, image).toMatchObject({ code: 'invalid_input', stepId: 'describe' });
      expect(view.error!.message, image).toMatch(
        typeof images[i] === 'string'
          ? /messages\.0\.content\.1\.image_url: .*only a data: URL/
          : /messages\.0\.content\.1\.image_url\.url: .*only a data: URL/,
      );
      expect(view.steps[0], image).toMatchObject({ status: 'failed', attempts: 1 });
    }
    expect(model.requests).toEqual([]);
  });

  it('passes a data: URL through to the model server unchanged', async () => {
    const inline = 'data:image/png;base64,iVBORw0KGgo=';
    const before = model.requests.length;
    const view = await h.run('describe-image', { messages: messages({ url: inline, detail: 'low' }) });
    expect(view.error).toBeUndefined();
    expect(view.status).toBe('completed');
    expect(model.requests).toHaveLength(before + 1);
    const request = model.requests.at(-1)!;
    expect(request.path).toBe('/v1/chat/completions');
    expect((request.body as { messages: unknown }).messages).toEqual(messages({ url: inline, detail: 'low' }));
  });
});

describe('item 8: the verifier decides from the syntax tree which transforms it can re-run', () => {
  const h = new Harness();
  let executionId: string;
  let bundle: unknown;

  beforeAll(async () => {
    await h.start('hardening-rerun', { workers: 2 });
    await h.publish({
      id: 'clock-words',
      name: 'Clock words',
      version: 1,
      steps: [
        // Mentions $now( only in a comment and a string: nothing here reads the clock.
        {
          id: 'commented',
          step_type: 'data_processing',
          input_mappings: { x: 'inputs.x' },
          expression: '/* $now() */ { "y": x + 1, "note": "not $now()" }',
        },
        // Really reads the clock: cannot be re-run to the same output.
        {
          id: 'clock',
          step_type: 'data_processing',
          input_mappings: { x: 'inputs.x' },
          expression: '{ "y": x + 2, "at": $now() }',
        },
      ],
      outputs: { y: 'steps.commented.output.y', z: 'steps.clock.output.y' },
    });
    executionId = await h.execute('clock-words', { x: 41 });
    const done = await h.waitForEnd(executionId);
    expect(done.error).toBeUndefined();
    expect(done).toMatchObject({ status: 'completed', result: { y: 42, z: 43 } });
    const receipt = await h.call('client', 'GET', `/v1/agents/${executionId}/receipt?data=true`);
    expect(receipt.status, receipt.text).toBe(200);
    bundle = receipt.json;
  });
  afterAll(() => h.stop());

  function expectReruns(report: Report): void {
    expect(report.level).toBe('full');
    const failed = report.checks.filter((c) => !c.ok);
    expect(failed, JSON.stringify(failed)).toEqual([]);
    expect(report.ok).toBe(true);
    const commented = report.checks.find((c) => c.name === 'rerun.commented');
    expect(commented).toEqual({
      name: 'rerun.commented',
      ok: true,
      message: 're-running the transform gives the attested output',
    });
    const clock = report.checks.find((c) => c.name === 'rerun.clock');
    expect(clock).toEqual({
      name: 'rerun.clock',
      ok: true,
      skipped: true,
      message: 'not re-run: the expression reads the clock or random numbers',
    });
  }

  it('POST /v1/receipts/verify at level full re-runs the transform whose $now( is only a comment, and skips the one that calls it', async () => {
    const response = await h.call('client', 'POST', '/v1/receipts/verify', { json: { bundle, level: 'full' } });
    expect(response.status, response.text).toBe(200);
    expectReruns(response.json as Report);
  });

  it('`verity verify --level full` says the same of the bundle offline', async () => {
    const key = await h.call('client', 'GET', '/v1/keys/coordinator');
    expect(key.status, key.text).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'verity-hardening-bundle-'));
    const bundleFile = join(dir, 'bundle.json');
    const keyFile = join(dir, 'coordinator.pem');
    writeFileSync(bundleFile, JSON.stringify(bundle));
    writeFileSync(keyFile, (key.json as { publicKeyPem: string }).publicKeyPem);
    try {
      const json = await runCli(['verify', bundleFile, '--trust', keyFile, '--level', 'full', '--json']);
      expect(json.code, json.stderr).toBe(0);
      expectReruns(JSON.parse(json.stdout) as Report);
      const text = await runCli(['verify', bundleFile, '--trust', keyFile, '--level', 'full']);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(/^✓ rerun\.commented: re-running the transform gives the attested output$/m);
      expect(text.stdout).toMatch(/^- rerun\.clock: not re-run: the expression reads the clock or random numbers$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('item 2: each decided condition is evaluated once', () => {
  const h = new Harness();
  beforeAll(() => h.start('hardening-decided-once', { workers: 0 }));
  afterAll(() => h.stop());

  it('a step decided to run keeps its decision and its input while it waits for a slot, even when its condition has turned false since', async () => {
    // The clock is the only way to see from outside how often a condition runs: true when the steps are
    // decided (right after root), false by the time a slot frees. Re-evaluated then, the waiting steps
    // would be skipped, and their inputs would carry the later time.
    const WAITING = ['s0', 's1', 's2', 's3'];
    await h.publish({
      id: 'decided-once',
      name: 'Decided once',
      version: 1,
      concurrency: 1,
      steps: [
        {
          id: 'root',
          step_type: 'inference',
          model_requirements: { name: 'builtin/echo' },
          input_mappings: { n: 'inputs.n' },
        },
        ...WAITING.map((id) => ({
          id,
          step_type: 'inference',
          model_requirements: { name: 'builtin/echo' },
          depends_on: ['root'],
          when: '$millis() < inputs.deadline',
          input_mappings: { decidedAt: '$millis()' },
        })),
      ],
    });
    const worker = await new HttpWorker(h.server.url, h.keys.worker).register();
    const deadline = Date.now() + 10_000; // generous: a loaded CI machine may take seconds to decide
    const executionId = await h.execute('decided-once', { n: 1, deadline });

    const complete = async (job: Assignment) => {
      const done = await worker.complete(job);
      expect(done.status, done.text).toBe(200);
    };
    const root = await worker.claimJob(executionId);
    expect(root.stepId).toBe('root');
    await complete(root);

    const jobs: Assignment[] = [];
    jobs.push(await worker.claimJob(executionId));
    // Every step was decided before the deadline; one holds the only slot until the condition is false.
    const decided = jobs[0]!.input as { decidedAt: number };
    expect(decided.decidedAt).toBeLessThan(deadline);
    const waiting = (await h.execution(executionId)).steps.filter((s) => s.id !== 'root' && s.id !== jobs[0]!.stepId);
    expect(waiting.map((s) => s.status)).toEqual(['ready', 'ready', 'ready']);
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now()) + 200));
    await complete(jobs[0]!);
    for (let i = 1; i < WAITING.length; i++) {
      const job = await worker.claimJob(executionId);
      jobs.push(job);
      await complete(job);
    }

    const done = await h.waitForEnd(executionId);
    expect(done.status).toBe('completed');
    expect(done.steps.map((s) => [s.id, s.status]).sort()).toEqual(
      [['root', 'completed'], ...WAITING.map((id) => [id, 'completed'])].sort(),
    );
    expect(jobs.map((j) => j.stepId).sort()).toEqual(WAITING);
    for (const job of jobs) expect((job.input as { decidedAt: number }).decidedAt, job.stepId).toBeLessThan(deadline);
    const events = await h.history(executionId);
    expect(events.filter((e) => e.type === 'step.skipped')).toEqual([]);
    for (const id of WAITING)
      expect(
        events.filter((e) => e.type === 'step.completed' && e.stepId === id),
        id,
      ).toHaveLength(1);
  });
});
