import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Executor } from '../../executors/executor.js';
import { WorkerSdkError } from './errors.js';

/** Whether a module's export is an executor (made by defineExecutor, or any object of that shape). */
export function isExecutor(value: unknown): value is Executor {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Executor>;
  return (
    typeof candidate.name === 'string' &&
    typeof candidate.run === 'function' &&
    typeof candidate.capabilities === 'object' &&
    candidate.capabilities !== null &&
    Array.isArray(candidate.capabilities.models) &&
    Array.isArray(candidate.capabilities.stepTypes)
  );
}

/**
 * Refuses two executors that serve one model name: the registry would quietly take the first, and a
 * step's output would depend on the order executors were listed in.
 */
export function checkExecutors(executors: readonly Executor[]): void {
  const servedBy = new Map<string, string>();
  for (const executor of executors) {
    for (const model of executor.capabilities.models) {
      const other = servedBy.get(model);
      if (other !== undefined)
        throw new WorkerSdkError('usage', `${executor.name} and ${other} both serve ${model}: rename one of them`);
      servedBy.set(model, executor.name);
    }
  }
}

/**
 * The executors a module exports (`verity worker --executors ./my-executors.js`): its default export
 * (one executor or a list of them), else every named export that is an executor.
 */
export async function loadExecutorsModule(path: string): Promise<Executor[]> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new WorkerSdkError('module', `${path}: cannot load it: ${(error as Error).message}`, { cause: error });
  }
  const fromDefault = module.default;
  if (fromDefault !== undefined) {
    const list = Array.isArray(fromDefault) ? (fromDefault as unknown[]) : [fromDefault];
    const notOne = list.findIndex((item) => !isExecutor(item));
    if (notOne >= 0)
      throw new WorkerSdkError(
        'module',
        `${path}: the default export${Array.isArray(fromDefault) ? `[${notOne}]` : ''} is not an executor; export defineExecutor(...) results`,
      );
    return list as Executor[];
  }
  const named = Object.values(module).filter(isExecutor);
  if (named.length === 0)
    throw new WorkerSdkError(
      'module',
      `${path}: exports no executor; export defineExecutor(...) results (as the default export, a list, or by name)`,
    );
  return named;
}
