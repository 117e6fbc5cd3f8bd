import { describeError } from '../../errors.js';
import type { ExpressionEvaluator } from '../../expressions/evaluator.js';
import {
  applyOutputMappings,
  computeResult,
  evaluateCondition,
  evaluateStepExpression,
  evaluationContext,
  resolveInput,
} from '../../workflow/context.js';
import type { EvaluationContext, StepView } from '../../workflow/context.js';
import { isDeterministic } from '../../workflow/expression.js';
import { WorkflowPlan } from '../../workflow/plan.js';
import type { WorkflowDefinition } from '../../workflow/types.js';
import type { Bundle } from '../bundle.js';
import { jsonDigest } from '../digest.js';
import { countAgreement, describeAgreement } from '../quorum.js';
import { envelopeDigest } from '../dsse.js';
import type { Envelope } from '../dsse.js';
import { STEP_PREDICATE_TYPE, readStatement, stepPredicateSchema } from '../statement.js';
import type { ExecutionPredicate, StepPredicate } from '../statement.js';
import { httpCallProblems } from './http.js';
import type { Checks } from './report.js';

/** Time limits of what level full re-evaluates, per request to the evaluator. */
export interface FullLimits {
  /** A condition's or a mapping's replay. Default: 1,000 ms (what the engine allows them). */
  mappingTimeoutMs: number;
  /** Re-running a step's transform. Default: 10,000 ms. */
  rerunTimeoutMs: number;
}

export const DEFAULT_FULL_LIMITS: FullLimits = { mappingTimeoutMs: 1_000, rerunTimeoutMs: 10_000 };

/**
 * The full level: with the data the bundle carries, recompute every digest the signatures cover, replay
 * each step's input mappings from its upstream outputs (lineage), re-run the deterministic steps, re-check
 * the conditions that decided what ran, and re-derive the result. Uses the same pure functions the engine
 * and the workers use, so "what would have happened" means exactly what did. Runs only on a receipt a
 * trusted key signed; the expressions run in the evaluator the caller gives (a sandbox).
 */
