import type { BlobRef } from '../../blobs/blob-ref.js';
import type { EventView, ExecutionView } from '../../engine/view.js';
import { VerityApiError, VerityClient } from '../../sdk/client.js';
import { CliError, EXIT } from '../errors.js';
import type { ProgressRenderer } from '../progress.js';
import type { CliBackend, ExecutionSummary, RunTarget, StartOptions } from './backend.js';

/** A Verity server, through the SDK. Ids are exact (a server does not complete prefixes of ids you cannot see). */
export class RemoteBackend implements CliBackend {
  readonly client: VerityClient;

  constructor(
    readonly where: string,
    apiKey: string,
  ) {
    this.client = new VerityClient({ server: where, apiKey });
  }

  /** Ctrl-C only detaches: the execution goes on on the server. */
  async session<T>(fn: () => Promise<T>): Promise<T> {
    const onSignal = () => {
      process.stderr.write('\ndetached; the execution goes on on the server (see `verity status ID --server …`)\n');
      process.exit(EXIT.interrupted);
    };
    process.once('SIGINT', onSignal);
    try {
      return await fn();
    } finally {
      process.off('SIGINT', onSignal);
    }
  }

  async start(target: RunTarget, options: StartOptions): Promise<ExecutionView> {
    let workflowId: string;
    let version: number | undefined;
    if ('loaded' in target) {
      // Publishing content the server already has as the latest version returns that version.
      const definition = target.loaded.definition;
      const published = await this.client
        .publishWorkflow(definition as unknown as Record<string, unknown>)
        .catch((error: unknown) => {
          if (error instanceof VerityApiError && error.status === 403) {
            throw new CliError(
              'usage',
              `${error.message}; to run a workflow your principal already published, give its id instead of a file: verity run ${definition.id} --server …`,
            );
          }
          throw error;
        });
      workflowId = published.workflowId;
      version = published.version;
    } else {
      workflowId = target.workflowId;
      version = target.version;
    }
    return this.client.execute(workflowId, {
      inputs: options.inputs,
      ...(version !== undefined && { version }),
      ...(options.budget !== undefined && { budget: options.budget }),
      ...(options.idempotencyKey !== undefined && { idempotencyKey: options.idempotencyKey }),
    });
  }

  resolveId(idOrPrefix: string): Promise<string> {
    return Promise.resolve(idOrPrefix);
  }

  status(executionId: string): Promise<ExecutionView> {
    return this.client.status(executionId);
  }

  async list(filter: Parameters<CliBackend['list']>[0]): Promise<ExecutionSummary[]> {
    const page = await this.client.listExecutions({
      ...(filter.status !== undefined && { status: filter.status }),
      ...(filter.workflowId !== undefined && { workflowId: filter.workflowId }),
      limit: filter.limit,
    });
    return page.executions;
  }

  async history(executionId: string): Promise<EventView[]> {
    const events: EventView[] = [];
    for (let after: string | undefined; ;) {
      const page = await this.client.history(executionId, after === undefined ? {} : { after });
      events.push(...page.events.map(({ cursor: _cursor, ...event }) => event));
      if (page.next === undefined) return events;
      after = page.next;
    }
  }

  cancel(executionId: string): Promise<ExecutionView> {
    return this.client.cancel(executionId);
  }

  retry(executionId: string, options: { budget?: number }): Promise<ExecutionView> {
    return this.client.retry(executionId, options);
  }

  receipt(executionId: string, options: { includeData: boolean; zkOnly?: boolean }): Promise<unknown> {
    return this.client.receipt(executionId, options);
  }

  putBlob(bytes: Uint8Array, mediaType: string): Promise<BlobRef> {
    return this.client.uploadBlob(bytes, mediaType);
  }

  async getBlob(digest: string): Promise<Uint8Array> {
    return (await this.client.downloadBlob(digest)).bytes;
  }

  coordinatorKey(): Promise<{ keyid: string; publicKeyPem: string }> {
    return this.client.coordinatorKey();
  }

  /**
   * Follows the execution's event stream to its end. Events drive the renderer; the step table comes from
   * `status`, read again only when events arrived (or once a second, for the clock).
   */
  async follow(executionId: string, renderer: ProgressRenderer | undefined): Promise<ExecutionView> {
    if (!renderer) return this.client.waitFor(executionId);
    const pending: EventView[] = [];
    let changed = true;
    let ended = false;
    const stream = (async () => {
      for await (const event of this.client.events(executionId)) {
        pending.push(event.data);
        changed = true;
      }
    })().finally(() => (ended = true));
    // A failed stream fails the follow below; this only keeps it from being reported as unhandled first.
    stream.catch(() => undefined);
    let view = await this.client.status(executionId);
    let readAt = Date.now();
    while (!ended) {
      await Promise.race([stream.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 150))]);
      if (ended) break;
      if (changed || Date.now() - readAt > 1000) {
        changed = false;
        view = await this.client.status(executionId);
        readAt = Date.now();
      }
      renderer.render({ execution: view, events: pending.splice(0), now: Date.now() });
    }
    await stream;
    view = await this.client.status(executionId);
    renderer.finish({ execution: view, events: pending.splice(0), now: Date.now() });
    return view;
  }
}
