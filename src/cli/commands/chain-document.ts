import type { Address, Hex } from 'viem';
import { readStatement } from '../../attest/statement.js';
import {
  ATTESTOR_BINDING_PREDICATE_TYPE,
  attestorBindingPredicateSchema,
} from '../../chain/attestor-binding-statement.js';
import { chainSettlementDocumentSchema } from '../../chain/settlement-document.js';
import type { ChainSettlementDocument } from '../../chain/settlement-document.js';
import type { OrderMessage, SettlementMessage } from '../../chain/typed-data.js';
import { verifyChainSettlement } from '../../chain/verify-settlement-document.js';
import { CliError } from '../errors.js';

export interface DocumentSettleInput {
  order: OrderMessage;
  orderSignature: Hex;
  settlement: SettlementMessage;
  attestorSignature: Hex;
  /** The execution's zk-only bundle, for an order that pins a zk verifier. */
  zk?: Record<string, unknown> | undefined;
}

/**
 * `verity chain settle --document`: a chain settlement document as the server signed it
 * (`POST /v1/executions/{id}/chain-settlement`). It is verified here, with the coordinator key given, before a
 * transaction is sent: a document that would revert (or that pays what the statement does not say) costs no
 * gas, and the sender learns why by the check's name. It must be for the chain and escrow being sent to.
 */
export async function documentSettleInput(
  json: unknown,
  trustedKeys: readonly string[],
  target: { chainId: number; settlement: Address },
): Promise<DocumentSettleInput> {
  const report = await verifyChainSettlement(json, trustedKeys);
  if (report.unusable) throw new CliError('usage', `--document: ${report.unusable}`);
  const failed = report.checks.filter((c) => !c.ok);
  if (failed.length > 0) {
    const list = failed.map((c) => `${c.name}: ${c.message}`).join('; ');
    throw new CliError('failed', `--document does not verify (${list}); nothing was sent`);
  }
  const doc = chainSettlementDocumentSchema.parse(json) as ChainSettlementDocument;
  const binding = readStatement(
    doc.attestor.statement,
    ATTESTOR_BINDING_PREDICATE_TYPE,
    attestorBindingPredicateSchema,
  );
  const { chainId, settlement } = binding.predicate;
  if (chainId !== target.chainId || settlement.toLowerCase() !== target.settlement.toLowerCase()) {
    throw new CliError(
      'usage',
      `--document settles on chain ${chainId}, escrow ${settlement}; --rpc is chain ${target.chainId}, escrow ${target.settlement}`,
    );
  }
  return {
    order: doc.order.message,
    orderSignature: doc.order.signature as Hex,
    settlement: doc.settlement.message,
    attestorSignature: doc.settlement.signature as Hex,
    zk: doc.zk,
  };
}
