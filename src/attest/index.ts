/**
 * `verity/verify`: everything needed to check a Verity bundle offline, and nothing that executes a
 * workflow. Browser-safe (no Node built-ins, no database driver, no server, no model runtime), so the
 * dashboard and third parties import exactly this; the CLI and the API run the same code.
 *
 * What it is made of, and why that is all (eslint.config.js enforces it, test/integration/verifier-
 * portability.test.ts bundles this file for the browser and lists what it pulls in):
 * - src/attest/: formats, canonical JSON, digests, DSSE, statements, Merkle proofs, checkpoints, the zk
 *   statement and public-signal logic (src/attest/zk/), and the verifier (src/attest/verify/).
 * - Level full re-runs the workflow's plan, so it also needs the workflow model (types, graph, plan,
 *   expression analysis, context resolution in src/workflow/) and the expression evaluator's interface,
 *   fast path and plain-JSON conversion (src/expressions/). Those files are pure already and are used by
 *   the engine too; they stay in their folders, declared part of this leaf by name in eslint.config.js,
 *   rather than being moved here and dragging the engine's imports after them.
 * - Level full evaluates a bundle's expressions in an evaluator the caller passes (`VerifyOptions.evaluator`):
 *   a WebWorkerEvaluator in a browser, with `verity/verify/expression-worker` as its worker script; in Node,
 *   ProcessEvaluator from the main entry (it forks, so it cannot be here). InlineEvaluator runs them in the
 *   calling thread, without a time limit that can stop a runaway expression: for tests and trusted input.
 * - Level zk loads snarkjs (Groth16) and poseidon-lite on first use only, so basic and full never pay for
 *   them; both ship browser builds. ZkError is defined in src/attest/zk/errors.ts because the circuit's
 *   parameters and field encodings throw it; the proving side (src/zk/) imports it from there, so the zk
 *   part keeps one error class.
 */

// Verification
export { verifyBundle } from './verify/verify-bundle.js';
export type { VerifyOptions } from './verify/verify-bundle.js';
export type { Check, VerificationLevel, VerificationReport } from './verify/report.js';
export { DEFAULT_FULL_LIMITS } from './verify/full.js';
export type { FullLimits } from './verify/full.js';

// Where level full evaluates expressions
export { InlineEvaluator } from '../expressions/inline-evaluator.js';
export { WebWorkerEvaluator } from '../expressions/browser/web-worker-evaluator.js';
export type { WorkerLike } from '../expressions/browser/web-worker-evaluator.js';
export { DEFAULT_EXPRESSION_LIMITS, ExpressionError } from '../expressions/evaluator.js';
export type {
  EvaluateOptions,
  EvaluationFailure,
  EvaluationResult,
  ExpressionErrorCode,
  ExpressionEvaluator,
  ExpressionLimits,
} from '../expressions/evaluator.js';

// Bundles
export { BUNDLE_MEDIA_TYPE, ZK_BUNDLE_MEDIA_TYPE, bundleSchema, zkBundleSchema } from './bundle.js';
export type { Bundle, BundleKey, BundleTlog, BundleZk, ZkBundle } from './bundle.js';

// Canonical JSON, digests, bytes
export { canonicalJson } from './canonical.js';
export { jsonDigest, sha256, sha256Hex } from './digest.js';
export { fromBase64, fromHex, fromUtf8, toBase64, toHex, utf8 } from './bytes.js';

// Keys, signatures, DSSE envelopes
export { keyIdOf, publicKeyFromPem, publicKeyToPem } from './keys.js';
export { verifyEd25519 } from './ed25519.js';
export { IN_TOTO_PAYLOAD_TYPE, checkEnvelopeSignature, envelopeDigest, envelopePayload, pae } from './dsse.js';
export type { Envelope, EnvelopeSignature, SignatureCheck, SignatureVerifier } from './dsse.js';

// Statements
export {
  EXECUTION_PREDICATE_TYPE,
  STATEMENT_TYPE,
  STEP_PREDICATE_TYPE,
  executionPredicateSchema,
  executionSubjectName,
  readStatement,
  stepPredicateSchema,
  stepSubjectName,
} from './statement.js';
export type {
  ExecutionPredicate,
  ReceiptRedundancy,
  ReceiptReplica,
  ReceiptStep,
  Statement,
  StepPredicate,
} from './statement.js';
// What a receipt's money counts: the attestations paid for, their costs and whom they pay (src/attest/counted.ts)
export { countedAttestations, countedCost, paidAttestations, workerAccount } from './counted.js';
export type { CountedStep, CountedStepAttestation, PaidAttestation } from './counted.js';
export { ZK_PREDICATE_TYPE, zkPredicateSchema } from './zk/statement.js';
export type { ZkPredicate, ZkPublic } from './zk/statement.js';
export type { BatchProof, Groth16Proof, VerificationKey } from './zk/proof.js';

// Merkle proofs and log checkpoints
export {
  EMPTY_ROOT,
  leafHash,
  merkleRoot,
  nodeHash,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export { parseCheckpoint, parseNote, verifierKey, verifyNote } from './checkpoint.js';
export type { Checkpoint, NoteSignature } from './checkpoint.js';

// Marketplace settlements: the money arithmetic the verifier recomputes (src/attest/settlement/index.ts)
export {
  COMPUTE_ACCOUNT,
  EXTERNAL_ACCOUNT,
  OVER_QUOTA_POLICIES,
  PLATFORM_ACCOUNT,
  POSTING_REASONS,
  PRICING_MODELS,
  SETTLEMENT_OUTCOMES,
  SYSTEM_ACCOUNTS,
  SettlementError,
  TERMS_FIELD_NAMES,
  checkTerms,
  computeBudget,
  feeOf,
  holdOf,
  listingCanBeFree,
  minMarkupBps,
  normalizePostings,
  priceOf,
  quotaDecision,
  revisionDelta,
  settle,
  settlementPostings,
  settlementTermsSchema,
  statementTermsSchema,
  termsFromStatement,
  termsToStatement,
} from './settlement/index.js';
export type {
  BudgetInput,
  CountedAttestation,
  OverQuotaPolicy,
  Posting,
  PostingReason,
  PriceInput,
  PricingModel,
  QuotaDecision,
  RunPricing,
  Settlement,
  SettlementErrorCode,
  SettlementInput,
  SettlementOutcome,
  SettlementTerms,
  StatementTerms,
  SystemAccount,
} from './settlement/index.js';

// Errors
export { VerityError } from '../errors.js';
export { AttestError } from './errors.js';
export type { AttestErrorCode } from './errors.js';
