import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import type { BundleSettlement } from '../../attest/bundle.js';
import { SETTLEMENT_PREDICATE_TYPE, settlementPredicateSchema } from '../../attest/settlement/statement.js';
import { readStatement } from '../../attest/statement.js';
import { ATTESTOR_KEY_FILE, loadPrivateKeyAccount } from '../../chain/attestor-key.js';
import { ensureAttestorBinding, knownDeployment } from '../../chain/bindings.js';
import { ChainError } from '../../chain/errors.js';
import { orderFromJson, orderJsonSchema } from '../../chain/settlement-document.js';
import { signSettlementDocument } from '../../chain/sign-settlement-document.js';
import { logEntry } from '../../receipts/bundle.js';
import { ownExecution } from '../access.js';
import { CLIENT_ROLES } from '../auth.js';
import { ApiError } from '../errors.js';
import { errorBody, idParam } from '../schemas.js';
import type { ApiContext } from '../server.js';

const chainSettlementRequest = z.strictObject({
  chain_id: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  /** The buyer's order as EIP-712 signs it: ids and digests as bytes32, amounts in decimal strings. */
  order: orderJsonSchema,
  order_signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature: 0x and 130 hex digits'),
});

/**
 * The on-chain form of an execution's settlement: the attestor signs the EIP-712 `Settlement` of the
 * execution's latest settlement statement, drawing on the buyer's signed order, paying every credited account
 * at the address it bound. The answer is a document anyone can submit (`verity chain settle --document`) and
 * the payer can check offline (`verity verify`), docs/chain.md.
 */
export function registerChainSettlementRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { node } = context;

  api.post('/executions/:id/chain-settlement', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'signChainSettlement',
      tags: ['executions', 'chain'],
      summary:
        "The attestor's signed EIP-712 settlement of an execution, for its buyer's order (its buyer, or an admin)",
      description:
        "Signs the latest settlement statement of an execution run through a listing as the escrow's `Settlement` message, drawing on the order the buyer signed (`verity chain sign-order`); the order's payer must be the address the buyer bound on that chain. Accounts with no bound address are left out of the payouts (they keep their ledger credit) and listed in `unbound`. Failed or unverified runs move no escrowed money (409). Another's execution is a 404.",
      params: idParam,
      body: chainSettlementRequest,
      response: {
        200: z.record(z.string(), z.unknown()).describe('application/vnd.verity.chain-settlement.v1+json'),
        400: errorBody,
        404: errorBody,
        409: errorBody,
      },
    },
    handler: async (request) => {
      const execution = await ownExecution(request, context, request.params.id);
      const chainId = request.body.chain_id;
      const dataDir = node.options.dataDir;
      // Only a deployment whose attestor is this data directory's key (else BindingError 'unknown_chain', a 404).
      const deployment = knownDeployment(dataDir, chainId);
      const attestor = loadPrivateKeyAccount(join(dataDir, 'keys', ATTESTOR_KEY_FILE));
      const binding = await ensureAttestorBinding(
        { store: node.store, log: node.log, signer: node.coordinatorSigner, dataDir },
        deployment,
      );

      const records = await node.store.read.listMarketSettlements(execution.id);
      const latest = records.at(-1);
      if (!latest) {
        throw new ApiError(
          'conflict',
          `execution ${execution.id} has no settlement: it did not run through a listing, or has not ended`,
        );
      }
      const predicate = readStatement(latest.envelope, SETTLEMENT_PREDICATE_TYPE, settlementPredicateSchema).predicate;
      const receipt = (await node.store.read.listReceipts(execution.id)).find(
        (r) => r.payloadDigest === predicate.receiptDigest,
      );
      if (!receipt)
        throw new ApiError('conflict', `the receipt that settlement ${latest.revision} names is not in the store`);

      const checkpoint = await node.log.checkpoint();
      const logged = async (envelope: BundleSettlement['statement'], logIndex: number): Promise<BundleSettlement> => ({
        statement: envelope,
        tlog: await logEntry(node.log, logIndex, checkpoint),
      });
      const order = orderFromJson(request.body.order);
      const buyer = await node.store.read.chainAddressOf(chainId, predicate.buyer);
      if (buyer?.address !== order.payer) {
        throw new ApiError(
          'conflict',
          `order.payer ${order.payer} is not the address ${predicate.buyer} bound on chain ${chainId}${buyer ? ` (${buyer.address})` : ' (none)'}: bind it with verity chain register-address`,
        );
      }
      const bindings = new Map<string, { address: Address; part: BundleSettlement }>();
      for (const account of new Set(predicate.total.filter((p) => p.amount > 0).map((p) => p.account))) {
        const bound = await node.store.read.chainAddressOf(chainId, account);
        if (bound?.settlement === deployment.settlement) {
          bindings.set(account, {
            address: bound.address as Address,
            part: await logged(bound.envelope, bound.logIndex),
          });
        }
      }
      try {
        return await signSettlementDocument({
          chainId,
          escrow: deployment.settlement,
          receipt: { envelope: receipt.envelope, tlog: await logEntry(node.log, receipt.logIndex, checkpoint) },
          statement: { predicate, part: await logged(latest.envelope, latest.logIndex) },
          attestorBinding: await logged(binding.envelope, binding.logIndex),
          bindings,
          order,
          orderSignature: request.body.order_signature as Hex,
          attestor,
        });
      } catch (error) {
        if (error instanceof ChainError && error.code === 'invalid_value')
          throw new ApiError('validation', error.message);
        if (error instanceof ChainError) throw new ApiError('conflict', error.message);
        throw error;
      }
    },
  });
}
