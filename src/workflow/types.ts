/**
 * The normalized workflow definition: what validation produces, what is digested, stored and executed.
 * Field names follow the plan's snake_case wire format so that clients written against it keep working.
 */
export type StepType = 'inference' | 'training' | 'data_processing';
export type VerificationLevel = 'basic' | 'full' | 'zk';

export const STEP_TYPES: readonly StepType[] = ['inference', 'training', 'data_processing'];
export const VERIFICATION_LEVELS: readonly VerificationLevel[] = ['basic', 'full', 'zk'];

export interface RetryPolicy {
  max_attempts: number;
  initial_backoff_ms: number;
  backoff_multiplier: number;
  max_backoff_ms: number;
  /** Error codes that fail the step at once, whatever attempts remain. */
  non_retryable: string[];
}

export interface ModelRequirements {
  name: string;
  version?: string;
  /** Lowercase hex SHA-256 of the model's files. */
  digest?: string;
}

export interface StepDefinition {
  id: string;
  name?: string;
  description?: string;
  step_type: StepType;
  model_requirements?: ModelRequirements;
  /** JSONata over the step's resolved input (data_processing steps without a model). */
  expression?: string;
  /** JSONata over `{ inputs, steps }`, one per field of the step's input. */
  input_mappings?: Record<string, string>;
  /** JSONata over the executor's raw result, one per field of the step's output. */
  output_mappings?: Record<string, string>;
  /** Explicit, `dependencies` and mapping-implied dependencies, merged and sorted. */
  depends_on: string[];
  /** JSONata over `{ inputs, steps }`; falsy means the step is skipped. */
  when?: string;
  timeout_seconds: number;
  retry_policy: RetryPolicy;
  requires_proof: boolean;
  /** Integer micro-units reserved from the budget before dispatch (per replica, for a redundant step). */
  estimated_cost: number;
  /** k jobs on k distinct workers; the output is accepted when q attestations agree on its digest. */
  redundancy?: { replicas: number; quorum: number };
}

export interface WorkflowDefinition {
  id: string;
  name: string;
  description: string;
  version: number;
  /** JSON Schema of the inputs a caller passes. */
  inputs?: Record<string, unknown>;
  steps: StepDefinition[];
  /** JSONata over `{ inputs, steps }`, one per field of the result; absent = the last step's output. */
  outputs?: Record<string, string>;
  max_execution_time: number;
  /** Integer micro-units; 0 = no limit. */
  max_cost_budget: number;
  requires_verification: boolean;
  verification_level: VerificationLevel;
  concurrency: number;
}

/** One problem found in a definition: where it is and what to do about it. */
export interface ValidationIssue {
  /** `steps[3].input_mappings.text`; empty for the whole document. */
  path: string;
  code: ValidationCode;
  message: string;
  /** Source position, when the definition came from text. */
  line?: number;
  column?: number;
}

export type ValidationCode =
  | 'syntax'
  | 'too_deep'
  | 'unknown_field'
  | 'missing_field'
  | 'invalid_type'
  | 'invalid_value'
  | 'out_of_range'
  | 'duplicate_id'
  | 'unknown_step'
  | 'self_reference'
  | 'not_upstream'
  | 'cycle'
  | 'expression_syntax'
  | 'invalid_schema'
  | 'inconsistent'
  | 'unused_step'
  | 'dynamic_reference'
  | 'budget';
