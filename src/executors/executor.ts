import { VerityError } from '../errors.js';
import type { Capabilities, JobSpec } from '../store/records.js';
import type { StepType } from '../workflow/types.js';

/** One job as an executor sees it. */
export interface ExecutorJob {
  jobId: string;
  executionId: string;
  stepId: string;
  attempt: number;
  stepType: StepType;
  spec: JobSpec;
  input: unknown;
  /** The budget reserved for this job: an executor that meters cost should stay within it. */
  maxCost: number;
  deadlineAt: number;
}

export interface ExecutorResult {
  /** The raw result; the worker applies the step's output mappings to it. */
  output: unknown;
  /** Integer micro-units, when the executor meters cost; otherwise the step's estimate is charged. */
  cost?: number;
  usage?: Record<string, number>;
}

export interface ExecutorContext {
  /** Aborted when the job is cancelled, loses its lease, or reaches its deadline. */
  signal: AbortSignal;
}

/** The code inside a worker that performs one kind of step: a model runtime, a transform, a trainer. */
export interface Executor {
  readonly name: string;
  readonly capabilities: Capabilities;
  run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult>;
}

/**
 * A step failure an executor reports on purpose. `code` is what retry policies match (`non_retryable`);
 * `retryable: false` fails the step at once whatever the policy says (bad input will not get better).
 */
export class ExecutorError extends VerityError<string> {
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.retryable = options.retryable ?? true;
  }
}