export async function verifyFull(
  bundle: Bundle,
  predicate: ExecutionPredicate,
  checks: Checks,
  evaluator: ExpressionEvaluator,
  limits: FullLimits = DEFAULT_FULL_LIMITS,
): Promise<void> {
  const mappings = withTimeout(evaluator, limits.mappingTimeoutMs);
  const reruns = withTimeout(evaluator, limits.rerunTimeoutMs);
  const data = bundle.data;
  if (!data) {
    checks.fail('data', 'level full needs the data section; produce the bundle with --include-data');
    return;
  }
  const workflowDigest = safeDigest(data.workflow);
  if (
    !checks.expect(
      'data.workflow',
      workflowDigest === predicate.workflow.digest,
      `the definition hashes to the receipt's workflow digest`,
      `the definition hashes to ${workflowDigest}, the receipt names ${predicate.workflow.digest}`,
    )
  ) {
    return;
  }
  const definition = data.workflow as unknown as WorkflowDefinition;
  // Each attestation hashed once, not once per step: a bundle's checks stay linear in its size.
  const attestationsByDigest = new Map<string, Envelope>();
  for (const envelope of bundle.attestations) {
    try {
      attestationsByDigest.set(envelopeDigest(envelope), envelope);
    } catch {
      // Not an envelope the basic level accepted: no step's signed predicate comes from it.
    }
  }
  let plan: WorkflowPlan;
  try {
    plan = new WorkflowPlan(predicate.workflow.digest, definition);
  } catch (error) {
    checks.fail('data.workflow', `the definition cannot be planned: ${describeError(error)}`);
    return;
  }
  const ids = definition.steps.map((s) => s.id);
  const listed = predicate.steps.map((s) => s.stepId);
  checks.expect(
    'steps.workflow',
    sameList(ids, listed),
    `the receipt lists exactly the workflow's ${ids.length} steps, in order`,
    `the workflow's steps are [${ids.join(', ')}], the receipt lists [${listed.join(', ')}]`,
  );

  checkRedundancy(definition, predicate, checks);

  const inputDigest = safeDigest(data.inputs);
  checks.expect(
    'data.inputs',
    inputDigest === predicate.inputDigest,
    "the inputs hash to the receipt's input digest",
    `the inputs hash to ${inputDigest}, the receipt says ${predicate.inputDigest}`,
  );

  const completed = predicate.steps.filter((s) => s.status === 'completed');
  const extra = Object.keys(data.steps).filter((id) => !completed.some((s) => s.stepId === id));
  checks.expect(
    'data.steps',
    extra.length === 0,
    `data for each of the ${completed.length} completed steps`,
    `data for steps that did not complete: ${extra.join(', ')}`,
  );

  // What each step saw of its upstream steps: their status from the receipt, their output from the data.
  const views = new Map<string, StepView>(
    predicate.steps.map((s) => [
      s.stepId,
      s.status === 'completed' && data.steps[s.stepId]
        ? { status: s.status, output: data.steps[s.stepId]!.output }
        : { status: s.status },
    ]),
  );
  const status = new Map(predicate.steps.map((s) => [s.stepId, s.status]));

  for (const step of predicate.steps) {
    if (!plan.steps.has(step.stepId)) continue;
    const stepPlan = plan.step(step.stepId);
    const context = evaluationContext(data.inputs, stepPlan.reads, views);

    if (step.status === 'completed' || step.status === 'skipped') {
      await checkDecision(step.stepId, step.status, stepPlan, context, status, checks, mappings);
    }
    if (step.status !== 'completed') continue;
    const own = data.steps[step.stepId];
    if (!own) {
      checks.fail(`data.step.${step.stepId}`, `no input and output for completed step ${step.stepId}`);
      continue;
    }
    const digests = [safeDigest(own.input) === step.inputDigest, safeDigest(own.output) === step.outputDigest];
    checks.expect(
      `data.step.${step.stepId}`,
      digests[0]! && digests[1]!,
      'input and output hash to the attested digests',
      [
        !digests[0] && `its input hashes to ${safeDigest(own.input)}, attested ${step.inputDigest}`,
        !digests[1] && `its output hashes to ${safeDigest(own.output)}, attested ${step.outputDigest}`,
      ]
        .filter(Boolean)
        .join('; '),
    );

    // Lineage: the input is what the step's mappings make of its upstream outputs and the workflow inputs.
    try {
      const replayed = safeDigest(await resolveInput(stepPlan, context, mappings));
      checks.expect(
        `lineage.${step.stepId}`,
        replayed === step.inputDigest,
        'its input follows from its upstream outputs',
        `its input mappings give an input hashing to ${replayed}, but the attested input digest is ${step.inputDigest}`,
      );
    } catch (error) {
      checks.fail(`lineage.${step.stepId}`, `its input mappings fail on the upstream data: ${describeError(error)}`);
    }

    // An HTTP step: the call its worker signed is the call its (lineage-checked) input asked for.
    const http = signedPredicate(attestationsByDigest, step.stepId, step.attestationDigest, checks)?.http;
    if (http) {
      const problems = httpCallProblems(own.input, http);
      checks.expect(
        `http.${step.stepId}`,
        problems.length === 0,
        `the attested call (${http.method} ${http.url}, its body digest) is the one its input asks for`,
        problems.join('; '),
      );
    }

    // Deterministic steps are re-run: a JSONata transform must give the attested output again.
    const d = stepPlan.definition;
    if (d.step_type === 'data_processing' && d.expression !== undefined && d.model_requirements === undefined) {
      if (!isDeterministic(d.expression) || Object.values(d.output_mappings ?? {}).some((m) => !isDeterministic(m))) {
        checks.skip(`rerun.${step.stepId}`, 'not re-run: the expression reads the clock or random numbers');
        continue;
      }
      try {
        const output = await applyOutputMappings(
          d.output_mappings,
          await evaluateStepExpression(d.expression, own.input, reruns),
          reruns,
        );
        const again = safeDigest(output);
        checks.expect(
          `rerun.${step.stepId}`,
          again === step.outputDigest,
          're-running the transform gives the attested output',
          `re-running the transform gives an output hashing to ${again}, attested ${step.outputDigest}`,
        );
      } catch (error) {
        checks.fail(`rerun.${step.stepId}`, `re-running the transform fails: ${describeError(error)}`);
      }
    }
  }

  if (predicate.status === 'completed') await checkResult(plan, data.inputs, views, predicate, checks, mappings);
}

/** The evaluator with a default time limit for every request made through it. */
function withTimeout(evaluator: ExpressionEvaluator, timeoutMs: number): ExpressionEvaluator {
  return {
    evaluate: (sources, input, options = {}) => evaluator.evaluate(sources, input, { timeoutMs, ...options }),
    close: () => evaluator.close(),
  };
}

/**
 * Redundant steps: a step whose definition asks for `redundancy` carries its replicas in the receipt (when
 * it completed, or any replica reported), with the definition's quorum and no more replicas than it runs;
 * a completed one has its output attested by replicas of at least `quorum` distinct principals, as the
 * coordinator states them in the receipt it signed (keys are free to make). A step that runs once
 * carries no replicas. (basic has already tied each replica to its signed attestation.)
 */
