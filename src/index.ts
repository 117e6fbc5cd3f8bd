/**
 * Verity as a library: define and validate workflows, run them on a node (store + engine + coordinator +
 * in-process worker), inspect executions. The CLI is built on exactly this. Importing it loads the server,
 * the database drivers and the model runtimes: in a browser, or anywhere only checking bundles or calling
 * a server, import `verity/verify` (src/attest/index.ts) or `verity/sdk` (src/sdk/index.ts) instead.
 */
export { VerityNode, resolveNodeOptions } from './node/verity-node.js';
export type { NodeOptions } from './node/verity-node.js';
export { Engine } from './engine/engine.js';
export type { StartRequest } from './engine/engine.js';
export { EngineError } from './engine/errors.js';
export { executionView, loadExecutionView } from './engine/view.js';
export type { ExecutionView, StepSummary } from './engine/view.js';
export { Coordinator } from './coordinator/coordinator.js';
export type { Assignment, ReportOutcome, ResultReport, WorkerRegistration } from './coordinator/protocol.js';
export { Worker } from './worker/worker.js';
export type { WorkerClient } from './worker/client.js';
export { localWorkerClient } from './worker/local-client.js';
export { ExecutorError } from './executors/executor.js';
export type { Executor, ExecutorContext, ExecutorJob, ExecutorResult } from './executors/executor.js';
export { ExecutorRegistry } from './executors/registry.js';
export { defaultExecutors } from './executors/defaults.js';
export { openStore } from './store/open-store.js';
export type { Store, StoreTx, StoreReads } from './store/store.js';
export { StoreError } from './store/errors.js';
export type * from './store/records.js';
export { validateWorkflow } from './workflow/validate.js';
export type { ValidationResult, WorkflowSummary } from './workflow/validate.js';
export { loadWorkflowFile, readWorkflowFile, validateWorkflowText } from './workflow/load.js';
export { WorkflowError, formatIssue } from './workflow/errors.js';
export { workflowJsonSchema } from './workflow/schema.js';
export type * from './workflow/types.js';
export { canonicalJson } from './attest/canonical.js';
export { jsonDigest, sha256Hex } from './attest/digest.js';
export { VerityError } from './errors.js';
export { verifyBundle } from './attest/verify/verify-bundle.js';
export type { VerifyOptions } from './attest/verify/verify-bundle.js';

/** Where user expressions run: a sandbox of child processes (Node), Web Workers (browsers), or inline for trusted input. */
export { ProcessEvaluator } from './expressions/node/process-evaluator.js';
export type { ProcessEvaluatorOptions } from './expressions/node/process-evaluator.js';
export { WebWorkerEvaluator } from './expressions/browser/web-worker-evaluator.js';
export { InlineEvaluator } from './expressions/inline-evaluator.js';
export { ExpressionError, DEFAULT_EXPRESSION_LIMITS } from './expressions/evaluator.js';
export type { ExpressionEvaluator, EvaluationResult, ExpressionLimits } from './expressions/evaluator.js';

/** The server and its client. */
export { buildServer } from './api/server.js';
export type { ServerOptions } from './api/server.js';
export { VerityClient, VerityApiError } from './sdk/client.js';
export type {
  VerityClientOptions,
  ServerEvent,
  ExecutionSummary,
  ExecutionList,
  HistoryPage,
  WorkflowDetail,
  VerificationReport,
} from './sdk/client.js';
export type { EventView } from './engine/view.js';
