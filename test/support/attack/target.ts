import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Assignment } from '../../../src/coordinator/protocol.js';
import { call } from '../api-http.js';
import { HttpWorker } from '../http-worker.js';
import { startServerProcess } from '../server.js';
import type { ServerProcess } from '../server.js';

/**
 * A real `verity serve` to attack, with every role and two principals of each role that owns things,
 * and things to find: published workflows (the clients' own: see below), executions that ran on the in-process workers (with
 * receipts), one kept running with its job assigned to a remote worker over HTTP, blobs of two clients.
 */

export type RoleName = 'anonymous' | 'client' | 'client2' | 'publisher' | 'publisher2' | 'worker' | 'worker2' | 'admin';
export const ROLES: readonly RoleName[] = [
  'anonymous',
  'client',
  'client2',
  'publisher',
  'publisher2',
  'worker',
  'worker2',
  'admin',
];

/** The model only the manual remote worker serves, so its job stays assigned to it. */
export const MANUAL_MODEL = 'attack/manual';
/** The second worker's model: nothing needs it. */
const OTHER_MODEL = 'attack/other';
/** A string no generator draws, so executions of the guarded workflow start only when meant to. */
export const INPUT_GUARD = 'the-attacker-cannot-draw-this-7c1d';

export const WORKFLOWS = {
  echo: {
    id: 'atk-echo',
    version: 1,
    steps: [
      {
        id: 'a',
        step_type: 'inference',
        model_requirements: { name: 'builtin/echo' },
        input_mappings: { text: 'inputs.text' },
      },
    ],
    outputs: { text: 'steps.a.output.text' },
  },
  guarded: {
    id: 'atk-guarded',
    version: 1,
    inputs: { type: 'object', required: ['guard'], properties: { guard: { const: INPUT_GUARD } } },
    steps: [{ id: 'a', step_type: 'inference', model_requirements: { name: 'builtin/echo' } }],
  },
  manual: {
    id: 'atk-manual',
    version: 1,
    steps: [{ id: 'm', step_type: 'inference', model_requirements: { name: MANUAL_MODEL } }],
  },
  expr: {
    id: 'atk-expr',
    version: 1,
    steps: [
      {
        id: 'e',
        step_type: 'data_processing',
        expression: '$string($count(inputs.items))',
        input_mappings: { items: 'inputs.items' },
      },
      {
        id: 'f',
        step_type: 'inference',
        model_requirements: { name: 'builtin/echo' },
        depends_on: ['e'],
        when: '$exists(steps.e.output)',
      },
    ],
  },
  pattern: {
    id: 'atk-pattern',
    version: 1,
    inputs: { type: 'object', properties: { s: { type: 'string', pattern: '^(a+)+$' } } },
    steps: [{ id: 'a', step_type: 'inference', model_requirements: { name: 'builtin/echo' } }],
  },
} as const;
/** The second client's own workflow (published with a publisher key of its principal), which it runs. */
const CLIENT2_ECHO = { ...WORKFLOWS.echo, id: 'atk-echo-b' };
/** Published by the second publisher: the first must not change it. */
export const OTHER_WORKFLOW = {
  id: 'atk-other',
  version: 1,
  steps: [{ id: 'a', step_type: 'inference', model_requirements: { name: 'builtin/echo' } }],
};

export interface AttackTarget {
  url: string;
  pid: number;
  dataDir: string;
  dbFile: string;
  keys: Record<RoleName, string | undefined>;
  principals: Record<RoleName, string>;
  /** Real ids, by kind, for paths and bodies. */
  ids: {
    executions: Record<'client' | 'client2' | 'manual', string>;
    workflows: string[];
    jobs: string[];
    workers: Record<'worker' | 'worker2', string>;
    blobs: Record<'client' | 'client2', string>;
    /** Key ids that may be revoked (an admin's DELETE succeeds on them): none of the keys above. */
    spareKeys: string[];
    nonce: string;
  };
  /** The receipt bundle (with data) of the first client's completed execution. */
  bundle: Record<string, unknown>;
  manual: { worker: HttpWorker; job: Assignment; other: HttpWorker };
  /** Executions kept running on purpose (their state is not background work). */
  keptRunning(): string[];
  /** Makes sure the fixtures still stand (a valid request in a round may have cancelled one). */
  ensureFixtures(): Promise<void>;
  stderr(): string;
  exitCode(): number | null;
  stop(): Promise<void>;
}

