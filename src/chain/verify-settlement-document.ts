import { hashTypedData, recoverTypedDataAddress } from 'viem';
import type { Address } from 'viem';
import type { z } from 'zod';
import { envelopeSchema } from '../attest/bundle.js';
import type { BundleSettlement } from '../attest/bundle.js';
import { canonicalJson } from '../attest/canonical.js';
import { sha256, sha256Hex } from '../attest/digest.js';
import { envelopePayload } from '../attest/dsse.js';
import type { Envelope } from '../attest/dsse.js';
import { SETTLEMENT_PREDICATE_TYPE, settlementPredicateSchema } from '../attest/settlement/statement.js';
import { EXECUTION_PREDICATE_TYPE, executionPredicateSchema, readStatement } from '../attest/statement.js';
import { ZK_PREDICATE_TYPE, zkPredicateSchema } from '../attest/zk/statement.js';
import { checkLog } from '../attest/verify/basic.js';
import { checkCoordinatorStatement } from '../attest/verify/coordinator-statement.js';
import { Checks } from '../attest/verify/report.js';
import { trustedKeyMap } from '../attest/verify/trusted-keys.js';
import type { VerificationReport } from '../attest/verify/report.js';
import { verifyBundle } from '../attest/verify/verify-bundle.js';
import { verifyAddressBinding } from './address-binding-statement.js';
import { verifyAttestorBinding } from './attestor-binding-statement.js';
import type { BindingVerification } from './binding-checks.js';
import { chainSettlementDocumentSchema, settlementJson } from './settlement-document.js';
import type { ChainSettlementDocument } from './settlement-document.js';
import { settlementFromStatement } from './statement.js';
import { SETTLEMENT_DOMAIN_NAME, orderTypedData, settlementTypedData, verityDomain } from './typed-data.js';
import type { OrderMessage, SettlementMessage } from './typed-data.js';

/**
 * Checks an on-chain settlement document offline, with the coordinator's public key alone: every statement it
 * carries is signed by a trusted coordinator key and sits in the transparency log; the attestor's EIP-712
 * signature recovers to the attestor address the coordinator bound to this chain and contract; the buyer
 * signed the order; and the message is exactly what the settlement statement gives when each credited account
 * is paid at the address it bound: recomputed here, not read. Never throws; the report names each check.
 * Nothing but signature checks runs on statements no trusted key signed.
 */
