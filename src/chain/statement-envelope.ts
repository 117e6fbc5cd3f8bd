import type { z } from 'zod';
import { envelopeSchema } from '../attest/bundle.js';
import { checkEnvelopeSignature } from '../attest/dsse.js';
import { keyIdOf, publicKeyFromPem } from '../attest/keys.js';
import { SETTLEMENT_PREDICATE_TYPE, settlementPredicateSchema } from '../attest/settlement/statement.js';
import type { SettlementPredicate } from '../attest/settlement/statement.js';
import { readStatement } from '../attest/statement.js';
import { ZK_PREDICATE_TYPE, zkPredicateSchema } from '../attest/zk/statement.js';
import type { ZkPredicate } from '../attest/zk/statement.js';
import { ChainError } from './errors.js';

/**
 * The predicate of a signed settlement statement (the `envelope` of a settlement as `verity market run --json`
 * or the API shows it to the buyer), once the coordinator's key is checked to have signed it. The attestor
 * signs on-chain payouts only for statements its own coordinator issued: without this check whoever hands
 * the CLI a file would choose which accounts the escrow pays and how much (the accounts' addresses are still
 * the caller's word until principals bind addresses). Throws ChainError('untrusted_statement').
 */
export function readSettlementEnvelope(
  envelope: unknown,
  coordinatorPublicKeyPem: string,
): Promise<SettlementPredicate> {
  return readCoordinatorStatement(
    envelope,
    coordinatorPublicKeyPem,
    SETTLEMENT_PREDICATE_TYPE,
    settlementPredicateSchema,
    'settlement',
  );
}

/**
 * The predicate of a zk statement (a bundle's `zk.statement`), once the coordinator's key is checked to have
 * signed it: the attestor signs the result digest it names into a zk settlement, so it must be its own
 * coordinator's word, not the file's. Throws ChainError('untrusted_statement').
 */
export function readZkEnvelope(envelope: unknown, coordinatorPublicKeyPem: string): Promise<ZkPredicate> {
  return readCoordinatorStatement(envelope, coordinatorPublicKeyPem, ZK_PREDICATE_TYPE, zkPredicateSchema, 'zk');
}

async function readCoordinatorStatement<S extends z.ZodType>(
  envelope: unknown,
  coordinatorPublicKeyPem: string,
  predicateType: string,
  predicateSchema: S,
  what: string,
): Promise<z.output<S>> {
  const parsed = envelopeSchema.safeParse(envelope);
  if (!parsed.success) throw new ChainError('untrusted_statement', `the ${what} statement is not a DSSE envelope`);
  const publicKey = publicKeyFromPem(coordinatorPublicKeyPem);
  const keyId = keyIdOf(publicKey);
  const signature = await checkEnvelopeSignature(parsed.data, keyId, publicKey);
  if (!signature.ok) {
    throw new ChainError(
      'untrusted_statement',
      `the ${what} statement is not signed by this coordinator's key ${keyId}: ${signature.reason}`,
      { context: { keyId } },
    );
  }
  try {
    return readStatement(parsed.data, predicateType, predicateSchema).predicate;
  } catch (error) {
    throw new ChainError(
      'untrusted_statement',
      `the envelope is not a ${what} statement: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}