async function ok<T>(
  what: string,
  promise: Promise<{ status: number; text: string; json: unknown }>,
  expected: number[] = [200, 201, 202],
): Promise<T> {
  const response = await promise;
  if (!expected.includes(response.status))
    throw new Error(`${what}: ${response.status} ${response.text.slice(0, 500)}`);
  return response.json as T;
}

export async function startAttackTarget(options: { workers?: number; args?: string[] } = {}): Promise<AttackTarget> {
  const dataDir = mkdtempSync(join(tmpdir(), 'verity-attack-'));
  // A long lease: the manual job stays assigned, and nothing changes in the background while requests are checked.
  const server: ServerProcess = await startServerProcess({
    dataDir,
    workers: options.workers ?? 2,
    args: ['--lease-ms', '3600000', ...(options.args ?? [])],
  });
  // An attack that ends early (an error, `npm run fuzz` stopped) takes its server with it.
  process.once('exit', () => server.child.kill('SIGKILL'));
  const { url, adminKey } = server;
  const post = (key: string | undefined, path: string, json: unknown) =>
    call(url, 'POST', path, { ...(key !== undefined && { key }), json });
  const principals: Record<RoleName, string> = {
    anonymous: '',
    client: 'atk-client-a',
    client2: 'atk-client-b',
    publisher: 'atk-publisher-a',
    publisher2: 'atk-publisher-b',
    worker: 'atk-worker-a',
    worker2: 'atk-worker-b',
    admin: 'admin',
  };
  const keys: Record<RoleName, string | undefined> = { anonymous: undefined, admin: adminKey } as Record<
    RoleName,
    string | undefined
  >;
  for (const role of ROLES) {
    if (role === 'anonymous' || role === 'admin') continue;
    const r = role.replace('2', '');
    keys[role] = (
      await ok<{ token: string }>(`key ${role}`, post(adminKey, '/v1/keys', { principal: principals[role], role: r }))
    ).token;
  }
  const spareKeys: string[] = [];
  for (let i = 0; i < 3; i++)
    spareKeys.push(
      (
        await ok<{ id: string }>(
          'spare key',
          post(adminKey, '/v1/keys', { principal: `atk-spare-${i}`, role: 'client' }),
        )
      ).id,
    );

  // The plan's execute route runs only the caller's own workflows, so the clients run workflows published
  // with a publisher key of their own principal (a principal may hold keys of several roles). The publisher
  // roles then own only what they publish during the attack, and every run of another's workflow is a 404.
  const ownPublisherKey = async (role: 'client' | 'client2') =>
    (
      await ok<{ token: string }>(
        `publisher key of ${role}`,
        post(adminKey, '/v1/keys', { principal: principals[role], role: 'publisher' }),
      )
    ).token;
  const [clientPublisher, client2Publisher] = [await ownPublisherKey('client'), await ownPublisherKey('client2')];
  for (const workflow of Object.values(WORKFLOWS))
    await ok(`publish ${workflow.id}`, post(clientPublisher, '/v1/workflows', workflow));
  await ok(`publish ${CLIENT2_ECHO.id}`, post(client2Publisher, '/v1/workflows', CLIENT2_ECHO));
  await ok('publish other', post(keys.publisher2, '/v1/workflows', OTHER_WORKFLOW));

  const blobOf = async (key: string | undefined, text: string) =>
    (
      await ok<{ $blob: string }>(
        'blob',
        call(url, 'POST', '/v1/blobs', {
          ...(key !== undefined && { key }),
          body: text,
          headers: { 'content-type': 'text/plain' },
        }),
      )
    ).$blob;
  const blobs = {
    client: await blobOf(keys.client, "the first client's secret"),
    client2: await blobOf(keys.client2, "the second client's secret"),
  };

  const run = async (key: string | undefined, workflow: string, inputs: unknown) =>
    (await ok<{ executionId: string }>(`execute ${workflow}`, post(key, `/v1/agents/${workflow}/execute`, { inputs })))
      .executionId;
  const waitDone = async (key: string | undefined, id: string) => {
    for (let i = 0; i < 600; i++) {
      const view = await ok<{ status: string }>(
        'status',
        call(url, 'GET', `/v1/executions/${id}`, { ...(key !== undefined && { key }) }),
      );
      if (view.status !== 'running') return view.status;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`execution ${id} did not finish`);
  };
  const execA = await run(keys.client, 'atk-echo', { text: 'hello from a' });
  const execB = await run(keys.client2, CLIENT2_ECHO.id, { text: 'hello from b' });
  await run(keys.client, 'atk-expr', { items: [1, 2, 3] });
  await waitDone(keys.client, execA);
  await waitDone(keys.client2, execB);
  const bundle = await ok<Record<string, unknown>>(
    'bundle',
    call(url, 'GET', `/v1/executions/${execA}/receipt?data=true`, { key: keys.client! }),
  );

  const worker = await new HttpWorker(url, keys.worker!, {
    stepTypes: ['inference'],
    models: [MANUAL_MODEL],
  }).register();
  // The second worker serves another model: it never claims the manual job, it only reports for it.
  const other = await new HttpWorker(url, keys.worker2!, {
    stepTypes: ['inference'],
    models: [OTHER_MODEL],
  }).register();
  const manual = { worker, other, job: undefined as unknown as Assignment, execution: '' };
  const jobs = new Set<string>();

  const ensureFixtures = async () => {
    // An admin may deregister any worker (a valid request): register a new one in its place.
    const listed = await ok<{ workers: { id: string; status: string }[] }>(
      'workers',
      call(url, 'GET', '/v1/workers', { key: adminKey }),
    );
    const active = (id: string) => listed.workers.some((w) => w.id === id && w.status === 'active');
    let replaced = false;
    if (!active(manual.worker.id)) {
      manual.worker = await new HttpWorker(url, keys.worker!, {
        stepTypes: ['inference'],
        models: [MANUAL_MODEL],
      }).register();
      replaced = true;
    }
    if (!active(manual.other.id))
      manual.other = await new HttpWorker(url, keys.worker2!, {
        stepTypes: ['inference'],
        models: [OTHER_MODEL],
      }).register();
    target.ids.workers = { worker: manual.worker.id, worker2: manual.other.id };
    target.manual.worker = manual.worker;
    target.manual.other = manual.other;
    let running = false;
    if (manual.execution) {
      const view = await ok<{ status: string }>(
        'manual status',
        call(url, 'GET', `/v1/executions/${manual.execution}`, { key: adminKey }),
      );
      running = view.status === 'running';
      // The attack may have failed or re-queued the job (a worker report for it is a valid request): a held
      // job still takes a heartbeat; otherwise claim the new attempt below.
      if (
        running &&
        !replaced &&
        ((await manual.worker.heartbeat(manual.job)).json as { state?: string } | undefined)?.state === 'ok'
      )
        return;
    }
    // A new execution, unless a stopped worker's job went back to the queue. Any queued job of the model
    // will do (the attack may have started executions of it too): the first worker holds it, the second
    // must never be able to report for it.
    if (!running) await run(keys.client, 'atk-manual', {});
    // The attack's own claims (as this worker) may take the job first: then start another.
    let job = await manual.worker.claim(5_000);
    for (let i = 0; i < 5 && !job; i++) {
      await run(keys.client, 'atk-manual', {});
      job = await manual.worker.claim(5_000);
    }
    if (!job) throw new Error('the manual worker got no job');
    manual.job = job;
    manual.execution = job.executionId;
    jobs.add(manual.job.jobId);
    target.ids.executions.manual = manual.execution;
    target.ids.nonce = manual.job.nonce;
    target.ids.jobs = [...jobs];
    target.manual.job = manual.job;
  };

  const target: AttackTarget = {
    url,
    pid: server.child.pid!,
    dataDir,
    dbFile: join(dataDir, 'verity.db'),
    keys,
    principals,
    ids: {
      executions: { client: execA, client2: execB, manual: '' },
      workflows: [...Object.values(WORKFLOWS).map((w) => w.id), CLIENT2_ECHO.id, OTHER_WORKFLOW.id],
      jobs: [],
      workers: { worker: worker.id, worker2: other.id },
      blobs,
      spareKeys,
      nonce: '',
    },
    bundle,
    manual: { worker, other, job: undefined as unknown as Assignment },
    keptRunning: () => (manual.execution ? [manual.execution] : []),
    ensureFixtures,
    stderr: () => server.stderr(),
    exitCode: () => server.child.exitCode ?? (server.child.signalCode ? -1 : null),
    async stop() {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await ensureFixtures();
  return target;
}
