import { z } from 'zod';
import { DEFAULTS, LIMITS } from './limits.js';
import { STEP_TYPES, VERIFICATION_LEVELS } from './types.js';
import type { StepType, VerificationLevel } from './types.js';

/**
 * The one schema of a workflow definition. Structural rules live here; rules that need the whole graph
 * (references, cycles, expressions) live in validate.ts. `verity schema` prints this as JSON Schema.
 */

const WORKFLOW_ID = /^[a-z0-9]+(?:[-_.][a-z0-9]+)*$/;
/** Step ids are JSONata names in `steps.<id>`, so they must be identifiers (a hyphen would read as minus). */
const STEP_ID = /^[A-Za-z_][A-Za-z0-9_]*$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

const expression = z
  .string()
  .min(1, { error: 'must not be empty; write a JSONata expression' })
  .max(LIMITS.maxExpressionLength, { error: `must be at most ${LIMITS.maxExpressionLength} characters` });

const mappings = z
  .record(z.string().min(1, { error: 'a mapping needs a field name' }), expression)
  .refine((m) => Object.keys(m).length <= LIMITS.maxMappings, {
    error: `at most ${LIMITS.maxMappings} fields`,
  });

const intInRange = (min: number, max: number) =>
  z
    .int({ error: 'must be an integer' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

export const retryPolicySchema = z.strictObject({
  max_attempts: intInRange(1, LIMITS.maxAttempts).default(DEFAULTS.retry.max_attempts),
  initial_backoff_ms: intInRange(0, LIMITS.maxBackoffMs).default(DEFAULTS.retry.initial_backoff_ms),
  backoff_multiplier: z
    .number({ error: 'must be a number' })
    .min(1, { error: 'must be at least 1' })
    .max(LIMITS.maxBackoffMultiplier, { error: `must be at most ${LIMITS.maxBackoffMultiplier}` })
    .default(DEFAULTS.retry.backoff_multiplier),
  max_backoff_ms: intInRange(0, LIMITS.maxBackoffMs).default(DEFAULTS.retry.max_backoff_ms),
  non_retryable: z.array(z.string().min(1)).default([]),
});

export const modelRequirementsSchema = z.strictObject({
  name: z.string().min(1, { error: 'name the model, for example builtin/echo' }).max(200),
  version: z.string().min(1).max(100).optional(),
  digest: z
    .string()
    .regex(HEX_SHA256, { error: 'must be the lowercase hex SHA-256 of the model (64 characters)' })
    .optional(),
});

export const redundancySchema = z
  .strictObject({
    replicas: intInRange(2, 7),
    quorum: intInRange(1, 7),
  })
  // More than half must agree, so two disjoint groups can never both reach the quorum.
  .refine((r) => r.quorum <= r.replicas && r.quorum * 2 > r.replicas, {
    error: 'quorum must be more than half of replicas and at most replicas, for example { replicas: 3, quorum: 2 }',
  });

export const stepSchema = z.strictObject({
  id: z
    .string({ error: 'every step needs an id' })
    .max(LIMITS.maxIdLength, { error: `must be at most ${LIMITS.maxIdLength} characters` })
    .regex(STEP_ID, {
      error:
        'must be letters, digits and _, not starting with a digit (it is a JSONata name in steps.<id>); for example extract_text',
    }),
  name: z.string().max(LIMITS.maxNameLength).optional(),
  description: z.string().max(LIMITS.maxDescriptionLength).optional(),
  step_type: z.enum(STEP_TYPES as [StepType, ...StepType[]], {
    error: `must be one of ${STEP_TYPES.join(', ')}`,
  }),
  model_requirements: modelRequirementsSchema.optional(),
  expression: expression.optional(),
  input_mappings: mappings.optional(),
  output_mappings: mappings.optional(),
  depends_on: z.array(z.string()).default([]),
  when: expression.optional(),
  timeout_seconds: intInRange(1, LIMITS.maxTimeoutSeconds).default(DEFAULTS.timeoutSeconds),
  retry_policy: retryPolicySchema.default(() => retryPolicySchema.parse({})),
  requires_proof: z.boolean({ error: 'must be true or false' }).default(false),
  estimated_cost: intInRange(0, Number.MAX_SAFE_INTEGER).default(0),
  /** Run the step on k distinct workers; its output is the one q of them agree on (verification level full). */
  redundancy: redundancySchema.optional(),
});

export const workflowSchema = z.strictObject({
  id: z
    .string({ error: 'the workflow needs an id' })
    .max(LIMITS.maxIdLength, { error: `must be at most ${LIMITS.maxIdLength} characters` })
    .regex(WORKFLOW_ID, { error: 'must be a lowercase slug such as invoice-agent' }),
  name: z.string().max(LIMITS.maxNameLength).optional(),
  description: z.string().max(LIMITS.maxDescriptionLength).default(''),
  version: intInRange(1, LIMITS.maxVersion).default(1),
  inputs: z.record(z.string(), z.unknown(), { error: 'must be a JSON Schema object' }).optional(),
  steps: z
    .array(stepSchema, { error: 'must be a list of steps' })
    .min(1, { error: 'a workflow needs at least one step' })
    .max(LIMITS.maxSteps, { error: `at most ${LIMITS.maxSteps} steps` }),
  dependencies: z.record(z.string(), z.array(z.string())).optional(),
  outputs: mappings.optional(),
  max_execution_time: intInRange(1, LIMITS.maxExecutionTimeSeconds).default(DEFAULTS.maxExecutionTime),
  max_cost_budget: intInRange(0, Number.MAX_SAFE_INTEGER).default(DEFAULTS.maxCostBudget),
  requires_verification: z.boolean({ error: 'must be true or false' }).default(true),
  verification_level: z
    .enum(VERIFICATION_LEVELS as [VerificationLevel, ...VerificationLevel[]], {
      error: `must be one of ${VERIFICATION_LEVELS.join(', ')}`,
    })
    .default(DEFAULTS.verificationLevel),
  concurrency: intInRange(1, LIMITS.maxConcurrency).default(DEFAULTS.concurrency),
});

export type ParsedWorkflow = z.output<typeof workflowSchema>;

/** The definition format as JSON Schema (draft 2020-12), describing what an author may write. */
export function workflowJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(workflowSchema, { io: 'input', unrepresentable: 'any' });
  return {
    ...schema,
    $id: 'https://verity.dev/schemas/workflow.json',
    title: 'Verity workflow definition',
  };
}
