import { z } from 'zod';
import { fromUtf8, utf8 } from './bytes.js';
import { canonicalJson } from './canonical.js';
import { IN_TOTO_PAYLOAD_TYPE, checkEnvelopeSignature, envelopeDigest, envelopePayload } from './dsse.js';
import type { Envelope, SignatureVerifier } from './dsse.js';
import { AttestError } from './errors.js';
import { zkPublicSchema } from './zk/public.js';

/**
 * The statements Verity signs: in-toto Statement v1 with a predicate of this project's own, one per job
 * (the step attestation, signed by the worker) and one per execution (the receipt, signed by the
 * coordinator). docs/receipts.md describes them field by field.
 */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const STEP_PREDICATE_TYPE = 'https://verity.dev/attestation/step/v1';
export const EXECUTION_PREDICATE_TYPE = 'https://verity.dev/attestation/execution/v1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const isoTime = z.iso.datetime({ offset: false });
const count = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const fieldString = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a field element as a decimal string');

const subjectSchema = z.strictObject({ name: z.string().min(1), digest: z.strictObject({ sha256: hex64 }) });

const statementShape = z.strictObject({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(subjectSchema).length(1),
  predicateType: z.string(),
  predicate: z.unknown(),
});

export const stepPredicateSchema = z.strictObject({
  executionId: z.string().min(1),
  workflowDigest: hex64,
  stepId: z.string().min(1),
  attempt: z.int().min(1),
  jobId: z.string().min(1),
  jobNonce: z.string().min(1),
  inputDigest: hex64,
  outputDigest: hex64,
  model: z
    .strictObject({ name: z.string().min(1), version: z.string().nullable(), digest: hex64.nullable() })
    .nullable(),
  executor: z.string().min(1),
  workerId: z.string().min(1),
  workerKeyId: hex64,
  startedAt: isoTime,
  finishedAt: isoTime,
  usage: z.record(z.string(), z.number()),
  cost: count,
  /**
   * At verification level zk: the worker's Baby Jubjub key and its EdDSA-Poseidon signature over the step
   * leaf (src/attest/zk/chain.ts), which the proofs check inside the circuit.
   */
  zk: z
    .strictObject({
      publicKey: z.strictObject({ x: fieldString, y: fieldString }),
      signature: z.strictObject({ r8x: fieldString, r8y: fieldString, s: fieldString }),
    })
    .optional(),
  /**
   * For a `builtin/http` step: the URL the worker called (normalized, with its query), the method, the
   * response status, and the SHA-256 of the exact request body bytes sent and response body bytes received.
   * Absent for every other step, and in attestations from before HTTP steps.
   */
  http: z
    .strictObject({
      // Printable only: reports show it, and a terminal must not take it for control sequences.
      url: z
        .string()
        .min(1)
        .max(16_384)
        .refine((url) => ![...url].some((c) => c < ' ' || (c >= '\u007f' && c <= '\u009f')), {
          error: 'must have no control characters',
        }),
      method: z.string().regex(/^[A-Z]{1,16}$/, 'must be an HTTP method in capitals'),
      status: z.int().min(100).max(999),
      requestDigest: hex64,
      responseDigest: hex64,
    })
    .optional(),
});

/** A workflow has at most 10,000 steps (the definition schema's limit): no receipt lists more. */
export const MAX_RECEIPT_STEPS = 10_000;

export const RECEIPT_STEP_STATUSES = ['completed', 'skipped', 'failed', 'cancelled', 'not_run'] as const;

/** One replica's attested result of a redundant step's final attempt. */
export const receiptReplicaSchema = z.strictObject({
  replica: count,
  jobId: z.string().min(1),
  workerKeyId: hex64,
  /**
   * Whom the worker that ran the replica speaks for (the API key principal that registered it, or
   * `node:…` for a node's in-process workers), as the coordinator recorded it: quorums count these.
   */
  principal: z.string().min(1).max(200),
  outputDigest: hex64,
  attestationDigest: hex64,
  /**
   * The cost the replica's attestation states (integer micro-units), copied so that the receipt's signature
   * covers what each counted attestation is paid (src/attest/counted.ts). Absent in receipts issued before
   * per-step costs.
   */
  cost: count.optional(),
});

