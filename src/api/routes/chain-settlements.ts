import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { join } from 'node:path';
import { createPublicClient, http, TransactionReceiptNotFoundError, zeroAddress } from 'viem';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import type { BundleSettlement } from '../../attest/bundle.js';
import { SETTLEMENT_PREDICATE_TYPE, settlementPredicateSchema } from '../../attest/settlement/statement.js';
import type { SettlementPredicate } from '../../attest/settlement/statement.js';
import { EXECUTION_PREDICATE_TYPE, executionPredicateSchema, readStatement } from '../../attest/statement.js';
import { ATTESTOR_KEY_FILE, loadPrivateKeyAccount } from '../../chain/attestor-key.js';
import { ensureAttestorBinding, knownDeployment } from '../../chain/bindings.js';
import type { DeploymentRecord } from '../../chain/deployment-record.js';
import type { OrderMessage } from '../../chain/typed-data.js';
import type { ChainAddressBindingRecord } from '../../store/records.js';
import { recordChainPayment } from '../../chain/payment-ledger.js';
import { readPayments } from '../../chain/payment-logs.js';
import { idToBytes32 } from '../../chain/typed-data.js';
import { ChainError } from '../../chain/errors.js';
import { orderJsonSchema } from '../../chain/settlement-document.js';
import { signSettlementDocument } from '../../chain/sign-settlement-document.js';
import { logEntry } from '../../receipts/bundle.js';
import { ReceiptError } from '../../receipts/errors.js';
import { ownExecution, ownExecutionFirst } from '../access.js';
import { bindingContext } from './chain.js';
import { CLIENT_ROLES } from '../auth.js';
import { ApiError } from '../errors.js';
import { chainPaymentsRequest, chainPaymentsResponse, errorBody, idParam } from '../schemas.js';
import type { ApiContext } from '../server.js';

/** Per API key: what one buyer may ask of the attestor and of the chain's node in a minute. */
const SIGNATURES_PER_MINUTE = 60;
const REPORTS_PER_MINUTE = 30;

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
    // Each document is an ECDSA signature and a signed checkpoint.
    config: { roles: CLIENT_ROLES, rateLimit: { max: SIGNATURES_PER_MINUTE, timeWindow: 60_000 } },
    preValidation: ownExecutionFirst(context),
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
      const binding = await ensureAttestorBinding(bindingContext(context), deployment);
      const { latest, predicate, receipt, resultDigest } = await latestSettlement(context, execution.id);
      const order: OrderMessage = request.body.order;
      await checkOrder(context, deployment, order, predicate.buyer);
      // An order that pins a zk verifier is paid only with the proofs: the document carries them for submission.
      const zk = order.zkVerifier === zeroAddress ? undefined : await zkBundleOf(context, execution.id);
      const checkpoint = await node.log.checkpoint();
      const logged = async (envelope: BundleSettlement['statement'], logIndex: number): Promise<BundleSettlement> => ({
        statement: envelope,
        tlog: await logEntry(node.log, logIndex, checkpoint),
      });
      const bindings = new Map<string, { address: Address; part: BundleSettlement }>();
      for (const [account, bound] of await payeeBindings(context, deployment, predicate)) {
        bindings.set(account, {
          address: bound.address as Address,
          part: await logged(bound.envelope, bound.logIndex),
        });
      }
      const parts = {
        receipt: { envelope: receipt.envelope, tlog: await logEntry(node.log, receipt.logIndex, checkpoint) },
        statement: { predicate, part: await logged(latest.envelope, latest.logIndex) },
        attestorBinding: await logged(binding.envelope, binding.logIndex),
      };
      return answeringChain(() =>
        signSettlementDocument({
          chainId,
          escrow: deployment.settlement,
          ...parts,
          bindings,
          order,
          orderSignature: request.body.order_signature as Hex,
          attestor,
          resultDigest,
          ...(zk && { zk }),
        }),
      );
    },
  });

  api.post('/executions/:id/chain-payments', {
    // Each report costs a call to the chain's node: a client cannot make the server hammer it.
    config: { roles: CLIENT_ROLES, rateLimit: { max: REPORTS_PER_MINUTE, timeWindow: 60_000 } },
    preValidation: ownExecutionFirst(context),
    schema: {
      operationId: 'recordChainPayment',
      tags: ['executions', 'chain'],
      summary: 'Record in the ledger what the escrow paid for an execution in a transaction (its buyer, or an admin)',
      description:
        "Reads the transaction's receipt from the deployment's JSON-RPC node and records each of the escrow's `Settled` events for this execution: the amount the escrow transferred to each payee moves, in the ledger, from that payee back to the buyer, who paid it in tokens (kind `chain_payment`). So the buyer is charged once and each payee paid once. Idempotent per (chain, transaction, event): reporting it again changes nothing. 409 when the transaction failed, holds no settlement of this execution, pays in a token the deployment does not take, or pays an address no credited account is bound to.",
      params: idParam,
      body: chainPaymentsRequest,
      response: { 200: chainPaymentsResponse, 400: errorBody, 404: errorBody, 409: errorBody, 503: errorBody },
    },
    handler: async (request) => {
      const execution = await ownExecution(request, context, request.params.id);
      const chainId = request.body.chain_id;
      const deployment = knownDeployment(node.options.dataDir, chainId);
      const hash = request.body.transaction_hash as Hex;
      const receipt = await transactionReceipt(deployment, hash);
      if (receipt.status !== 'success') throw new ApiError('conflict', `transaction ${hash} reverted: it paid nothing`);
      const payments = (
        await answeringChain(() => Promise.resolve(readPayments(receipt.logs, deployment.settlement)))
      ).filter((p) => p.executionId === idToBytes32(execution.id));
      if (payments.length === 0) {
        throw new ApiError(
          'conflict',
          `transaction ${hash} settles no revision of execution ${execution.id} on escrow ${deployment.settlement}`,
        );
      }
      const recorded = [];
      for (const payment of payments) {
        const posted = await answeringChain(() =>
          recordChainPayment(node.store, {
            chainId,
            transactionHash: hash,
            executionId: execution.id,
            payment,
            paymentTokens: deployment.paymentTokens ?? [deployment.token],
            addressOf: async (account) =>
              (await node.store.read.chainAddressOf(chainId, account))?.address as Address | undefined,
          }),
        );
        recorded.push({
          revision: Number(payment.revision),
          log_index: payment.logIndex,
          paid_now: Number(payment.paidNow),
          token: payment.token!,
          ledger_transaction_id: posted.transaction.id,
          replayed: posted.replayed,
        });
      }
      return { transaction_hash: hash, payments: recorded };
    },
  });
}

