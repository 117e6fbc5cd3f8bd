import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { canonicalJson } from '../../attest/canonical.js';
import type { BlobRef } from '../../blobs/blob-ref.js';
import type {
  Executor,
  ExecutorBlobs,
  ExecutorContext,
  ExecutorJob,
  ExecutorResult,
} from '../../executors/executor.js';
import { ExecutorError } from '../../executors/executor.js';
import type { Capabilities } from '../../store/records.js';
import type { StepType } from '../../workflow/types.js';
import { STEP_TYPES } from '../../workflow/types.js';
import { describeIssues, isStandardSchema } from './standard-schema.js';
import type { InferOutput, StandardSchemaV1 } from './standard-schema.js';

/** What an executor's `run` is told about the job, beyond its input. */
export interface StepContext {
  /** Aborted when the job is cancelled, loses its lease, reaches its deadline, or the worker shuts down. */
  readonly signal: AbortSignal;
  readonly job: {
    readonly jobId: string;
    readonly executionId: string;
    readonly stepId: string;
    readonly attempt: number;
    readonly stepType: StepType;
    /** Epoch milliseconds: the step's time-out. */
    readonly deadlineAt: number;
    /** Micro-units the coordinator reserved for this job: a metered executor should stay within it. */
    readonly maxCost: number;
  };
  /** The blobs the job's input names, and where new ones go (put the returned reference in the output). */
  readonly blobs: ExecutorBlobs;
  /**
   * What the run cost, in integer micro-units of a credit, and what it used (tokens, pages, seconds):
   * signed in the attestation and charged to the execution. Without it the step's estimate is charged.
   */
  reportCost(microUnits: number, usage?: Record<string, number>): void;
}

export interface ExecutorDefinition<In extends StandardSchemaV1 | undefined, Out> {
  /**
   * What steps name in `model_requirements.name`: a namespace and a name, such as `acme/summarize`. The
   * namespaces of the built-ins (`builtin/`, `data/`) are taken.
   */
  name: string;
  /** Recorded in every attestation, and refused when a step asks for another (`model_requirements.version`). */
  version: string;
  /** The step types that may name it. Default: every type. */
  stepTypes?: readonly StepType[];
  /** Validates the step's input before `run` (zod, Valibot, ArkType: any Standard Schema). */
  input?: In;
  /** Validates what `run` returns before it is signed. */
  output?: StandardSchemaV1<unknown, Out>;
  /**
   * The lowercase hex SHA-256 of the code that runs, signed in every attestation as the model digest, so
   * a step can pin it (`model_requirements.digest`) and a receipt says which code ran. Default: the digest
   * of the name, the version and `run`'s source text. Use `moduleDigest(import.meta.url)` to cover a whole
   * file, or the digest of your package or image for code that lives elsewhere.
   */
  digest?: string;
  /** Runs once before the worker registers (load a model, open a connection). */
  prepare?: () => Promise<void>;
  run: (input: In extends StandardSchemaV1 ? InferOutput<In> : unknown, context: StepContext) => Promise<Out> | Out;
}

/** An executor made by `defineExecutor`: a worker runs it like any other. */
export interface DefinedExecutor extends Executor {
  readonly version: string;
  readonly digest: string;
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}(\/[a-z0-9][a-z0-9._-]{0,63}){1,3}$/;
const RESERVED = ['builtin/', 'data/'];
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Your own step: a function from the step's input to its output, with the name steps call it by. The
 * worker that runs it signs what it ran (name, version, code digest), on which input, producing which
 * output, at what cost; the coordinator checks the signature before it takes the result.
 */
