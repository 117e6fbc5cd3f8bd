import type { BlobRef } from '../../blobs/blob-ref.js';
import { grantBlob } from '../../blobs/grants.js';
import { eventView, executionRowView, executionView, zkRecordFor } from '../../engine/view.js';
import type { EventView, ExecutionView } from '../../engine/view.js';
import type { VerityNode } from '../../node/verity-node.js';
import type { WorkflowDefinition } from '../../workflow/types.js';
import { localRunOptions, openNode } from '../context.js';
import type { StoreFlags } from '../context.js';
import { CliError } from '../errors.js';
import type { ProgressRenderer } from '../progress.js';
import { interruptible } from '../signals.js';
import type { CliBackend, ExecutionSummary, RunTarget, StartOptions } from './backend.js';

/** The local store, with `workers` in-process job slots (0: this process only reads and writes state). */
/** Who runs executions from the local CLI. */
const LOCAL_CLIENT = 'local';

export class LocalBackend implements CliBackend {
  private started = false;

  private constructor(
    readonly node: VerityNode,
    private readonly workers: number,
  ) {}

  static async open(flags: StoreFlags, workers: number): Promise<LocalBackend> {
    return new LocalBackend(
      await openNode(flags, workers, (line) => console.error(line), localRunOptions(flags)),
      workers,
    );
  }

  get where(): string {
    return `the store ${this.node.store.location}`;
  }

  session<T>(fn: () => Promise<T>): Promise<T> {
    let result: T;
    return interruptible(this.node, async () => {
      result = await fn();
    }).then(() => result);
  }

  async start(target: RunTarget, options: StartOptions): Promise<ExecutionView> {
    if (!('loaded' in target)) {
      throw new CliError(
        'usage',
        `"${target.workflowId}" is not a workflow file; a published workflow runs on a server (--server URL)`,
      );
    }
    const { definition, digest } = target.loaded;
    if (this.workers > 0) this.checkServable(definition);
    await this.ensureStarted();
    const workflow = await this.node.engine.registerWorkflow(definition, digest);
    const execution = await this.node.engine.start({
      workflow,
      inputs: options.inputs,
      clientId: LOCAL_CLIENT,
      ...(options.idempotencyKey !== undefined && { idempotencyKey: options.idempotencyKey }),
      ...(options.budget !== undefined && { budget: options.budget }),
    });
    return executionView(execution, await this.node.store.read.listSteps(execution.id));
  }

  resolveId(idOrPrefix: string): Promise<string> {
    return this.node.engine.resolveExecutionId(idOrPrefix);
  }

  async status(executionId: string): Promise<ExecutionView> {
    const execution = await this.node.store.read.getExecution(executionId);
    if (!execution) throw new CliError('usage', `no execution ${executionId}`);
    return executionView(
      execution,
      await this.node.store.read.listSteps(executionId),
      await zkRecordFor(this.node.store, execution),
    );
  }

  async list(filter: Parameters<CliBackend['list']>[0]): Promise<ExecutionSummary[]> {
    const executions = await this.node.store.read.listExecutionSummaries({
      ...(filter.status !== undefined && filter.status.length > 0 && { status: filter.status }),
      ...(filter.workflowId !== undefined && { workflowId: filter.workflowId }),
      limit: filter.limit,
    });
    return executions.map(executionRowView);
  }

  async history(executionId: string): Promise<EventView[]> {
    return (await this.eventsAfter(executionId, 0)).map(eventView);
  }

  async cancel(executionId: string): Promise<ExecutionView> {
    const execution = await this.node.engine.cancel(executionId, 'client:local');
    return executionView(execution, await this.node.store.read.listSteps(execution.id));
  }

  async retry(executionId: string, options: { budget?: number }): Promise<ExecutionView> {
    const execution = await this.node.engine.retry(
      executionId,
      'client:local',
      options.budget === undefined ? {} : { budget: options.budget },
    );
    return executionView(execution, await this.node.store.read.listSteps(execution.id));
  }

  receipt(executionId: string, options: { includeData: boolean; zkOnly?: boolean }): Promise<unknown> {
    return this.node.bundle(executionId, options);
  }

  /** Granted to the local client, as an upload to a server is granted to its uploader. */
  async putBlob(bytes: Uint8Array, mediaType: string): Promise<BlobRef> {
    const ref = await this.node.blobs.put(bytes, mediaType);
    await grantBlob(this.node.store, ref, LOCAL_CLIENT);
    return ref;
  }

  getBlob(digest: string): Promise<Uint8Array> {
    return this.node.blobs.get(digest);
  }

  coordinatorKey(): Promise<{ keyid: string; publicKeyPem: string }> {
    return Promise.resolve({
      keyid: this.node.coordinatorSigner.keyId,
      publicKeyPem: this.node.coordinatorSigner.publicKeyPem,
    });
  }

  /** Runs the execution here to its end: a snapshot for the renderer every 100 ms, and a last one at the end. */
  async follow(executionId: string, renderer: ProgressRenderer | undefined): Promise<ExecutionView> {
    await this.ensureStarted();
    const done = this.node.waitFor(executionId);
    if (!renderer) {
      await done;
      return this.status(executionId);
    }
    let lastSeq = 0;
    const snapshot = async () => {
      const execution = await this.status(executionId);
      const events = await this.eventsAfter(executionId, lastSeq);
      if (events.length > 0) lastSeq = events.at(-1)!.seq;
      return { execution, events: events.map(eventView), now: Date.now() };
    };
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      snapshot()
        .then((s) => renderer.render(s))
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, 100);
    try {
      await done;
    } finally {
      clearInterval(timer);
      while (busy) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const last = await snapshot();
    renderer.finish(last);
    return last.execution;
  }

  private async ensureStarted(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.node.start();
  }

  private async eventsAfter(executionId: string, after: number) {
    const events = [];
    for (;;) {
      const page = await this.node.store.read.listEvents(executionId, after, 1000);
      events.push(...page);
      if (page.length < 1000) return events;
      after = page.at(-1)!.seq;
    }
  }

  /** Fails early, with the step and model named, when no executor here could ever run a step. */
  private checkServable(definition: WorkflowDefinition): void {
    const missing = definition.steps.filter(
      (s) => !this.node.registry.canServe(s.step_type, s.model_requirements?.name),
    );
    if (missing.length === 0) return;
    const { models } = this.node.registry.capabilities;
    const list = missing
      .map((s) => `${s.id} (${s.model_requirements ? `model ${s.model_requirements.name}` : s.step_type})`)
      .join(', ');
    throw new CliError('usage', `no executor on this machine serves: ${list}; models here: ${models.join(', ')}`);
  }
}
