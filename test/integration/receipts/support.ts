import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { expect } from 'vitest';
import { fromBase64, fromHex, toBase64, toHex, utf8 } from '../../../src/attest/bytes.js';
import type { Bundle } from '../../../src/attest/bundle.js';
import { canonicalJson } from '../../../src/attest/canonical.js';
import { formatCheckpoint, signNote } from '../../../src/attest/checkpoint.js';
import { sha256 } from '../../../src/attest/digest.js';
import { signEnvelope } from '../../../src/attest/dsse.js';
import type { Envelope } from '../../../src/attest/dsse.js';
import { leafHash, merkleRoot } from '../../../src/attest/merkle.js';
import type { ExecutionPredicate, Statement, StepPredicate } from '../../../src/attest/statement.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import type { Check, VerificationLevel, VerificationReport } from '../../../src/attest/verify/report.js';
import type { LocalSigner } from '../../../src/keys/local-signer.js';
import { buildBundle } from '../../../src/receipts/bundle.js';
import type { TestNode } from '../../support/node.js';
import { sandbox } from '../../support/evaluator.js';

/** Helpers shared by the receipt tamper tests: fixtures from real executions, and ways to change them. */

export const EXAMPLES = [
  'linear',
  'fan-out',
  'conditional',
  'flaky',
  'fifty-steps',
  'review-sentiment',
  'train-and-classify',
  'document-intelligence',
] as const;

export function example(name: string): { definition: unknown; input: unknown } {
  const root = new URL(`../../../examples/${name}/`, import.meta.url);
  return {
    definition: parseYaml(readFileSync(new URL('workflow.yaml', root), 'utf8')) as unknown,
    input: JSON.parse(readFileSync(new URL('input.json', root), 'utf8')) as unknown,
  };
}

/** Runs a bundled example to its end and returns its execution id. */
export async function runExample(t: TestNode, name: string): Promise<string> {
  const { definition, input } = example(name);
  const view = await t.run(definition, input);
  expect(view.status).toBe('completed');
  return view.executionId;
}

export function bundleOf(t: TestNode, executionId: string, includeData = true): Promise<Bundle> {
  return buildBundle(t.node.store, t.node.log, executionId, { includeData });
}

export function verify(
  bundle: unknown,
  trusted: readonly (string | Uint8Array)[],
  level: VerificationLevel = 'basic',
): Promise<VerificationReport> {
  return verifyBundle(bundle, { trustedKeys: trusted, level, evaluator: sandbox() });
}

export function failed(report: VerificationReport): Check[] {
  return report.checks.filter((c) => !c.ok);
}

export function failedNames(report: VerificationReport): string[] {
  return failed(report).map((c) => c.name);
}

/** The bundle verifies: every check passed, and there were checks. */
export function expectVerified(report: VerificationReport): void {
  expect(report.unusable).toBeUndefined();
  expect(failed(report)).toEqual([]);
  expect(report.checks.length).toBeGreaterThan(0);
  expect(report.ok).toBe(true);
}

/**
 * The bundle is rejected for the right reason: it was readable, the report is not ok, and each named
 * check failed, with a message matching its pattern where one is given.
 */
export function expectRejected(report: VerificationReport, expected: Record<string, RegExp | null>): void {
  expect(report.unusable).toBeUndefined();
  expect(report.ok).toBe(false);
  const failures = failed(report);
  for (const [name, pattern] of Object.entries(expected)) {
    const check = failures.find((c) => c.name === name);
    expect(check, `expected check ${name} to fail; failed: ${JSON.stringify(failures)}`).toBeDefined();
    if (pattern) expect(check!.message).toMatch(pattern);
  }
}

/**
 * The receipt's signature failed, and nothing past it was looked at: on the word of a statement no trusted
 * key signed, no attestation, log proof, expression or proof is checked (the verifier's first rule).
 */
export function expectStoppedAtSignature(report: VerificationReport, pattern: RegExp): void {
  expect(report.unusable).toBeUndefined();
  expect(report.ok).toBe(false);
  const signature = report.checks.find((c) => c.name === 'receipt.signature');
  expect(signature?.ok).toBe(false);
  expect(signature!.message).toMatch(pattern);
  expect(
    report.checks.map((c) => c.name).filter((n) => n !== 'receipt.signature' && n !== 'receipt.statement'),
  ).toEqual([]);
}

/** The named checks passed (to show a tamper was caught by the rule meant to catch it, not by accident). */
export function expectPassed(report: VerificationReport, names: readonly string[]): void {
  for (const name of names) {
    const check = report.checks.find((c) => c.name === name);
    expect(check, `expected check ${name} to be present`).toBeDefined();
    expect(check!.ok, `expected check ${name} to pass: ${check!.message}`).toBe(true);
  }
}

