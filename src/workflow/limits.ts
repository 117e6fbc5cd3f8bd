/**
 * Bounds on what a definition may ask for. They exist so that one bad or hostile definition cannot make the
 * coordinator do unbounded work (validation, scheduling, expression evaluation) before anything runs.
 */
export const LIMITS = {
  maxSteps: 10_000,
  maxIdLength: 64,
  maxNameLength: 200,
  maxDescriptionLength: 10_000,
  maxExpressionLength: 10_000,
  maxMappings: 256,
  maxVersion: 2_147_483_647,
  maxTimeoutSeconds: 7 * 24 * 3600,
  maxExecutionTimeSeconds: 30 * 24 * 3600,
  maxAttempts: 100,
  maxBackoffMs: 24 * 3600 * 1000,
  maxBackoffMultiplier: 100,
  maxConcurrency: 1000,
  /** Expression evaluation guardrails (JSONata's own): wall time and stack depth. */
  expressionTimeoutMs: 1000,
  expressionMaxDepth: 500,
  /** Nesting of a definition's YAML/JSON document (measured on the parsed document, before it becomes JS). */
  maxDocumentDepth: 128,
  /** Nesting of an execution's inputs and of a step's output: everything after the check recurses over them. */
  maxValueDepth: 256,
} as const;

export const DEFAULTS = {
  timeoutSeconds: 300,
  retry: { max_attempts: 3, initial_backoff_ms: 1000, backoff_multiplier: 2, max_backoff_ms: 60_000 },
  maxExecutionTime: 3600,
  maxCostBudget: 0,
  concurrency: 8,
  verificationLevel: 'basic',
} as const;