/** The transaction's receipt from the deployment's node: the operator's, never a URL a client gives. */
async function transactionReceipt(deployment: DeploymentRecord, hash: Hex) {
  if (!deployment.rpc) {
    throw new ApiError(
      'conflict',
      `the deployment on chain ${deployment.chainId} records no JSON-RPC node: deploy with verity chain deploy --rpc, which records it`,
    );
  }
  const client = createPublicClient({ transport: http(deployment.rpc, { timeout: 10_000, retryCount: 0 }) });
  try {
    return await client.getTransactionReceipt({ hash });
  } catch (error) {
    if (error instanceof TransactionReceiptNotFoundError) {
      throw new ApiError(
        'conflict',
        `chain ${deployment.chainId} has no mined transaction ${hash}: report it once mined`,
      );
    }
    throw new ApiError('unavailable', `the JSON-RPC node of chain ${deployment.chainId} did not answer; retry later`);
  }
}

/** A ChainError is the client's to see: a value it gave (400), or what the chain or the run do not allow (409). */
async function answeringChain<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ChainError)
      throw new ApiError(error.code === 'invalid_value' ? 'validation' : 'conflict', error.message);
    throw error;
  }
}

/** The zk-only bundle of an execution, or a 409 saying why there is none (not at level zk, proofs not done). */
async function zkBundleOf(context: ApiContext, executionId: string): Promise<Record<string, unknown>> {
  try {
    return await context.node.bundle(executionId, { zkOnly: true });
  } catch (error) {
    if (error instanceof ReceiptError) {
      throw new ApiError('conflict', `the order pins a zk verifier, and ${error.message}`);
    }
    throw error;
  }
}

/** The execution's latest settlement statement and the receipt it names, or a 409 saying why there is none. */
async function latestSettlement(context: ApiContext, executionId: string) {
  const { store } = context.node;
  const latest = (await store.read.listMarketSettlements(executionId)).at(-1);
  if (!latest) {
    throw new ApiError(
      'conflict',
      `execution ${executionId} has no settlement: it did not run through a listing, or has not ended`,
    );
  }
  const predicate = readStatement(latest.envelope, SETTLEMENT_PREDICATE_TYPE, settlementPredicateSchema).predicate;
  const receipt = (await store.read.listReceipts(executionId)).find((r) => r.payloadDigest === predicate.receiptDigest);
  if (!receipt)
    throw new ApiError('conflict', `the receipt that settlement ${latest.revision} names is not in the store`);
  const { resultDigest } = readStatement(
    receipt.envelope,
    EXECUTION_PREDICATE_TYPE,
    executionPredicateSchema,
  ).predicate;
  return { latest, predicate, receipt, resultDigest };
}

/** The order pays in a token the deployment takes as money, from the address the buyer bound. */
async function checkOrder(
  context: ApiContext,
  deployment: DeploymentRecord,
  order: OrderMessage,
  buyer: string,
): Promise<void> {
  const paymentTokens = deployment.paymentTokens ?? [deployment.token];
  if (!paymentTokens.includes(order.token)) {
    throw new ApiError(
      'validation',
      `order.token ${order.token} is not money on this deployment: pay in ${paymentTokens.join(' or ')}`,
    );
  }
  const bound = await context.node.store.read.chainAddressOf(deployment.chainId, buyer);
  if (bound?.address !== order.payer) {
    throw new ApiError(
      'conflict',
      `order.payer ${order.payer} is not the address ${buyer} bound on chain ${deployment.chainId}${bound ? ` (${bound.address})` : ' (none)'}: bind it with verity chain register-address`,
    );
  }
}

/**
 * The current binding, for this escrow, of each account the statement credits. Two accounts at one address
 * are refused: the ledger tells payees apart by address when it records what the escrow paid.
 */
async function payeeBindings(context: ApiContext, deployment: DeploymentRecord, predicate: SettlementPredicate) {
  const bindings = new Map<string, ChainAddressBindingRecord>();
  for (const account of new Set(predicate.total.filter((p) => p.amount > 0).map((p) => p.account))) {
    const bound = await context.node.store.read.chainAddressOf(deployment.chainId, account);
    if (bound?.settlement !== deployment.settlement) continue;
    const shared = [...bindings].find(([, b]) => b.address === bound.address);
    if (shared) {
      throw new ApiError(
        'conflict',
        `${shared[0]} and ${account} are bound to the same address ${bound.address}: one of them must bind another`,
      );
    }
    bindings.set(account, bound);
  }
  return bindings;
}
