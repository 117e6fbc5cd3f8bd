/**
 * `verity/worker`: your own steps. Define executors, run a remote worker with them; it signs an
 * attestation of every job it runs, which the coordinator checks and the receipt commits to.
 */
export { defineExecutor, moduleDigest } from './define-executor.js';
export type { BlobRef, DefinedExecutor, ExecutorBlobs, ExecutorDefinition, StepContext } from './define-executor.js';
export { runWorker } from './run-worker.js';
export type { RunWorkerOptions, WorkerHandle } from './run-worker.js';
export { isExecutor, loadExecutorsModule } from './load-executors.js';
export { WorkerSdkError } from './errors.js';
export type { WorkerSdkErrorCode } from './errors.js';
export { ExecutorError } from '../../executors/executor.js';
export type { Executor } from '../../executors/executor.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export type { StepType } from '../../workflow/types.js';
