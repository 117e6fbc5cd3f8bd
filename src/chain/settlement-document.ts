import { getAddress, isAddress } from 'viem';
import type { Hex } from 'viem';
import { z } from 'zod';
import { envelopeSchema, loggedStatementSchema } from '../attest/bundle.js';
import type { BundleSettlement } from '../attest/bundle.js';
import { CHAIN_SETTLEMENT_MEDIA_TYPE } from './media-type.js';
import type { OrderMessage, SettlementMessage } from './typed-data.js';

export { CHAIN_SETTLEMENT_MEDIA_TYPE };

/** Upper bounds on what a document may hold, so a stranger's file costs its reader bounded work. */
const MAX_PAYOUTS = 256;

const hex32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x and 64 hex characters')
  .transform((v) => v as Hex);
const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature, 0x and 130 hex');
const address = z
  .string()
  .max(42)
  .refine((v) => isAddress(v, { strict: false }), 'must be a 20-byte address, 0x and 40 hex')
  .transform((v) => getAddress(v));
/** uint256 in decimal: EIP-712 amounts outgrow a JSON number. */
const uint = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a non-negative integer in decimal, as a string')
  .transform((v) => BigInt(v))
  .refine((v) => v < 1n << 256n, 'must fit 256 bits');

export const orderJsonSchema = z.strictObject({
  listingId: hex32,
  workflowDigest: hex32,
  payer: address,
  token: address,
  /** The Groth16 verifier the buyer pins; the zero address: no proof required. */
  zkVerifier: address,
  maxAmount: uint,
  deadline: uint,
  nonce: uint,
});

export const settlementJsonSchema = z.strictObject({
  executionId: hex32,
  revision: uint,
  receiptDigest: hex32,
  resultDigest: hex32,
  listingId: hex32,
  workflowDigest: hex32,
  payer: address,
  token: address,
  orderDigest: hex32,
  payouts: z.array(z.strictObject({ payee: address, amount: uint })).max(MAX_PAYOUTS),
});

/**
 * The on-chain settlement of one execution, as `POST /v1/executions/{id}/chain-settlement` returns it: the
 * EIP-712 `Settlement` the attestor signed, the buyer's order it draws on, and everything a payer needs to
 * check offline that the message pays exactly what Verity's signed settlement statement says, to the
 * addresses the payees bound, signed by the attestor key the coordinator published for that contract. Anyone
 * may submit it (`verity chain settle --document`); `verity verify` checks it (docs/chain.md).
 */
export const chainSettlementDocumentSchema = z.strictObject({
  mediaType: z.literal(CHAIN_SETTLEMENT_MEDIA_TYPE),
  /** The receipt the settlement pays for, and its place in the log. */
  receipt: z.strictObject({ envelope: envelopeSchema, tlog: loggedStatementSchema.shape.tlog }),
  /** The marketplace's settlement statement of the revision settled. */
  statement: loggedStatementSchema,
  /** The coordinator's statement that the attestor key signs for this chain and these contracts. */
  attestor: loggedStatementSchema,
  /** The address-binding statement of every account the message pays. */
  payees: z.array(loggedStatementSchema).max(MAX_PAYOUTS),
  order: z.strictObject({ message: orderJsonSchema, signature }),
  /**
   * For an order that pins a zk verifier: the execution's zk-only bundle, whose batch proofs
   * `settleWithProofs` checks on chain (and `verity verify --level zk` offline).
   */
  zk: z.record(z.string(), z.unknown()).optional(),
  settlement: z.strictObject({ message: settlementJsonSchema, signature }),
  /** What the statement credits to accounts with no bound address: not paid on chain, kept in the ledger. */
  unbound: z.array(z.strictObject({ account: z.string().max(200), amount: z.int().positive() })).max(MAX_PAYOUTS),
});

export type ChainSettlementDocument = z.output<typeof chainSettlementDocumentSchema> & {
  statement: BundleSettlement;
  attestor: BundleSettlement;
  payees: BundleSettlement[];
};

/** The document as JSON carries it (amounts as decimal strings); `ChainSettlementDocument` is it parsed. */
export type ChainSettlementDocumentJson = z.input<typeof chainSettlementDocumentSchema>;

/** The JSON form of an order: its bigints as decimal strings. */
export function orderJson(order: OrderMessage): z.input<typeof orderJsonSchema> {
  return {
    ...order,
    maxAmount: order.maxAmount.toString(10),
    deadline: order.deadline.toString(10),
    nonce: order.nonce.toString(10),
  };
}

/** The JSON form of a settlement message: its bigints as decimal strings. */
export function settlementJson(message: SettlementMessage): z.input<typeof settlementJsonSchema> {
  return {
    ...message,
    revision: message.revision.toString(10),
    payouts: message.payouts.map((p) => ({ payee: p.payee, amount: p.amount.toString(10) })),
  };
}
