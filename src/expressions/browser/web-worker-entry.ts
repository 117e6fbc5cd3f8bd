import { evaluateSources } from '../evaluate.js';
import type { CoreLimits } from '../evaluate.js';

/**
 * The script of a Web Worker that evaluates expressions for WebWorkerEvaluator. Bundle it as a module
 * worker (Vite: `new Worker(new URL('verity/verify/expression-worker', import.meta.url), { type: 'module' })`).
 */
interface WorkerScope {
  onmessage:
    ((event: { data: { id: number; sources: readonly string[]; input: unknown; limits: CoreLimits } }) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  const { id, sources, input, limits } = event.data;
  void evaluateSources(sources, input, limits).then((results) => scope.postMessage({ id, results }));
};
