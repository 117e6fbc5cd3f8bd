import { DEFAULT_EXPRESSION_LIMITS, failAll } from '../evaluator.js';
import type { EvaluateOptions, EvaluationResult, ExpressionEvaluator, ExpressionLimits } from '../evaluator.js';

/** What the evaluator needs of a Web Worker (the DOM's Worker has it), so this file needs no DOM types. */
export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

interface Pending {
  id: number;
  sources: readonly string[];
  input: unknown;
  timeoutMs: number;
  resolve: (results: EvaluationResult[]) => void;
}

/**
 * Evaluates expressions in a browser, in a Web Worker that is terminated when a request overruns its time
 * (a catastrophic regex, an endless `$map`) and replaced for the next one. The page stays responsive
 * whatever a bundle's definition does. Browsers put no memory cap on a worker: JSONata's result-size
 * check and the time limit bound what an expression can build, and a worker that dies is replaced.
 *
 * `createWorker` makes the worker from this package's `expression-worker` script, e.g. with Vite:
 * `() => new Worker(new URL('verity/verify/expression-worker', import.meta.url), { type: 'module' })`.
 */
export class WebWorkerEvaluator implements ExpressionEvaluator {
  readonly limits: ExpressionLimits;
  private worker: WorkerLike | undefined;
  private current: (Pending & { timer: ReturnType<typeof setTimeout> }) | undefined;
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly createWorker: () => WorkerLike,
    limits: Partial<ExpressionLimits> = {},
  ) {
    this.limits = { ...DEFAULT_EXPRESSION_LIMITS, ...limits };
  }

  evaluate(sources: readonly string[], input: unknown, options: EvaluateOptions = {}): Promise<EvaluationResult[]> {
    if (this.closed)
      return Promise.resolve(
        failAll(sources.length, { code: 'unavailable', message: 'the expression evaluator is closed' }),
      );
    if (sources.length === 0) return Promise.resolve([]);
    const timeoutMs = Math.min(options.timeoutMs ?? this.limits.timeoutMs, this.limits.maxTimeoutMs);
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, sources, input, timeoutMs, resolve });
      this.next();
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.stop('unavailable', 'the expression evaluator closed while this request ran');
    for (const task of this.queue.splice(0))
      task.resolve(
        failAll(task.sources.length, {
          code: 'unavailable',
          message: 'the expression evaluator closed before this request ran',
        }),
      );
    return Promise.resolve();
  }

  private next(): void {
    if (this.current || this.queue.length === 0) return;
    const task = this.queue.shift()!;
    const worker = this.ensureWorker();
    const timer = setTimeout(
      () => this.stop('timeout', `the expression ran longer than its ${task.timeoutMs} ms and was stopped`),
      task.timeoutMs + 250,
    );
    this.current = { ...task, timer };
    const limits = {
      timeoutMs: task.timeoutMs,
      maxDepth: this.limits.maxDepth,
      maxResultBytes: this.limits.maxResultBytes,
    };
    worker.postMessage({ id: task.id, sources: task.sources, input: task.input, limits });
  }

  private ensureWorker(): WorkerLike {
    if (this.worker) return this.worker;
    const worker = this.createWorker();
    worker.onmessage = (event) => {
      const data = event.data as { id: number; results: EvaluationResult[] };
      const current = this.current;
      if (!current || data.id !== current.id) return;
      clearTimeout(current.timer);
      this.current = undefined;
      current.resolve(data.results);
      this.next();
    };
    // The worker died (out of memory, a script error): whatever it ran fails, the next request gets a new one.
    worker.onerror = () =>
      this.stop(
        'memory',
        'the expression evaluator stopped (out of memory, or the worker failed) while this request ran',
      );
    this.worker = worker;
    return worker;
  }

  private stop(code: 'timeout' | 'memory' | 'unavailable', message: string): void {
    this.worker?.terminate();
    this.worker = undefined;
    const current = this.current;
    this.current = undefined;
    if (current) {
      clearTimeout(current.timer);
      current.resolve(failAll(current.sources.length, { code, message }));
    }
    if (!this.closed) this.next();
  }
}