export const clone = <T>(value: T): T => structuredClone(value);

// ----------------------------------------------------------------------------------------------------
// Envelopes

export function decode<P>(envelope: Envelope): Statement<P> {
  return JSON.parse(new TextDecoder().decode(fromBase64(envelope.payload))) as Statement<P>;
}

export const receiptOf = (bundle: Bundle): Statement<ExecutionPredicate> => decode<ExecutionPredicate>(bundle.receipt);
export const attestationOf = (envelope: Envelope): Statement<StepPredicate> => decode<StepPredicate>(envelope);

/** The canonical base64 of a statement's canonical JSON: what a signer would write. */
export const encode = (statement: unknown): string => toBase64(utf8(canonicalJson(statement)));

export function resign(payloadType: string, statement: unknown, signer: LocalSigner): Envelope {
  return signEnvelope(payloadType, utf8(canonicalJson(statement)), signer);
}

/** Changes one byte of a base64 value (XOR 0x01 at `index`), re-encoded canonically. */
export function flipBase64Byte(text: string, index = 0): string {
  const bytes = fromBase64(text);
  bytes[index] = bytes[index]! ^ 0x01;
  return toBase64(bytes);
}

/** Changes one hex digit (the `index`-th) to another hex digit. */
export function flipHex(hex: string, index = 0): string {
  const c = hex[index]!;
  return hex.slice(0, index) + (c === '0' ? '1' : '0') + hex.slice(index + 1);
}

export function attestationDigestOf(envelope: Envelope): string {
  return toHex(sha256(fromBase64(envelope.payload)));
}

export function stepsRoot(steps: readonly { attestationDigest: string | null }[]): string {
  return toHex(
    merkleRoot(steps.flatMap((s) => (s.attestationDigest === null ? [] : [leafHash(fromHex(s.attestationDigest))]))),
  );
}

// ----------------------------------------------------------------------------------------------------
// Forged receipts: the rules behind the coordinator's signature

export interface Forgery {
  bundle: Bundle;
  /** The keys to trust for the forgery: the forger's, and the real coordinator's with `log: 'real'`. */
  trusted: string[];
}

/**
 * Re-signs the receipt with `forger` after `change` edits its statement, and lists the forger as the
 * coordinator in `keys`. With `log: 'forged'` (default) the forger also writes a one-leaf log with its own
 * checkpoint, and only the forger is trusted, so that every signature and the log verify and the
 * structural rules alone must catch the change. With `log: 'real'` the bundle keeps the real log and both
 * keys are trusted: the log then shows that the receipt is not the one that was logged.
 */
export function forgeReceipt(
  original: Bundle,
  forger: LocalSigner,
  realCoordinatorPem: string,
  change: (statement: Statement<ExecutionPredicate>, bundle: Bundle) => void,
  options: { log?: 'forged' | 'real'; recomputeRoot?: boolean } = {},
): Forgery {
  const bundle = clone(original);
  const statement = receiptOf(bundle);
  const coordinator = bundle.receipt.signatures[0]!.keyid;
  change(statement, bundle);
  if (options.recomputeRoot) statement.predicate.stepsRoot = stepsRoot(statement.predicate.steps);
  bundle.receipt = resign(bundle.receipt.payloadType, statement, forger);
  bundle.keys = bundle.keys.map((k) =>
    k.keyid === coordinator ? { keyid: forger.keyId, role: 'coordinator', publicKeyPem: forger.publicKeyPem } : k,
  );
  if (options.log === 'real') return { bundle, trusted: [forger.publicKeyPem, realCoordinatorPem] };
  const root = leafHash(sha256(fromBase64(bundle.receipt.payload)));
  const body = formatCheckpoint({ origin: bundle.tlog.origin, size: 1, rootHash: root, extensions: [] });
  bundle.tlog = {
    origin: bundle.tlog.origin,
    logIndex: 0,
    treeSize: 1,
    inclusionProof: [],
    checkpoint: signNote(body, bundle.tlog.origin, forger.publicKey, (m) => forger.sign(m)),
  };
  return { bundle, trusted: [forger.publicKeyPem] };
}

/** The receipt step named `stepId` (throws if there is none, so a test cannot pass on a missing step). */
export function stepOf(statement: Statement<ExecutionPredicate>, stepId: string): ExecutionPredicate['steps'][number] {
  const step = statement.predicate.steps.find((s) => s.stepId === stepId);
  if (!step) throw new Error(`no step ${stepId} in the receipt`);
  return step;
}

/** The index in `bundle.attestations` of the attestation of `stepId`. */
export function attestationIndex(bundle: Bundle, stepId: string): number {
  const index = bundle.attestations.findIndex((a) => attestationOf(a).predicate.stepId === stepId);
  if (index < 0) throw new Error(`no attestation of step ${stepId}`);
  return index;
}