export async function verifyChainSettlement(
  input: unknown,
  trustedKeys: readonly (string | Uint8Array)[],
): Promise<VerificationReport> {
  const level = 'basic' as const;
  const keys = trustedKeyMap(trustedKeys);
  if ('unusable' in keys) return { ok: false, level, unusable: keys.unusable, checks: [] };
  const { trusted } = keys;
  const parsed = chainSettlementDocumentSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      level,
      unusable: `not a chain settlement document: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
      checks: [],
    };
  }
  const doc = parsed.data as ChainSettlementDocument;
  const checks = new Checks();
  const facts = await signedFacts(doc, trusted, checks);
  if (facts) await checkMessages(doc, facts, checks);
  if (facts && doc.zk) await checkProofs(doc.zk, facts, trusted, checks);
  return {
    ok: checks.ok && facts !== undefined,
    level,
    ...(facts && {
      executionId: facts.receipt.executionId,
      workflow: facts.receipt.workflow,
      status: facts.receipt.status,
    }),
    checks: checks.list,
  };
}

/** A signed statement and its log entry, under the checks' common prefix. */
async function logged<S extends z.ZodType>(
  part: BundleSettlement | { envelope: Envelope; tlog: BundleSettlement['tlog'] },
  label: string,
  what: string,
  predicateType: string,
  schema: S,
  trusted: ReadonlyMap<string, Uint8Array>,
  checks: Checks,
): Promise<z.output<S> | undefined> {
  const envelope = 'envelope' in part ? part.envelope : part.statement;
  const statement = await checkCoordinatorStatement(
    envelope,
    trusted,
    checks,
    { signature: `${label}.signature`, statement: `${label}.statement`, what },
    predicateType,
    schema,
  );
  if (!statement) return undefined;
  await checkLog(part.tlog, sha256(envelopePayload(envelope)), trusted, checks, {
    checkpoint: `${label}.checkpoint`,
    inclusion: `${label}.inclusion`,
    what,
  });
  return statement.predicate;
}

type Facts = NonNullable<Awaited<ReturnType<typeof signedFacts>>>;

/** The coordinator's signed word: the receipt, the settlement statement, the attestor's and payees' bindings. */
async function signedFacts(doc: ChainSettlementDocument, trusted: ReadonlyMap<string, Uint8Array>, checks: Checks) {
  const receipt = await logged(
    doc.receipt,
    'receipt',
    'the receipt',
    EXECUTION_PREDICATE_TYPE,
    executionPredicateSchema,
    trusted,
    checks,
  );
  const statement = await logged(
    doc.statement,
    'statement',
    'the settlement statement',
    SETTLEMENT_PREDICATE_TYPE,
    settlementPredicateSchema,
    trusted,
    checks,
  );
  const attestor = adopt(
    await verifyAttestorBinding(doc.attestor.statement, trusted, {}, doc.attestor.tlog),
    'attestor-binding',
    'attestor',
    checks,
  );
  if (!receipt || !statement || !attestor) return undefined;
  const receiptDigest = sha256Hex(envelopePayload(doc.receipt.envelope));
  checks.expect(
    'statement.receipt',
    statement.receiptDigest === receiptDigest && statement.executionId === receipt.executionId,
    `the statement settles revision ${statement.revision} of execution ${statement.executionId}, this receipt`,
    `the statement names receipt ${statement.receiptDigest} of execution ${statement.executionId}, not this one (${receiptDigest} of ${receipt.executionId})`,
  );
  const addresses = new Map<string, Address>();
  for (const [i, part] of doc.payees.entries()) {
    // Each binding is for the attestor's chain and escrow, and carries the bound account's own signature.
    const binding = adopt(
      await verifyAddressBinding(
        part.statement,
        trusted,
        { chainId: attestor.chainId, settlement: attestor.settlement },
        part.tlog,
      ),
      'address-binding',
      `payee.${i + 1}`,
      checks,
    );
    if (!binding) return undefined;
    addresses.set(binding.principal, binding.address as Address);
  }
  return { receipt, receiptDigest, statement, attestor, addresses };
}

/** The EIP-712 side: who signed what, and that the message is the statement's payouts. */
async function checkMessages(doc: ChainSettlementDocument, facts: Facts, checks: Checks): Promise<void> {
  const domain = verityDomain(SETTLEMENT_DOMAIN_NAME, facts.attestor.chainId, facts.attestor.settlement as Address);
  const order: OrderMessage = doc.order.message;
  const message: SettlementMessage = doc.settlement.message;
  const payer = await recovered(() =>
    recoverTypedDataAddress({ ...orderTypedData(domain, order), signature: doc.order.signature as `0x${string}` }),
  );
  checks.expect(
    'order.signature',
    payer !== undefined && sameAddress(payer, order.payer),
    `the order is signed by its payer ${order.payer}`,
    `the order's signature recovers to ${payer ?? 'nothing'}, not its payer ${order.payer}`,
  );
  const signer = await recovered(() =>
    recoverTypedDataAddress({
      ...settlementTypedData(domain, message),
      signature: doc.settlement.signature as `0x${string}`,
    }),
  );
  checks.expect(
    'settlement.signature',
    signer !== undefined && sameAddress(signer, facts.attestor.attestor),
    `signed by attestor ${facts.attestor.attestor}, bound to chain ${facts.attestor.chainId} and escrow ${facts.attestor.settlement}`,
    `the settlement's signature recovers to ${signer ?? 'nothing'}, not the bound attestor ${facts.attestor.attestor}`,
  );
  let expected;
  try {
    expected = settlementFromStatement(
      facts.statement,
      order,
      hashTypedData(orderTypedData(domain, order)),
      (account) => facts.addresses.get(account),
      facts.receipt.resultDigest,
    );
  } catch (error) {
    checks.fail('settlement.payouts', (error as Error).message);
    return;
  }
  const same = canonicalJson(settlementJson(expected.message)) === canonicalJson(settlementJson(message));
  checks.expect(
    'settlement.payouts',
    same,
    `pays ${message.payouts.length} bound payee(s) exactly the statement's cumulative credits for revision ${facts.statement.revision}`,
    `the message is not the statement's: expected ${canonicalJson(settlementJson(expected.message))}`,
  );
  const unbound = expected.unbound.map((p) => ({ account: p.account, amount: p.amount }));
  checks.expect(
    'settlement.unbound',
    canonicalJson(unbound) === canonicalJson(doc.unbound),
    unbound.length === 0
      ? 'every credited account is paid on chain'
      : `not paid on chain (no bound address; kept in the ledger): ${unbound.map((u) => `${u.account} ${u.amount}`).join(', ')}`,
    `the document lists ${JSON.stringify(doc.unbound)} as unpaid; the statement gives ${JSON.stringify(unbound)}`,
  );
}

async function recovered(run: () => Promise<Address>): Promise<Address | undefined> {
  try {
    return await run();
  } catch {
    return undefined;
  }
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** A binding's own checks, renamed into this document's (`attestor.…`, `payee.<n>.…`); its predicate when all hold. */
function adopt<P>(result: BindingVerification<P>, from: string, to: string, checks: Checks): P | undefined {
  for (const check of result.checks) checks.list.push({ ...check, name: to + check.name.slice(from.length) });
  return result.ok ? result.predicate : undefined;
}

/**
 * The zk-only bundle a zk order's document carries: the proofs verify at level zk (as `verity verify --level
 * zk` checks them), and they are of this receipt. The escrow checks the same proofs on chain.
 */
async function checkProofs(
  zk: Record<string, unknown>,
  facts: Facts,
  trusted: ReadonlyMap<string, Uint8Array>,
  checks: Checks,
): Promise<void> {
  const report = await verifyBundle(zk, { trustedKeys: [...trusted.values()], level: 'zk' });
  if (report.unusable) {
    checks.fail('proofs', report.unusable);
    return;
  }
  for (const check of report.checks) checks.list.push({ ...check, name: `proofs.${check.name}` });
  let about: { executionId: string; receiptDigest: string } | undefined;
  try {
    const part = (zk as { zk?: { statement?: unknown } }).zk?.statement;
    about = readStatement(envelopeSchema.parse(part), ZK_PREDICATE_TYPE, zkPredicateSchema).predicate;
  } catch {
    about = undefined;
  }
  checks.expect(
    'proofs.receipt',
    about?.executionId === facts.receipt.executionId && about.receiptDigest === facts.receiptDigest,
    `the proofs are of this receipt of execution ${facts.receipt.executionId}`,
    `the proofs are of receipt ${about?.receiptDigest ?? '(unknown)'} of execution ${about?.executionId ?? '(unknown)'}, not this one`,
  );
}
