import { getAddress, recoverTypedDataAddress } from 'viem';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import type { BundleTlog } from '../attest/bundle.js';
import { jsonDigest } from '../attest/digest.js';
import { STATEMENT_TYPE } from '../attest/statement.js';
import { chainIdSchema, checksummedAddress, expectField, isoTime, verifyBindingStatement } from './binding-checks.js';
import type { BindingVerification } from './binding-checks.js';
import { SETTLEMENT_DOMAIN_NAME, addressBindingMessage, addressBindingTypedData, verityDomain } from './typed-data.js';
import type { Statement } from '../attest/statement.js';

/**
 * The address-binding statement: the coordinator records that the key of `address` signed
 * `AddressBinding(keccak256(principal), address)` in the escrow's EIP-712 domain, so the escrow may pay the
 * ledger account `principal` there. The account's own signature travels in it: anyone can check that the
 * address agreed, and that the coordinator did not bind an address on its own. docs/chain.md.
 */
export const ADDRESS_BINDING_PREDICATE_TYPE = 'https://verity.dev/attestation/address-binding/v1';

/** A 65-byte secp256k1 signature (r, s, v) as 0x and 130 hex digits: what wallets and viem produce. */
export const accountSignatureSchema = z
  .string()
  .max(132)
  .regex(/^0x[0-9a-f]{130}$/, 'must be a 65-byte signature: 0x and 130 lowercase hex digits');

export const addressBindingPredicateSchema = z.strictObject({
  /** The ledger account: a principal's name, or `sys:platform`. */
  principal: z.string().min(1).max(200),
  chainId: chainIdSchema,
  settlement: checksummedAddress,
  address: checksummedAddress,
  signature: accountSignatureSchema,
  boundAt: isoTime,
});

export type AddressBindingPredicate = z.output<typeof addressBindingPredicateSchema>;

export const addressBindingSubjectName = (chainId: number, principal: string): string =>
  `chain:${chainId}/account:${principal}`;

/** SHA-256 of the canonical binding (chain, escrow, account, address): the same for every statement of it. */
export function addressBindingSubjectDigest(
  p: Pick<AddressBindingPredicate, 'principal' | 'chainId' | 'settlement' | 'address'>,
): string {
  return jsonDigest({ chainId: p.chainId, settlement: p.settlement, principal: p.principal, address: p.address });
}

export function addressBindingStatement(predicate: AddressBindingPredicate): Statement<AddressBindingPredicate> {
  return {
    _type: STATEMENT_TYPE,
    subject: [
      {
        name: addressBindingSubjectName(predicate.chainId, predicate.principal),
        digest: { sha256: addressBindingSubjectDigest(predicate) },
      },
    ],
    predicateType: ADDRESS_BINDING_PREDICATE_TYPE,
    predicate,
  };
}

/** The typed data a principal's key signs to bind its address: what the CLI signs and the server recovers. */
export function addressBindingToSign(chainId: number, settlement: string, principal: string, address: string) {
  return addressBindingTypedData(
    verityDomain(SETTLEMENT_DOMAIN_NAME, chainId, settlement as Address),
    addressBindingMessage(principal, address),
  );
}

/** Who signed the binding of `address` to `principal`, or undefined for a signature nothing recovers from. */
export async function addressBindingSigner(
  chainId: number,
  settlement: string,
  principal: string,
  address: string,
  signature: string,
): Promise<Address | undefined> {
  try {
    const typed = addressBindingToSign(chainId, settlement, principal, address);
    return getAddress(await recoverTypedDataAddress({ ...typed, signature: signature as Hex }));
  } catch {
    return undefined;
  }
}

export interface AddressBindingExpectation {
  principal?: string;
  chainId?: number;
  settlement?: string;
  address?: string;
}

/**
 * Checks an address-binding statement against trusted coordinator keys, the account's signature in it
 * (it must recover to the bound address in the named escrow's domain), and each field against what the caller
 * expects (skipped when nothing is). Checks are named `address-binding.<rule>`; never throws.
 */
export function verifyAddressBinding(
  envelope: unknown,
  trusted: ReadonlyMap<string, Uint8Array>,
  expected: AddressBindingExpectation = {},
  tlog?: BundleTlog,
): Promise<BindingVerification<AddressBindingPredicate>> {
  const label = 'address-binding';
  return verifyBindingStatement(envelope, trusted, {
    label,
    what: 'the address-binding statement',
    predicateType: ADDRESS_BINDING_PREDICATE_TYPE,
    predicateSchema: addressBindingPredicateSchema,
    tlog,
    fields: async (statement, checks) => {
      const p = statement.predicate;
      const subject = statement.subject[0]!;
      const name = addressBindingSubjectName(p.chainId, p.principal);
      const digest = addressBindingSubjectDigest(p);
      checks.expect(
        `${label}.subject`,
        subject.name === name && subject.digest.sha256 === digest,
        `names ${name} by the digest of its binding`,
        `the subject is ${subject.name} ${subject.digest.sha256}, expected ${name} ${digest}`,
      );
      const signer = await addressBindingSigner(p.chainId, p.settlement, p.principal, p.address, p.signature);
      checks.expect(
        `${label}.account-signature`,
        signer === p.address,
        `${p.address} signed the binding to ${p.principal} on chain ${p.chainId}`,
        signer === undefined
          ? 'the account signature recovers to no address'
          : `the account signature recovers to ${signer}, not to the bound ${p.address}`,
      );
      expectField(checks, `${label}.principal`, p.principal, expected.principal);
      expectField(checks, `${label}.chainId`, p.chainId, expected.chainId);
      expectField(checks, `${label}.settlement`, p.settlement, expected.settlement);
      expectField(checks, `${label}.address`, p.address, expected.address);
    },
  });
}
