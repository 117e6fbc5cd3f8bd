import { isHex } from 'viem';
import type { Hex } from 'viem';
import { z } from 'zod';
import { ChainError } from '../../chain/errors.js';
import { orderMessage, settlementMessage } from '../../chain/typed-data.js';
import type { OrderMessage, SettlementMessage } from '../../chain/typed-data.js';
import { CliError } from '../errors.js';

/** A non-negative integer as a JSON number or a decimal string (token amounts outgrow a double). */
export function parseUnits(value: string | number): bigint {
  const text = String(value).trim();
  if (!/^\d+$/.test(text)) throw new ChainError('invalid_value', `${text} is not a whole number of micro-units`);
  return BigInt(text);
}

const units = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]).transform((v) => parseUnits(v));
const signature = z.string().refine((v) => isHex(v) && v.length === 132, 'must be a 65-byte signature, 0x and 130 hex');

/**
 * `verity chain settle --file`: the payer's order as it signed it (ids and digests as Verity writes them, not yet
 * hashed), its signature, and the settlement to sign (cumulative payouts per payee, as the escrow expects).
 */
const SettleFile = z.strictObject({
  order: z.strictObject({
    listingId: z.string().min(1),
    workflowDigest: z.string(),
    payer: z.string(),
    token: z.string(),
    maxAmount: units,
    deadline: units,
    nonce: units,
  }),
  orderSignature: signature,
  settlement: z.strictObject({
    executionId: z.string().min(1),
    revision: z.number().int().positive(),
    receiptDigest: z.string(),
    payouts: z.array(z.strictObject({ payee: z.string(), amount: units })),
  }),
});

export interface SettleInput {
  order: OrderMessage;
  orderSignature: Hex;
  settlement: SettlementMessage;
}

/** Parses and converts a settle file; `orderDigest` is the order's EIP-712 digest on the target chain. */
export function parseSettleFile(json: unknown, orderDigest: (order: OrderMessage) => Hex): SettleInput {
  const parsed = SettleFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError('usage', `--file: ${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'invalid'}`);
  }
  const { order: o, orderSignature, settlement: s } = parsed.data;
  try {
    const order = orderMessage(o);
    const settlement = settlementMessage({ ...s, order, orderDigest: orderDigest(order) });
    return { order, orderSignature: orderSignature as Hex, settlement };
  } catch (error) {
    if (error instanceof ChainError && error.code === 'invalid_value')
      throw new CliError('usage', `--file: ${error.message}`);
    throw error;
  }
}