/**
 * The replicas of a redundant step (`redundancy: { replicas, quorum }` in its definition): every attested
 * replica result of the step's final attempt, in replica order. Absent for a step that runs once, so the
 * receipts of workflows without redundancy are unchanged.
 */
export const receiptRedundancySchema = z.strictObject({
  quorum: z.int().min(1),
  replicas: z.array(receiptReplicaSchema).min(1),
});

export const receiptStepSchema = z.strictObject({
  stepId: z.string().min(1),
  status: z.enum(RECEIPT_STEP_STATUSES),
  attempt: count,
  jobId: z.string().min(1).nullable(),
  inputDigest: hex64.nullable(),
  outputDigest: hex64.nullable(),
  attestationDigest: hex64.nullable(),
  workerKeyId: hex64.nullable(),
  /**
   * The cost the step's attestation states (integer micro-units; for a redundant step, its primary
   * replica's), null when the step has no attestation. Absent in receipts issued before per-step costs.
   */
  cost: count.nullable().optional(),
  /**
   * Whom the worker that ran the step speaks for, as the coordinator recorded it at assignment (the API key
   * principal that registered it, or `node:…` for in-process workers), like a replica's `principal`: a
   * settlement pays the step's cost to the account of this principal. Null when the step has no attestation;
   * absent in receipts issued before per-step costs.
   */
  principal: z.string().min(1).max(200).nullable().optional(),
  redundancy: receiptRedundancySchema.optional(),
});

export const executionPredicateSchema = z.strictObject({
  executionId: z.string().min(1),
  revision: z.int().min(1),
  workflow: z.strictObject({ id: z.string().min(1), version: z.int().min(1), digest: hex64 }),
  clientId: z.string().min(1),
  inputDigest: hex64,
  resultDigest: hex64,
  status: z.enum(['completed', 'failed', 'cancelled', 'timed_out', 'budget_exceeded']),
  startedAt: isoTime,
  completedAt: isoTime,
  /**
   * The sum of the costs of the counted attestations (src/attest/counted.ts): what the workers signed, not
   * the engine's own accounting (which also holds failed attempts nobody attested). Before per-step costs,
   * it was the engine's.
   */
  totalCost: count,
  budget: count,
  verificationLevel: z.enum(['basic', 'full', 'zk']),
  error: z.strictObject({ code: z.string(), message: z.string() }).nullable(),
  steps: z.array(receiptStepSchema).max(MAX_RECEIPT_STEPS),
  stepsRoot: hex64,
  /** At level zk: the public values the proofs are checked against (src/attest/zk/statement.ts). */
  zk: zkPublicSchema.optional(),
});

export type StepPredicate = z.output<typeof stepPredicateSchema>;
export type ExecutionPredicate = z.output<typeof executionPredicateSchema>;
export type ReceiptStep = z.output<typeof receiptStepSchema>;
export type ReceiptRedundancy = z.output<typeof receiptRedundancySchema>;
export type ReceiptReplica = z.output<typeof receiptReplicaSchema>;

export interface Statement<P> {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: P;
}

export const stepSubjectName = (stepId: string) => `step/${stepId}/output`;
export const executionSubjectName = (executionId: string) => `execution/${executionId}/result`;

export function stepStatement(predicate: StepPredicate): Statement<StepPredicate> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: stepSubjectName(predicate.stepId), digest: { sha256: predicate.outputDigest } }],
    predicateType: STEP_PREDICATE_TYPE,
    predicate,
  };
}

export function executionStatement(predicate: ExecutionPredicate): Statement<ExecutionPredicate> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: executionSubjectName(predicate.executionId), digest: { sha256: predicate.resultDigest } }],
    predicateType: EXECUTION_PREDICATE_TYPE,
    predicate,
  };
}

/** The bytes that get signed: the statement's RFC 8785 canonical JSON, UTF-8. */
export function statementBytes(statement: Statement<unknown>): Uint8Array {
  return utf8(canonicalJson(statement));
}

/**
 * Reads and checks the statement inside an envelope: the in-toto payload type, canonical JSON, the
 * statement shape, the predicate type, and the predicate against its schema. Throws AttestError saying
 * what is wrong.
 */
