import { hashTypedData, recoverTypedDataAddress } from 'viem';
import type { Address, Hex } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { BundleSettlement, BundleTlog } from '../attest/bundle.js';
import type { Envelope } from '../attest/dsse.js';
import type { SettlementPredicate } from '../attest/settlement/statement.js';
import { ChainError } from './errors.js';
import { CHAIN_SETTLEMENT_MEDIA_TYPE, orderJson, settlementJson } from './settlement-document.js';
import type { ChainSettlementDocumentJson } from './settlement-document.js';
import { settlementFromStatement } from './statement.js';
import { SETTLEMENT_DOMAIN_NAME, orderTypedData, settlementTypedData, verityDomain } from './typed-data.js';
import type { OrderMessage } from './typed-data.js';

export interface SettlementDocumentInput {
  chainId: number;
  /** The escrow contract the attestor binding names. */
  escrow: Address;
  receipt: { envelope: Envelope; tlog: BundleTlog };
  /** The settlement statement of the revision to settle, decoded and as logged. */
  statement: { predicate: SettlementPredicate; part: BundleSettlement };
  /** The coordinator's binding of the attestor key to this chain and escrow. */
  attestorBinding: BundleSettlement;
  /** The bound address of each ledger account, with its logged binding statement. */
  bindings: ReadonlyMap<string, { address: Address; part: BundleSettlement }>;
  order: OrderMessage;
  orderSignature: Hex;
  attestor: PrivateKeyAccount;
  /** The receipt's result digest (64 hex): the escrow checks zk proofs against it. */
  resultDigest: string;
  /** The execution's zk-only bundle, for an order that pins a zk verifier. */
  zk?: Record<string, unknown>;
}

/**
 * The attestor's signed on-chain settlement of one statement, as a document anyone can check offline and
 * submit. Refuses (ChainError) an order its payer did not sign, a statement that moves no escrowed money, and
 * an order for another listing; accounts with no bound address are left out of the payouts and listed.
 */
export async function signSettlementDocument(input: SettlementDocumentInput): Promise<ChainSettlementDocumentJson> {
  const domain = verityDomain(SETTLEMENT_DOMAIN_NAME, input.chainId, input.escrow);
  const orderData = orderTypedData(domain, input.order);
  let payer: Address | undefined;
  try {
    payer = await recoverTypedDataAddress({ ...orderData, signature: input.orderSignature });
  } catch {
    payer = undefined;
  }
  if (payer?.toLowerCase() !== input.order.payer.toLowerCase()) {
    throw new ChainError(
      'invalid_value',
      `order_signature is not the payer's: it recovers to ${payer ?? 'nothing'}, not ${input.order.payer}; sign the order on chain ${input.chainId} for escrow ${input.escrow}`,
    );
  }
  const { message, unbound } = settlementFromStatement(
    input.statement.predicate,
    input.order,
    hashTypedData(orderData),
    (account) => input.bindings.get(account)?.address,
    input.resultDigest,
  );
  const signature = await input.attestor.signTypedData(settlementTypedData(domain, message));
  const paid = new Set(message.payouts.map((p) => p.payee.toLowerCase()));
  const payees = [...input.bindings.values()].filter((b) => paid.has(b.address.toLowerCase())).map((b) => b.part);
  return {
    mediaType: CHAIN_SETTLEMENT_MEDIA_TYPE,
    receipt: input.receipt,
    statement: input.statement.part,
    attestor: input.attestorBinding,
    payees,
    order: { message: orderJson(input.order), signature: input.orderSignature },
    ...(input.zk && { zk: input.zk }),
    settlement: { message: settlementJson(message), signature },
    unbound: unbound.map((p) => ({ account: p.account, amount: p.amount })),
  };
}
