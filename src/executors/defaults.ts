import { BuiltinExecutor } from './builtin/builtin-executor.js';
import { JsonataExecutor } from './data/jsonata-executor.js';
import type { Executor } from './executor.js';

/** The executors every worker has out of the box. */
export function defaultExecutors(): Executor[] {
  return [new JsonataExecutor(), new BuiltinExecutor()];
}