export function readStatement<S extends z.ZodType>(
  envelope: Envelope,
  predicateType: string,
  predicateSchema: S,
): Statement<z.output<S>> {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new AttestError(
      'invalid_statement',
      `payloadType is "${envelope.payloadType}", expected "${IN_TOTO_PAYLOAD_TYPE}"`,
    );
  }
  const bytes = envelopePayload(envelope);
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch (error) {
    throw new AttestError('invalid_statement', 'the payload is not UTF-8 JSON', { cause: error });
  }
  // One statement, one encoding: a payload that is not canonical JSON was not written by Verity.
  if (canonicalJson(value) !== fromUtf8(bytes))
    throw new AttestError('invalid_statement', 'the payload is not canonical JSON (RFC 8785)');
  const shape = statementShape.safeParse(value);
  if (!shape.success)
    throw new AttestError('invalid_statement', `not an in-toto Statement v1: ${describe(shape.error)}`);
  if (shape.data.predicateType !== predicateType) {
    throw new AttestError(
      'invalid_statement',
      `predicateType is "${shape.data.predicateType}", expected "${predicateType}"`,
    );
  }
  const predicate = predicateSchema.safeParse(shape.data.predicate);
  if (!predicate.success)
    throw new AttestError('invalid_statement', `the predicate is malformed: ${describe(predicate.error)}`);
  return { ...shape.data, _type: STATEMENT_TYPE, predicate: predicate.data };
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** What a step attestation must say, as far as the checker knows it. */
export interface ExpectedStep {
  executionId: string;
  workflowDigest: string;
  stepId: string;
  attempt: number;
  jobId: string;
  workerKeyId: string;
  inputDigest?: string;
  outputDigest?: string;
  jobNonce?: string;
  workerId?: string;
  /** The attestation digest the receipt committed to. */
  attestationDigest?: string;
}

export interface StepAttestationCheck {
  ok: boolean;
  /** Each way the attestation differs from what was expected; empty when ok. */
  problems: string[];
  predicate?: StepPredicate;
  digest?: string;
}

/**
 * Everything a step attestation must satisfy: signed by the named worker key, a well-formed statement
 * about this step, and every field the checker knows agreeing with it. The coordinator runs this before
 * accepting a result; the verifier runs it for every step of a bundle.
 */
export async function checkStepAttestation(
  envelope: Envelope,
  publicKey: Uint8Array,
  expected: ExpectedStep,
  verify?: SignatureVerifier,
): Promise<StepAttestationCheck> {
  const signature = await checkEnvelopeSignature(envelope, expected.workerKeyId, publicKey, verify);
  const statement = checkStepStatement(envelope, expected);
  const problems = [...(signature.ok ? [] : [signature.reason]), ...statement.problems];
  return { ...statement, ok: problems.length === 0, problems };
}

/**
 * Everything but the signature: a well-formed step statement agreeing with every field the checker knows.
 * Lets the coordinator check the signature on another thread while it does the rest.
 */
export function checkStepStatement(envelope: Envelope, expected: ExpectedStep): StepAttestationCheck {
  const problems: string[] = [];
  let statement: Statement<StepPredicate>;
  try {
    statement = readStatement(envelope, STEP_PREDICATE_TYPE, stepPredicateSchema);
  } catch (error) {
    return { ok: false, problems: [(error as Error).message] };
  }
  const p = statement.predicate;
  const digest = envelopeDigest(envelope);
  const compare = (field: string, actual: unknown, want: unknown) => {
    if (want !== undefined && actual !== want)
      problems.push(`${field} is ${JSON.stringify(actual)}, expected ${JSON.stringify(want)}`);
  };
  compare('executionId', p.executionId, expected.executionId);
  compare('workflowDigest', p.workflowDigest, expected.workflowDigest);
  compare('stepId', p.stepId, expected.stepId);
  compare('attempt', p.attempt, expected.attempt);
  compare('jobId', p.jobId, expected.jobId);
  compare('workerKeyId', p.workerKeyId, expected.workerKeyId);
  compare('inputDigest', p.inputDigest, expected.inputDigest);
  compare('outputDigest', p.outputDigest, expected.outputDigest);
  compare('jobNonce', p.jobNonce, expected.jobNonce);
  compare('workerId', p.workerId, expected.workerId);
  compare('the attestation digest', digest, expected.attestationDigest);
  const subject = statement.subject[0]!;
  compare('the subject name', subject.name, stepSubjectName(p.stepId));
  compare('the subject digest', subject.digest.sha256, p.outputDigest);
  return { ok: problems.length === 0, problems, predicate: p, digest };
}