export function defineExecutor<In extends StandardSchemaV1 | undefined = undefined, Out = unknown>(
  definition: ExecutorDefinition<In, Out>,
): DefinedExecutor {
  const { name, version } = definition;
  if (typeof name !== 'string' || !NAME.test(name))
    throw new TypeError(
      `defineExecutor: name ${JSON.stringify(name)} must be a namespace and a name in lowercase, such as acme/summarize`,
    );
  if (RESERVED.some((prefix) => name.startsWith(prefix)))
    throw new TypeError(`defineExecutor: ${name}: the namespaces ${RESERVED.join(', ')} belong to the built-ins`);
  if (typeof version !== 'string' || version.length === 0 || version.length > 100)
    throw new TypeError(`defineExecutor: ${name}: version must be a non-empty string (at most 100 characters)`);
  const stepTypes = definition.stepTypes ?? STEP_TYPES;
  const unknownType = stepTypes.find((type) => !STEP_TYPES.includes(type));
  if (stepTypes.length === 0 || unknownType !== undefined)
    throw new TypeError(`defineExecutor: ${name}: stepTypes must list some of ${STEP_TYPES.join(', ')}`);
  if (definition.input !== undefined && !isStandardSchema(definition.input))
    throw new TypeError(`defineExecutor: ${name}: input must be a schema (zod, Valibot, ArkType: a Standard Schema)`);
  if (definition.output !== undefined && !isStandardSchema(definition.output))
    throw new TypeError(`defineExecutor: ${name}: output must be a schema (zod, Valibot, ArkType: a Standard Schema)`);
  if (typeof definition.run !== 'function') throw new TypeError(`defineExecutor: ${name}: run must be a function`);
  if (definition.digest !== undefined && !HEX_SHA256.test(definition.digest))
    throw new TypeError(`defineExecutor: ${name}: digest must be 64 lowercase hex characters (a SHA-256)`);
  const digest =
    definition.digest ??
    createHash('sha256')
      .update(canonicalJson({ name, version, run: definition.run.toString() }))
      .digest('hex');
  const capabilities: Capabilities = { stepTypes: [], models: [name], modelDigests: { [name]: digest } };

  return {
    name: `${name}@${version}`,
    version,
    digest,
    capabilities,
    ...(definition.prepare && { prepare: definition.prepare }),
    async run(job: ExecutorJob, context: ExecutorContext): Promise<ExecutorResult> {
      if (!stepTypes.includes(job.stepType))
        throw new ExecutorError(
          'bad_request',
          `${name} runs ${stepTypes.join(', ')} steps; step ${job.stepId} is a ${job.stepType} step`,
          { retryable: false },
        );
      const asked = job.spec.model?.version;
      if (asked !== undefined && asked !== version)
        // Another worker may serve the version asked for: worth another attempt.
        throw new ExecutorError(
          'version_mismatch',
          `step ${job.stepId} asks for ${name} ${asked}; this worker has ${version}`,
        );
      const input = definition.input ? await validated(definition.input, job.input, 'input', 'bad_request') : job.input;
      let metered: { cost: number; usage?: Record<string, number> } | undefined;
      const stepContext: StepContext = {
        signal: context.signal,
        job: {
          jobId: job.jobId,
          executionId: job.executionId,
          stepId: job.stepId,
          attempt: job.attempt,
          stepType: job.stepType,
          deadlineAt: job.deadlineAt,
          maxCost: job.maxCost,
        },
        blobs: context.blobs,
        reportCost(microUnits, usage) {
          if (!Number.isSafeInteger(microUnits) || microUnits < 0)
            throw new TypeError(`reportCost: ${microUnits} is not a whole, non-negative number of micro-units`);
          if (usage !== undefined)
            for (const [key, value] of Object.entries(usage))
              if (typeof value !== 'number' || !Number.isFinite(value))
                throw new TypeError(`reportCost: usage.${key} must be a finite number`);
          metered = { cost: microUnits, ...(usage && { usage: { ...usage } }) };
        },
      };
      const produced = await definition.run(
        input as In extends StandardSchemaV1 ? InferOutput<In> : unknown,
        stepContext,
      );
      const output = definition.output
        ? await validated(definition.output, produced, 'output', 'bad_output')
        : produced;
      assertJson(name, output);
      return {
        output,
        ...(metered && { cost: metered.cost }),
        ...(metered?.usage && { usage: metered.usage }),
        model: { name, version, digest },
      };
    },
  };
}

async function validated(
  schema: StandardSchemaV1,
  value: unknown,
  root: 'input' | 'output',
  code: 'bad_request' | 'bad_output',
): Promise<unknown> {
  const result = await schema['~standard'].validate(value);
  if (result.issues === undefined) return result.value;
  // Bad input will not get better on another attempt, nor will the same code's bad output.
  throw new ExecutorError(code, describeIssues(root, result.issues), { retryable: false });
}

/** What a step outputs is JSON (its digest is of the canonical JSON): say so here rather than at signing. */
function assertJson(name: string, output: unknown): void {
  try {
    canonicalJson(output);
  } catch (error) {
    throw new ExecutorError('bad_output', `${name} returned something that is not JSON: ${(error as Error).message}`, {
      retryable: false,
    });
  }
}

/**
 * The SHA-256 of a module's file (`moduleDigest(import.meta.url)`): a code digest that changes with any
 * change to the file, not only to `run`.
 */
export function moduleDigest(moduleUrl: string | URL): string {
  const path = typeof moduleUrl === 'string' && !moduleUrl.startsWith('file:') ? moduleUrl : fileURLToPath(moduleUrl);
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export type { BlobRef, ExecutorBlobs };
