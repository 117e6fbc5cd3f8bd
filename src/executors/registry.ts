import type { Capabilities } from '../store/records.js';
import type { StepType } from '../workflow/types.js';
import type { Executor, ExecutorJob } from './executor.js';
import { ExecutorError } from './executor.js';

/** The executors one worker has, and which of them runs a given job. */
export class ExecutorRegistry {
  private readonly byModel = new Map<string, Executor>();
  private readonly byStepType = new Map<StepType, Executor>();

  constructor(executors: readonly Executor[]) {
    for (const executor of executors) {
      for (const model of executor.capabilities.models) if (!this.byModel.has(model)) this.byModel.set(model, executor);
      for (const type of executor.capabilities.stepTypes)
        if (!this.byStepType.has(type)) this.byStepType.set(type, executor);
    }
  }

  get capabilities(): Capabilities {
    const modelDigests: Record<string, string> = {};
    for (const [model, executor] of this.byModel) {
      const digest = executor.capabilities.modelDigests?.[model];
      if (digest !== undefined) modelDigests[model] = digest;
    }
    return {
      stepTypes: [...this.byStepType.keys()].sort(),
      models: [...this.byModel.keys()].sort(),
      ...(Object.keys(modelDigests).length > 0 && { modelDigests }),
    };
  }

  /** The digest this worker serves a model at, once its executor has prepared. */
  modelDigest(model: string): string | undefined {
    return this.byModel.get(model)?.capabilities.modelDigests?.[model];
  }

  /** Prepares every executor (loads models, computes their digests) once, before the worker registers. */
  async prepare(): Promise<void> {
    const executors = new Set([...this.byModel.values(), ...this.byStepType.values()]);
    for (const executor of executors) await executor.prepare?.();
  }

  /** Whether this worker can serve a step that needs this model (or, without one, this step type). */
  canServe(stepType: StepType, model: string | undefined): boolean {
    return model === undefined ? this.byStepType.has(stepType) : this.byModel.has(model);
  }

  /** The same executors, offering only the named step types and models. */
  restrictedTo(names: readonly string[]): ExecutorRegistry {
    const restricted = new ExecutorRegistry([]);
    for (const [model, executor] of this.byModel) if (names.includes(model)) restricted.byModel.set(model, executor);
    for (const [type, executor] of this.byStepType) if (names.includes(type)) restricted.byStepType.set(type, executor);
    return restricted;
  }

  forJob(job: ExecutorJob): Executor {
    const model = job.spec.model?.name;
    const executor = model === undefined ? this.byStepType.get(job.stepType) : this.byModel.get(model);
    if (!executor) {
      // The claim matched on capabilities, so this means the registry changed under a running worker.
      throw new ExecutorError('no_executor', `this worker has no executor for ${model ?? job.stepType}`, {
        retryable: true,
      });
    }
    return executor;
  }
}
