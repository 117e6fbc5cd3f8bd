import { setTimeout as sleep } from 'node:timers/promises';
import type { Executor, ExecutorContext, ExecutorJob, ExecutorResult } from '../executor.js';
import { ExecutorError } from '../executor.js';

const MAX_SLEEP_MS = 3_600_000;

export const BUILTIN_MODELS = ['builtin/echo', 'builtin/sleep', 'builtin/flaky', 'builtin/fail'] as const;

/**
 * The built-in model namespace, for tests, examples and benchmarks; usable by any step type.
 * - builtin/echo: returns its input.
 * - builtin/sleep: waits `ms` milliseconds, then echoes.
 * - builtin/flaky: fails its first `fail_times` attempts with a retryable `flaky` error, then echoes.
 * - builtin/fail: always fails with the error code `code` (default `failed`).
 * Each reports `cost` from its input when it is an integer, to exercise metered budgets.
 */
export class BuiltinExecutor implements Executor {
  readonly name = 'builtin';
  readonly capabilities = { stepTypes: [], models: [...BUILTIN_MODELS] };

  async run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
    const input = job.input;
    const params =
      input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
    const cost =
      Number.isSafeInteger(params.cost) && (params.cost as number) >= 0 ? (params.cost as number) : undefined;
    const result = (output: unknown): ExecutorResult => (cost === undefined ? { output } : { output, cost });
    switch (job.spec.model?.name) {
      case 'builtin/echo':
        return result(input);
      case 'builtin/sleep': {
        const ms = params.ms;
        if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_SLEEP_MS) {
          throw new ExecutorError(
            'invalid_input',
            `builtin/sleep needs input ms: a number of milliseconds from 0 to ${MAX_SLEEP_MS}`,
            {
              retryable: false,
            },
          );
        }
        await sleep(ms, undefined, { signal: context.signal });
        return result(input);
      }
      case 'builtin/flaky': {
        const failTimes = typeof params.fail_times === 'number' ? params.fail_times : 1;
        if (job.attempt <= failTimes) {
          throw new ExecutorError('flaky', `builtin/flaky fails attempt ${job.attempt} of the first ${failTimes}`);
        }
        return result(input);
      }
      case 'builtin/fail': {
        const code = typeof params.code === 'string' && params.code !== '' ? params.code : 'failed';
        const message = typeof params.message === 'string' ? params.message : `builtin/fail failed with ${code}`;
        throw new ExecutorError(code, message, { retryable: params.retryable !== false });
      }
      default:
        throw new ExecutorError('unknown_model', `no built-in model ${job.spec.model?.name ?? '(none)'}`, {
          retryable: false,
        });
    }
  }
}
