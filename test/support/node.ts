import { afterEach, beforeEach } from 'vitest';
import { VerityNode } from '../../src/node/verity-node.js';
import type { NodeOptions } from '../../src/node/verity-node.js';
import { executionView } from '../../src/engine/view.js';
import type { ExecutionView } from '../../src/engine/view.js';
import type { ExecutionRecord, WorkflowRecord } from '../../src/store/records.js';
import { validateWorkflow } from '../../src/workflow/validate.js';
import { createBackend } from './backends.js';
import type { BackendFixture } from './backends.js';

/** A node on a fresh backend, stopped and cleaned up by the returned `close`. */
export interface TestNode {
  node: VerityNode;
  backend: BackendFixture;
  close(): Promise<void>;
  /** Validates, registers and starts a workflow; returns the execution as started. */
  start(
    definition: unknown,
    inputs?: unknown,
    options?: { budget?: number; idempotencyKey?: string; clientId?: string },
  ): Promise<ExecutionRecord>;
  /** Starts a workflow and waits for it to end. */
  run(definition: unknown, inputs?: unknown, options?: { budget?: number }): Promise<ExecutionView>;
  view(executionId: string): Promise<ExecutionView>;
  register(definition: unknown): Promise<WorkflowRecord>;
}

export async function startTestNode(
  kind: 'sqlite' | 'postgres',
  label: string,
  options: Partial<NodeOptions> = {},
): Promise<TestNode> {
  const backend = await createBackend(kind, label);
  const node = await VerityNode.open({
    dataDir: backend.dataDir,
    databaseUrl: backend.databaseUrl,
    sweepIntervalMs: 50,
    pollMs: 100,
    onError: (error, context) => {
      // Unexpected errors inside the worker or sweeper are test failures waiting to be noticed.
      process.stderr.write(`node error: ${String(error)} ${JSON.stringify(context ?? {})}\n`);
    },
    ...options,
  });
  await node.start();
  const register = async (definition: unknown) => {
    const result = validateWorkflow(definition);
    if (!result.ok) throw new Error(`invalid test workflow: ${JSON.stringify(result.errors)}`);
    return node.engine.registerWorkflow(result.definition, result.digest);
  };
  const view = async (executionId: string) => {
    const execution = await node.store.read.getExecution(executionId);
    if (!execution) throw new Error(`no execution ${executionId}`);
    return executionView(execution, await node.store.read.listSteps(executionId));
  };
  const start: TestNode['start'] = async (definition, inputs = {}, opts = {}) =>
    node.engine.start({
      workflow: await register(definition),
      inputs,
      clientId: opts.clientId ?? 'test',
      ...(opts.budget !== undefined && { budget: opts.budget }),
      ...(opts.idempotencyKey !== undefined && { idempotencyKey: opts.idempotencyKey }),
    });
  return {
    node,
    backend,
    register,
    view,
    start,
    async run(definition, inputs = {}, opts = {}) {
      const execution = await start(definition, inputs, opts);
      await node.waitFor(execution.id);
      return view(execution.id);
    },
    async close() {
      await node.stop(1000);
      await backend.cleanup();
    },
  };
}

/** Builders for definitions in tests. */
export const echo = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  step_type: 'inference',
  model_requirements: { name: 'builtin/echo' },
  ...extra,
});

export const sleepStep = (id: string, ms: number, extra: Record<string, unknown> = {}) => ({
  id,
  step_type: 'inference',
  model_requirements: { name: 'builtin/sleep' },
  input_mappings: { ms: String(ms) },
  ...extra,
});

export const transform = (id: string, expression: string, extra: Record<string, unknown> = {}) => ({
  id,
  step_type: 'data_processing',
  expression,
  ...extra,
});

/** Time intervals [start, end) of two steps overlap. */
export function overlaps(
  a: { startedAt?: string; finishedAt?: string },
  b: { startedAt?: string; finishedAt?: string },
): boolean {
  const [as, ae, bs, be] = [a.startedAt, a.finishedAt, b.startedAt, b.finishedAt].map((t) => Date.parse(t ?? ''));
  return as! < be! && bs! < ae!;
}

/**
 * Registers hooks that give every test of the enclosing describe its own node on a fresh backend, and
 * returns a handle that always points at the current test's node.
 */
export function useTestNode(kind: 'sqlite' | 'postgres', label: string, options: Partial<NodeOptions> = {}): TestNode {
  let current: TestNode | undefined;
  beforeEach(async () => {
    current = await startTestNode(kind, label, options);
  });
  afterEach(async () => {
    const done = current;
    current = undefined;
    await done?.close();
  });
  const now = (): TestNode => {
    if (!current) throw new Error('the test node exists only while a test runs');
    return current;
  };
  return {
    get node() {
      return now().node;
    },
    get backend() {
      return now().backend;
    },
    start: (...args) => now().start(...args),
    run: (...args) => now().run(...args),
    view: (...args) => now().view(...args),
    register: (...args) => now().register(...args),
    close: () => now().close(),
  };
}
