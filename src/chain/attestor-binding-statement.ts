import { z } from 'zod';
import type { BundleTlog } from '../attest/bundle.js';
import { jsonDigest } from '../attest/digest.js';
import { STATEMENT_TYPE } from '../attest/statement.js';
import type { Statement } from '../attest/statement.js';
import { chainIdSchema, checksummedAddress, expectField, isoTime, verifyBindingStatement } from './binding-checks.js';
import type { BindingVerification } from './binding-checks.js';

/**
 * The attestor-binding statement: the coordinator's Ed25519 key (the receipts' trust root) says which
 * secp256k1 attestor key signs its settlements on one deployment (chain, token, escrow). Whoever trusts the
 * coordinator key learns from it, offline, which on-chain attestor speaks for this coordinator, without
 * trusting a deployment file or an RPC node. docs/chain.md, "Binding keys and names".
 */
export const ATTESTOR_BINDING_PREDICATE_TYPE = 'https://verity.dev/attestation/chain-attestor/v1';

export const attestorBindingPredicateSchema = z.strictObject({
  chainId: chainIdSchema,
  attestor: checksummedAddress,
  token: checksummedAddress,
  settlement: checksummedAddress,
  boundAt: isoTime,
});

export type AttestorBindingPredicate = z.output<typeof attestorBindingPredicateSchema>;

/** The deployment a binding is about: what makes two statements about the same thing. */
export type AttestorBindingKey = Omit<AttestorBindingPredicate, 'boundAt'>;

export const attestorBindingSubjectName = (chainId: number): string => `chain:${chainId}`;

/**
 * The subject's digest: SHA-256 of the canonical deployment (chain id, attestor, token, escrow), without
 * `boundAt`, so every statement about one deployment names the same subject.
 */
export function attestorBindingSubjectDigest(key: AttestorBindingKey): string {
  return jsonDigest({ chainId: key.chainId, attestor: key.attestor, token: key.token, settlement: key.settlement });
}

export function attestorBindingStatement(predicate: AttestorBindingPredicate): Statement<AttestorBindingPredicate> {
  return {
    _type: STATEMENT_TYPE,
    subject: [
      {
        name: attestorBindingSubjectName(predicate.chainId),
        digest: { sha256: attestorBindingSubjectDigest(predicate) },
      },
    ],
    predicateType: ATTESTOR_BINDING_PREDICATE_TYPE,
    predicate,
  };
}

/**
 * Checks an attestor-binding statement against trusted coordinator keys (keyid → Ed25519 public key), and
 * each field against what the caller expects of it (a field not expected is skipped). With `tlog`, also its
 * place in the transparency log. Checks are named `attestor-binding.<rule>`; never throws.
 */
export function verifyAttestorBinding(
  envelope: unknown,
  trusted: ReadonlyMap<string, Uint8Array>,
  expected: Partial<AttestorBindingKey> = {},
  tlog?: BundleTlog,
): Promise<BindingVerification<AttestorBindingPredicate>> {
  const label = 'attestor-binding';
  return verifyBindingStatement(envelope, trusted, {
    label,
    what: 'the attestor-binding statement',
    predicateType: ATTESTOR_BINDING_PREDICATE_TYPE,
    predicateSchema: attestorBindingPredicateSchema,
    tlog,
    fields: (statement, checks) => {
      const p = statement.predicate;
      const subject = statement.subject[0]!;
      const name = attestorBindingSubjectName(p.chainId);
      const digest = attestorBindingSubjectDigest(p);
      checks.expect(
        `${label}.subject`,
        subject.name === name && subject.digest.sha256 === digest,
        `names ${name} by the digest of its deployment`,
        `the subject is ${subject.name} ${subject.digest.sha256}, expected ${name} ${digest}`,
      );
      expectField(checks, `${label}.chainId`, p.chainId, expected.chainId);
      expectField(checks, `${label}.attestor`, p.attestor, expected.attestor);
      expectField(checks, `${label}.token`, p.token, expected.token);
      expectField(checks, `${label}.settlement`, p.settlement, expected.settlement);
    },
  });
}
