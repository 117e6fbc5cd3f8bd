import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { v7 } from 'uuid';
import { afterEach, beforeEach } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import { placeholders } from '../../../src/store/sql/columns.js';
import * as t from '../../../src/store/sql/tables.js';
import type {
  ExecutionRecord,
  JobRecord,
  StepRecord,
  StepResultRecord,
  WorkerRecord,
  WorkflowRecord,
} from '../../../src/store/records.js';
import type { Store } from '../../../src/store/store.js';
import type { WorkflowDefinition } from '../../../src/workflow/types.js';
import { createBackend } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';

export type BackendKind = BackendFixture['kind'];

/** Every time in these tests is an offset from here, so records do not depend on the clock. */
export const T0 = Date.UTC(2025, 0, 1);

let clock = 0;
/** A uuid v7 whose timestamp is later than that of every id made before it (so it sorts after them). */
export function newId(): string {
  clock += 1;
  return v7({ msecs: T0 + clock });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------
// One fresh backend per test

export interface BackendHandle {
  readonly backend: BackendFixture;
  /** Opens a store on this test's backend; it is closed after the test unless the test closed it. */
  open(): Promise<Store>;
  /** Closes a store opened by `open`. */
  close(store: Store): Promise<void>;
}

/** Registers hooks that give every test of the enclosing describe its own backend, cleaned up afterwards. */
export function useBackend(kind: BackendKind, label: string): BackendHandle {
  let backend: BackendFixture | undefined;
  const open = new Set<Store>();
  beforeEach(async () => {
    backend = await createBackend(kind, label);
  });
  afterEach(async () => {
    const stores = [...open];
    open.clear();
    for (const store of stores) await store.close();
    const done = backend;
    backend = undefined;
    await done?.cleanup();
  });
  return {
    get backend(): BackendFixture {
      if (!backend) throw new Error('the backend exists only while a test runs');
      return backend;
    },
    async open(): Promise<Store> {
      if (!backend) throw new Error('the backend exists only while a test runs');
      const store = await openStore({ dataDir: backend.dataDir, databaseUrl: backend.databaseUrl });
      open.add(store);
      return store;
    },
    async close(store: Store): Promise<void> {
      if (open.delete(store)) await store.close();
    },
  };
}

export interface StoreHandle extends BackendHandle {
  /** The store opened for the running test. */
  readonly store: Store;
}

/** Like useBackend, and opens one store before each test. */
export function useStore(kind: BackendKind, label: string): StoreHandle {
  const handle = useBackend(kind, label);
  let store: Store | undefined;
  beforeEach(async () => {
    store = await handle.open();
  });
  afterEach(() => {
    store = undefined;
  });
  return {
    get backend() {
      return handle.backend;
    },
    open: () => handle.open(),
    close: (s) => handle.close(s),
    get store(): Store {
      if (!store) throw new Error('the store exists only while a test runs');
      return store;
    },
  };
}

/**
 * Runs SQL on the test's database with the database's own driver, bypassing the store: to plant rows the
 * store would never write, or to change the schema under it. `?` placeholders work on both.
 */
export async function rawQuery(
  backend: BackendFixture,
  sql: string,
  params: (string | number | null)[] = [],
): Promise<Record<string, unknown>[]> {
  if (backend.kind === 'sqlite') {
    const db = new Database(join(backend.dataDir, 'verity.db'));
    try {
      const statement = db.prepare(sql);
      if (statement.reader) return statement.all(params) as Record<string, unknown>[];
      statement.run(params);
      return [];
    } finally {
      db.close();
    }
  }
  const url = new URL(backend.databaseUrl!);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  const client = new pg.Client({
    connectionString: url.toString(),
    ...(schema !== null && { options: `-c search_path=${schema}` }),
  });
  await client.connect();
  try {
    let n = 0;
    const result = await client.query(
      sql.replace(/\?/g, () => `$${++n}`),
      params,
    );
    return result.rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Record builders: complete, valid records with only the required fields, and overrides on top

export function definition(id = 'summarize', version = 1): WorkflowDefinition {
  const retry = {
    max_attempts: 3,
    initial_backoff_ms: 500,
    backoff_multiplier: 2,
    max_backoff_ms: 30_000,
    non_retryable: ['invalid_input'],
  };
  return {
    id,
    name: 'Summarize — «résumé» 📄',
    description: 'Cleans a document, then summarizes it.\nTwo lines.',
    version,
    inputs: {
      type: 'object',
      properties: { text: { type: 'string', maxLength: 100_000 }, enabled: { type: 'boolean', default: true } },
      required: ['text'],
      additionalProperties: false,
    },
    steps: [
      {
        id: 'clean',
        step_type: 'data_processing',
        expression: '$trim(text)',
        input_mappings: { text: 'inputs.text' },
        depends_on: [],
        timeout_seconds: 30,
        retry_policy: retry,
        requires_proof: false,
        estimated_cost: 0,
      },
      {
        id: 'summary',
        name: 'Summary',
        description: 'The model call',
        step_type: 'inference',
        model_requirements: { name: 'llama-3-8b', version: '3.0', digest: hex('weights') },
        input_mappings: { text: 'steps.clean' },
        output_mappings: { summary: 'text', tokens: 'usage.total' },
        depends_on: ['clean'],
        when: 'inputs.enabled',
        timeout_seconds: 120,
        retry_policy: { ...retry, non_retryable: [] },
        requires_proof: true,
        estimated_cost: 1_500,
      },
    ],
    outputs: { summary: 'steps.summary.summary' },
    max_execution_time: 3_600,
    max_cost_budget: 1_000_000,
    requires_verification: true,
    verification_level: 'full',
    concurrency: 4,
  };
}

export function workflow(overrides: Partial<WorkflowRecord> = {}): WorkflowRecord {
  const def = overrides.definition ?? definition(overrides.workflowId, overrides.version);
  return {
    digest: hex(JSON.stringify(def)),
    workflowId: def.id,
    version: def.version,
    name: def.name,
    definition: def,
    createdAt: T0,
    ...overrides,
  };
}

export function execution(wf: WorkflowRecord, overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    id: newId(),
    workflowDigest: wf.digest,
    workflowId: wf.workflowId,
    workflowVersion: wf.version,
    clientId: 'client-a',
    status: 'running',
    inputs: { text: 'hello' },
    inputDigest: hex('inputs'),
    budget: 0,
    spent: 0,
    reserved: 0,
    createdAt: T0,
    startedAt: T0,
    deadlineAt: T0 + 3_600_000,
    updatedAt: T0,
    stepsTotal: 0,
    stepsDone: 0,
    stepsActive: 0,
    stepsReady: 0,
    ...overrides,
  };
}

export function step(executionId: string, stepId: string, overrides: Partial<StepRecord> = {}): StepRecord {
  return {
    executionId,
    stepId,
    position: 0,
    status: 'pending',
    attempts: 0,
    roundStart: 0,
    pendingDeps: 0,
    cost: 0,
    ...overrides,
  };
}

export function stepResult(
  executionId: string,
  stepId: string,
  overrides: Partial<StepResultRecord> = {},
): StepResultRecord {
  return {
    executionId,
    stepId,
    jobId: newId(),
    attempt: 1,
    workerId: 'worker-1',
    output: { text: `output of ${stepId}` },
    outputDigest: hex(stepId),
    cost: 10,
    createdAt: T0,
    ...overrides,
  };
}

let jobCount = 0;
/** A queued data_processing job without a model, on a step of its own (jobs are unique per step and attempt). */
export function job(exec: ExecutionRecord, overrides: Partial<JobRecord> = {}): JobRecord {
  jobCount += 1;
  return {
    id: newId(),
    executionId: exec.id,
    stepId: `step-${jobCount}`,
    attempt: 1,
    status: 'queued',
    stepType: 'data_processing',
    spec: { workflowDigest: exec.workflowDigest, stepType: 'data_processing', expression: '$uppercase(text)' },
    input: { text: 'hello' },
    inputDigest: hex('job input'),
    reserved: 0,
    timeoutMs: 30_000,
    availableAt: T0,
    createdAt: T0,
    ...overrides,
  };
}

/** A queued inference job that needs `model`. */
export function modelJob(exec: ExecutionRecord, model: string, overrides: Partial<JobRecord> = {}): JobRecord {
  return job(exec, {
    stepType: 'inference',
    model,
    spec: { workflowDigest: exec.workflowDigest, stepType: 'inference', model: { name: model, version: '1' } },
    ...overrides,
  });
}

export function worker(overrides: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    id: 'worker-1',
    name: 'local worker 1',
    kind: 'local',
    host: 'localhost',
    pid: 4242,
    capabilities: { stepTypes: ['data_processing'], models: [] },
    concurrency: 2,
    status: 'active',
    startedAt: T0,
    lastSeenAt: T0,
    ...overrides,
  };
}

/** Stores a workflow and executions of it in one transaction; returns the executions. */
export async function seed(store: Store, ...overrides: Partial<ExecutionRecord>[]): Promise<ExecutionRecord[]> {
  const wf = workflow();
  const records = (overrides.length > 0 ? overrides : [{}]).map((o) => execution(wf, o));
  await store.transaction(async (tx) => {
    await tx.putWorkflow(wf);
    for (const record of records) await tx.insertExecution(record);
  });
  return records;
}

/** Stores one execution; returns it. */
export async function seedOne(store: Store, overrides: Partial<ExecutionRecord> = {}): Promise<ExecutionRecord> {
  const [record] = await seed(store, overrides);
  return record!;
}

/**
 * Inserts executions with multi-row INSERTs on the test's own connection, bypassing the store: thousands
 * of rows in a few statements (1,000 rows each stays under both databases' parameter limits).
 */
export async function insertExecutionsBulk(
  backend: BackendFixture,
  records: readonly ExecutionRecord[],
): Promise<void> {
  const row = `(${placeholders(t.executions.fields.length)})`;
  for (let i = 0; i < records.length; i += 1000) {
    const chunk = records.slice(i, i + 1000);
    await rawQuery(
      backend,
      `INSERT INTO executions (${t.executions.columns}) VALUES ${chunk.map(() => row).join(', ')}`,
      chunk.flatMap((r) => t.executions.values(r)),
    );
  }
}
