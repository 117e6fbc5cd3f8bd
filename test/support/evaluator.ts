import { ProcessEvaluator } from '../../src/expressions/node/process-evaluator.js';

let shared: ProcessEvaluator | undefined;

/**
 * The sandbox the tests verify bundles with (level full): the real one, child processes, shared by the
 * tests of one file. Idle children do not keep the test process alive, and exit with it.
 */
export function sandbox(): ProcessEvaluator {
  shared ??= new ProcessEvaluator({ name: 'test expression evaluator' });
  return shared;
}
