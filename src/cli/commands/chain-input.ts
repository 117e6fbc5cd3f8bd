import { isHex, zeroAddress, zeroHash } from 'viem';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import { ChainError } from '../../chain/errors.js';
import { settlementFromStatement } from '../../chain/statement.js';
import { readSettlementEnvelope } from '../../chain/statement-envelope.js';
import { idToBytes32, orderMessage, settlementMessage, sha256ToBytes32 } from '../../chain/typed-data.js';
import type { OrderMessage, SettlementMessage } from '../../chain/typed-data.js';
import type { ZkSettlementProofs } from '../../chain/chain-client.js';
import { readZkBundle } from '../../chain/zk-bundle.js';
import type { ZkBundleProofs } from '../../chain/zk-bundle.js';
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
 * hashed), its signature, and what to pay: either a settlement (cumulative payouts per payee, as the escrow
 * expects), or the coordinator's signed settlement statement with the address of each account it pays.
 */
const orderSchema = z.strictObject({
  listingId: z.string().min(1),
  workflowDigest: z.string(),
  payer: z.string(),
  token: z.string(),
  /** The Groth16 verifier the payer pins (`verity chain deploy-verifier`): the order then settles only with proofs. */
  zkVerifier: z.string().optional(),
  maxAmount: units,
  deadline: units,
  nonce: units,
});

const SettleFile = z.strictObject({
  order: orderSchema,
  orderSignature: signature,
  settlement: z
    .strictObject({
      executionId: z.string().min(1),
      revision: z.number().int().positive(),
      receiptDigest: z.string(),
      /** The receipt's result digest (64 hex); with --zk-bundle it comes from the bundle's zk statement. */
      resultDigest: z.string().optional(),
      payouts: z.array(z.strictObject({ payee: z.string(), amount: units })),
    })
    .optional(),
  /** A settlement statement's DSSE envelope, checked against the coordinator's key. */
  statement: z.unknown().optional(),
  /** The address each account the statement pays is paid at (principals have no addresses of their own yet). */
  addresses: z.record(z.string(), z.string()).optional(),
});

/** `sign-order` and `deposit --file`: the order of a settle file (or of any object with an `order`). */
export function parseOrderFile(json: unknown): OrderMessage {
  const parsed = z.object({ order: orderSchema }).safeParse(json);
  if (!parsed.success) throw usageOf(parsed.error);
  return usage('--file', () => orderMessage(parsed.data.order));
}

/**
 * A settle file's input with a bundle's zk proofs, for an order that pins a zk verifier: the bundle must be of
 * the settled execution, receipt and the order's workflow (checked here, before any gas is spent), and its
 * zk statement's result digest becomes the settlement's (the coordinator signed it; the proofs end in it).
 */
export function withZkProofs(
  input: SettleInput,
  zk: ZkBundleProofs,
): { settlement: SettlementMessage; proofs: ZkSettlementProofs } {
  const { order, settlement } = input;
  if (order.zkVerifier === zeroAddress)
    throw new CliError('usage', '--zk-bundle: the order pins no zkVerifier, so it settles without proofs');
  if (idToBytes32(zk.executionId) !== settlement.executionId)
    throw new CliError('usage', `--zk-bundle: its proofs are of execution ${zk.executionId}, not the settled one`);
  if (sha256ToBytes32(zk.receiptDigest) !== settlement.receiptDigest)
    throw new CliError(
      'usage',
      `--zk-bundle: its zk statement is about receipt ${zk.receiptDigest}, not the settled receipt ${settlement.receiptDigest.slice(2)}`,
    );
  if (sha256ToBytes32(zk.workflowDigest) !== order.workflowDigest)
    throw new CliError('usage', `--zk-bundle: its workflow ${zk.workflowDigest} is not the order's`);
  const resultDigest = sha256ToBytes32(zk.resultDigest);
  if (settlement.resultDigest !== zeroHash && settlement.resultDigest !== resultDigest)
    throw new CliError('usage', `--zk-bundle: its result ${zk.resultDigest} is not the file's settlement.resultDigest`);
  return {
    settlement: { ...settlement, resultDigest },
    proofs: { executionId: zk.executionId, batches: zk.batches },
  };
}

/** A ChainError about a value the user gave becomes a usage error naming where it came from. */
export function usage<T>(flag: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof ChainError && error.code === 'invalid_value')
      throw new CliError('usage', `${flag}: ${error.message}`);
    throw error;
  }
}

function usageOf(error: z.ZodError): CliError {
  const issue = error.issues[0];
  return new CliError('usage', `--file: ${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'invalid'}`);
}

export interface SettleInput {
  order: OrderMessage;
  orderSignature: Hex;
  settlement: SettlementMessage;
}

/**
 * Parses and converts a settle file; `orderDigest` is the order's EIP-712 digest on the target chain and
 * `coordinatorKey` the PEM public key a statement must be signed with (read only for a statement).
 */
export async function parseSettleFile(
  json: unknown,
  orderDigest: (order: OrderMessage) => Hex,
  coordinatorKey: () => string,
): Promise<SettleInput> {
  const parsed = SettleFile.safeParse(json);
  if (!parsed.success) throw usageOf(parsed.error);
  const { order: o, orderSignature, settlement: s, statement, addresses } = parsed.data;
  if ((s === undefined) === (statement === undefined))
    throw new CliError('usage', '--file: give either settlement or statement (with addresses), not both or neither');
  try {
    const order = orderMessage(o);
    const digest = orderDigest(order);
    const settlement = s
      ? settlementMessage({ ...s, order, orderDigest: digest })
      : await fromStatement(statement, addresses ?? {}, order, digest, coordinatorKey());
    return { order, orderSignature: orderSignature as Hex, settlement };
  } catch (error) {
    if (error instanceof ChainError && FILE_PROBLEMS.has(error.code))
      throw new CliError('usage', `--file: ${error.message}`);
    throw error;
  }
}

/** `settle --zk-bundle`: the bundle's proofs; what is wrong with it is a usage error naming the flag. */
export async function parseZkBundleFile(json: unknown, coordinatorKey: () => string): Promise<ZkBundleProofs> {
  try {
    return await readZkBundle(json, coordinatorKey());
  } catch (error) {
    if (error instanceof ChainError && FILE_PROBLEMS.has(error.code))
      throw new CliError('usage', `--zk-bundle: ${error.message}`);
    throw error;
  }
}

/** What is wrong with the file, not with the chain: exit 2. */
const FILE_PROBLEMS = new Set(['invalid_value', 'not_payable', 'order_mismatch', 'untrusted_statement']);

async function fromStatement(
  envelope: unknown,
  addresses: Record<string, string>,
  order: OrderMessage,
  orderDigest: Hex,
  coordinatorKey: string,
): Promise<SettlementMessage> {
  const predicate = await readSettlementEnvelope(envelope, coordinatorKey);
  const { message, unbound } = settlementFromStatement(predicate, order, orderDigest, (account) =>
    Object.hasOwn(addresses, account) ? (addresses[account] as Address) : undefined,
  );
  // Refused rather than paid in part: what an unbound payee is owed would sit in escrow until the payer reclaims it.
  if (unbound.length > 0) {
    const accounts = [...new Set(unbound.map((p) => p.account))].join(', ');
    throw new CliError('usage', `--file: addresses has no address for ${accounts}, whom the statement pays`);
  }
  return message;
}