function checkRedundancy(definition: WorkflowDefinition, predicate: ExecutionPredicate, checks: Checks): void {
  const definitions = new Map(definition.steps.map((d) => [d.id, d]));
  for (const step of predicate.steps) {
    const asked = definitions.get(step.stepId)?.redundancy;
    const name = `redundancy.${step.stepId}`;
    const listed = step.redundancy;
    if (!asked) {
      if (listed)
        checks.fail(
          name,
          `the workflow runs step ${step.stepId} once, but the receipt lists ${listed.replicas.length} replicas for it`,
        );
      continue;
    }
    if (!listed) {
      checks.expect(
        name,
        step.status !== 'completed',
        `${step.status}: no replica reported`,
        `step ${step.stepId} asks for ${asked.quorum} of ${asked.replicas} replicas to agree, but the receipt lists none`,
      );
      continue;
    }
    const problems: string[] = [];
    if (listed.quorum !== asked.quorum)
      problems.push(`the receipt says quorum ${listed.quorum}, the workflow ${asked.quorum}`);
    if (listed.replicas.length > asked.replicas)
      problems.push(`the receipt lists ${listed.replicas.length} replicas, the workflow runs ${asked.replicas}`);
    const outside = listed.replicas.filter((r) => r.replica >= asked.replicas).map((r) => r.replica);
    if (outside.length > 0)
      problems.push(
        `replica numbers ${outside.join(', ')} are out of range: the workflow runs replicas 0 to ${asked.replicas - 1}`,
      );
    const agreeing = listed.replicas.filter((r) => r.outputDigest === step.outputDigest);
    // Principals, not keys: one party with many worker keys agrees once (src/attest/quorum.ts).
    const counted = countAgreement(agreeing);
    const agreement = `${agreeing.length} of ${listed.replicas.length} replicas: ${describeAgreement(counted)} agree; quorum ${asked.quorum}`;
    if (step.status === 'completed' && counted.count < asked.quorum) problems.push(`only ${agreement}`);
    const summary =
      step.status === 'completed'
        ? agreement
        : `${step.status} with ${listed.replicas.length} of ${asked.replicas} replicas reported`;
    checks.expect(name, problems.length === 0, summary, problems.join('; '));
  }
}

/** The step ran or was skipped for the reason the workflow gives: its condition, or a skipped upstream step. */
async function checkDecision(
  stepId: string,
  actual: 'completed' | 'skipped',
  stepPlan: WorkflowPlan['steps'] extends ReadonlyMap<string, infer P> ? P : never,
  context: EvaluationContext,
  status: ReadonlyMap<string, string>,
  checks: Checks,
  evaluator: ExpressionEvaluator,
): Promise<void> {
  let shouldRun: boolean;
  let why: string;
  if (stepPlan.when !== undefined) {
    try {
      shouldRun = await evaluateCondition(stepPlan, context, evaluator);
      why = `its when condition is ${shouldRun}`;
    } catch (error) {
      checks.fail(`condition.${stepId}`, `its when condition fails on the upstream data: ${describeError(error)}`);
      return;
    }
  } else {
    const skipped = stepPlan.deps.find((d) => status.get(d) === 'skipped');
    shouldRun = skipped === undefined;
    why = skipped === undefined ? 'none of its dependencies was skipped' : `its dependency ${skipped} was skipped`;
  }
  if (stepPlan.when === undefined && shouldRun && actual === 'completed') return;
  checks.expect(
    `condition.${stepId}`,
    shouldRun === (actual === 'completed'),
    `${actual}: ${why}`,
    `the step is ${actual}, but ${why}`,
  );
}

async function checkResult(
  plan: WorkflowPlan,
  inputs: unknown,
  views: ReadonlyMap<string, StepView>,
  predicate: ExecutionPredicate,
  checks: Checks,
  evaluator: ExpressionEvaluator,
): Promise<void> {
  try {
    const result = await computeResult(plan.outputs, plan.lastStepId, inputs, views, evaluator);
    const digest = safeDigest(result);
    checks.expect(
      'data.result',
      digest === predicate.resultDigest,
      'the outputs mapping gives the result the receipt names',
      `the outputs mapping gives a result hashing to ${digest}, the receipt names ${predicate.resultDigest}`,
    );
  } catch (error) {
    checks.fail('data.result', `the outputs mapping fails on the data: ${describeError(error)}`);
  }
}

/**
 * The step predicate of a step's attestation, only once the basic level found it signed and agreeing with
 * the receipt (its `attestation.<step>` check passed): nothing is read on an unsigned word.
 */
function signedPredicate(
  attestations: ReadonlyMap<string, Envelope>,
  stepId: string,
  attestationDigest: string | null,
  checks: Checks,
): StepPredicate | undefined {
  if (attestationDigest === null) return undefined;
  if (checks.list.find((c) => c.name === `attestation.${stepId}`)?.ok !== true) return undefined;
  const envelope = attestations.get(attestationDigest);
  if (envelope === undefined) return undefined;
  try {
    return readStatement(envelope, STEP_PREDICATE_TYPE, stepPredicateSchema).predicate;
  } catch {
    return undefined;
  }
}

function safeDigest(value: unknown): string | undefined {
  try {
    return jsonDigest(value);
  } catch {
    return undefined;
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
