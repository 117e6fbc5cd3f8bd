import { hostname } from 'node:os';
import { join } from 'node:path';
import { defaultExecutors } from '../../executors/defaults.js';
import type { Executor } from '../../executors/executor.js';
import { ExecutorRegistry } from '../../executors/registry.js';
import { loadOrCreateSigner } from '../../keys/local-signer.js';
import { loadOrCreateZkSigner, zkKeyFileOf } from '../../keys/zk-key-file.js';
import { httpWorkerClient, parseServerList } from '../http-client.js';
import { Worker } from '../worker.js';
import { WorkerSdkError } from './errors.js';
import { checkExecutors } from './load-executors.js';

export interface RunWorkerOptions {
  /**
   * The Verity server, or several replicas of it (an array, or URLs comma-separated): the worker uses one
   * and moves on to the next the moment it stops answering. Default: the VERITY_SERVER environment variable.
   */
  server?: string | readonly string[];
  /** An API key with the worker role. Default: the VERITY_API_KEY environment variable. */
  key?: string;
  /** The executors this worker runs: `defineExecutor(...)`s (any `Executor` works). */
  executors: readonly Executor[];
  /** Also run the built-in executors (builtin/echo, data/*, JSONata, OCR…). Default: false. */
  builtins?: boolean;
  /** Jobs at once. Default: 4. */
  concurrency?: number;
  /** How the worker shows in the server. Default: host:pid. */
  name?: string;
  /**
   * Where the worker's keys live: `keys/worker.key` (Ed25519, signs attestations) and `keys/worker.zk.key`
   * (Baby Jubjub, signs step leaves at level zk), created on first start with mode 0600. Keep it: a new
   * key is a new identity. Default: `.verity-worker`.
   */
  dataDir?: string;
  /** On SIGTERM and SIGINT, stop gracefully (finish or hand back running jobs, deregister). Default: true. */
  handleSignals?: boolean;
  /** How long running jobs may finish when stopping before they are handed back. Default: 10 000 ms. */
  drainMs?: number;
  /** Told of every error the worker recovers from (a claim that failed, a refused report). Default: ignored. */
  onError?: (error: unknown, context: Record<string, unknown>) => void;
}

/** A running worker. */
export interface WorkerHandle {
  /** The id the server gave it. */
  readonly id: string;
  /** The id of the key that signs its attestations (what a receipt names). */
  readonly keyId: string;
  /** Stops taking jobs, lets running ones finish for `drainMs`, hands the rest back, deregisters. */
  stop(): Promise<void>;
  /** Settles once the worker has stopped, by `stop()` or a signal. */
  readonly stopped: Promise<void>;
}

/**
 * Starts a remote worker that runs your executors: it registers with the server (proving it holds its
 * key), claims the jobs whose steps name them, keeps their leases alive, and reports each result with a
 * signed attestation. Resolves once registered.
 */
export async function runWorker(options: RunWorkerOptions): Promise<WorkerHandle> {
  const server = options.server ?? process.env.VERITY_SERVER;
  let servers: string[] | undefined;
  if (server !== undefined && server !== '') {
    try {
      servers = parseServerList(server, 'runWorker: server');
    } catch (error) {
      throw new WorkerSdkError('usage', (error as Error).message);
    }
  }
  const key = options.key ?? process.env.VERITY_API_KEY;
  if (!servers)
    throw new WorkerSdkError('usage', 'runWorker: pass server (or set VERITY_SERVER): the Verity server URL');
  if (!key)
    throw new WorkerSdkError('usage', 'runWorker: pass key (or set VERITY_API_KEY): an API key with the worker role');
  const concurrency = options.concurrency ?? 4;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 1024)
    throw new WorkerSdkError(
      'usage',
      `runWorker: concurrency must be a whole number from 1 to 1024, not ${concurrency}`,
    );
  const executors = [...(options.builtins ? defaultExecutors() : []), ...options.executors];
  checkExecutors(executors);
  if (executors.length === 0) throw new WorkerSdkError('usage', 'runWorker: give it at least one executor');

  const keyFile = join(options.dataDir ?? '.verity-worker', 'keys', 'worker.key');
  const signer = loadOrCreateSigner(keyFile);
  const zkSigner = loadOrCreateZkSigner(zkKeyFileOf(keyFile));
  const worker = new Worker(httpWorkerClient(servers, key, signer), new ExecutorRegistry(executors), {
    signer,
    zkSigner,
    concurrency,
    name: options.name ?? `${hostname()}:${process.pid}`,
    // A long poll: the server answers the moment a job is queued, so a long wait costs nothing.
    pollMs: 20_000,
    onError: options.onError ?? (() => undefined),
  });
  const id = await worker.start();

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping: Promise<void> | undefined;
  const onSignal = () => void stop().catch((error: unknown) => options.onError?.(error, { during: 'stop' }));
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      try {
        await worker.stop(options.drainMs ?? 10_000);
      } finally {
        resolveStopped();
      }
    })();
    return stopping;
  };
  if (options.handleSignals ?? true) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { id, keyId: signer.keyId, stop, stopped };
}
