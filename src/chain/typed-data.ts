import { getAddress, isAddress, keccak256, stringToBytes, zeroAddress, zeroHash } from 'viem';
import type { Address, Hex, TypedDataDomain } from 'viem';
import { ChainError } from './errors.js';

/**
 * The EIP-712 messages of Verity's contracts, as viem typed-data definitions. They must match the type strings
 * in contracts/VerityToken.sol and contracts/VeritySettlement.sol field for field: the tests compare viem's
 * digest with each contract's `hash…` view.
 */

export const RECEIPT_MINT_TYPES = {
  ReceiptMint: [
    { name: 'receiptDigest', type: 'bytes32' },
    { name: 'executionId', type: 'bytes32' },
    { name: 'payee', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

export const ORDER_TYPES = {
  Order: [
    { name: 'listingId', type: 'bytes32' },
    { name: 'workflowDigest', type: 'bytes32' },
    { name: 'payer', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'zkVerifier', type: 'address' },
    { name: 'maxAmount', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
  ],
} as const;

export const SETTLEMENT_TYPES = {
  Settlement: [
    { name: 'executionId', type: 'bytes32' },
    { name: 'revision', type: 'uint256' },
    { name: 'receiptDigest', type: 'bytes32' },
    { name: 'resultDigest', type: 'bytes32' },
    { name: 'listingId', type: 'bytes32' },
    { name: 'workflowDigest', type: 'bytes32' },
    { name: 'payer', type: 'address' },
    { name: 'token', type: 'address' },
    { name: 'orderDigest', type: 'bytes32' },
    { name: 'payouts', type: 'Payout[]' },
  ],
  Payout: [
    { name: 'payee', type: 'address' },
    { name: 'amount', type: 'uint256' },
  ],
} as const;

/**
 * What an account's key signs to bind its address to a Verity principal, in the escrow's domain (one chain,
 * one contract): the principal is keccak256 of its ledger account name (`idToBytes32`). The coordinator records
 * it and logs it; the escrow pays only addresses whose binding its coordinator registered.
 */
export const ADDRESS_BINDING_TYPES = {
  AddressBinding: [
    { name: 'principal', type: 'bytes32' },
    { name: 'account', type: 'address' },
  ],
} as const;

export interface AddressBindingMessage {
  principal: Hex;
  account: Address;
}

export interface ReceiptMintMessage {
  receiptDigest: Hex;
  executionId: Hex;
  payee: Address;
  amount: bigint;
  deadline: bigint;
}

export interface OrderMessage {
  listingId: Hex;
  workflowDigest: Hex;
  payer: Address;
  token: Address;
  /** The Groth16 verifier the payer pins: the order then settles only with zk proofs. Zero: none. */
  zkVerifier: Address;
  maxAmount: bigint;
  deadline: bigint;
  nonce: bigint;
}

export interface PayoutMessage {
  payee: Address;
  /** Cumulative over the execution's revisions, in token units (micro-units). */
  amount: bigint;
}

export interface SettlementMessage {
  executionId: Hex;
  revision: bigint;
  receiptDigest: Hex;
  /** The receipt's result digest; zero for a run with no result (a cancelled one). */
  resultDigest: Hex;
  listingId: Hex;
  workflowDigest: Hex;
  payer: Address;
  token: Address;
  orderDigest: Hex;
  payouts: readonly PayoutMessage[];
}

/** The names and versions the contracts pass to OpenZeppelin's EIP712 constructor. */
export const TOKEN_DOMAIN_NAME = 'VerityToken';
export const SETTLEMENT_DOMAIN_NAME = 'VeritySettlement';
export const DOMAIN_VERSION = '1';

/** The domain of one deployed contract: a signature for one chain or contract is worthless on another. */
export function verityDomain(
  name: typeof TOKEN_DOMAIN_NAME | typeof SETTLEMENT_DOMAIN_NAME,
  chainId: bigint | number,
  verifyingContract: Address,
): TypedDataDomain {
  return {
    name,
    version: DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract: checkedAddress(verifyingContract),
  };
}

/** A Verity id (execution, listing) as bytes32: keccak256 of its UTF-8, so any length fits and none collide in practice. */
export function idToBytes32(id: string): Hex {
  if (id.length === 0) throw new ChainError('invalid_value', 'an id must not be empty');
  return keccak256(stringToBytes(id));
}

/** A 64-hex SHA-256 digest (a receipt's log leaf, a workflow digest) as bytes32, unchanged. */
export function sha256ToBytes32(digest: string): Hex {
  const hex = digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new ChainError('invalid_value', `${digest} is not a SHA-256 digest of 64 lowercase hex characters`);
  }
  return `0x${hex}`;
}

function checkedAddress(address: string): Address {
  if (!isAddress(address, { strict: false })) throw new ChainError('invalid_value', `${address} is not an address`);
  return getAddress(address);
}

/** A ledger amount in micro-units as token units: the same integer (6 decimals), never negative. */
export function microUnits(amount: number | bigint): bigint {
  if (typeof amount === 'number' && !Number.isSafeInteger(amount)) {
    throw new ChainError('invalid_value', `${amount} micro-units is not a safe integer`);
  }
  const units = BigInt(amount);
  if (units < 0n) throw new ChainError('invalid_value', `${units} micro-units is negative: only payouts go on chain`);
  return units;
}

/**
 * Payouts in the form the escrow accepts: one per payee with its amount summed, sorted by address (the
 * contract requires strictly ascending payees), zero amounts kept out.
 */
export function sortedPayouts(payouts: readonly { payee: string; amount: number | bigint }[]): PayoutMessage[] {
  const byPayee = new Map<Address, bigint>();
  for (const p of payouts) {
    const payee = checkedAddress(p.payee);
    byPayee.set(payee, (byPayee.get(payee) ?? 0n) + microUnits(p.amount));
  }
  return [...byPayee]
    .filter(([, amount]) => amount > 0n)
    .map(([payee, amount]) => ({ payee, amount }))
    .sort((a, b) => {
      const x = BigInt(a.payee);
      const y = BigInt(b.payee);
      return x < y ? -1 : x > y ? 1 : 0;
    });
}

export interface SettlementInput {
  executionId: string;
  revision: number;
  /** The receipt's log leaf, 64 hex. */
  receiptDigest: string;
  /** The receipt's result digest, 64 hex: what a zk order's proofs must end in. Absent: zero (no result). */
  resultDigest?: string | undefined;
  /** The order it draws on: its listing, workflow, payer and token are copied, its digest is named. */
  order: OrderMessage;
  orderDigest: Hex;
  /** Cumulative per payee over the execution's revisions. */
  payouts: readonly { payee: string; amount: number | bigint }[];
}

/** The attestor's Settlement message for one revision of an execution drawing on `order`. */
export function settlementMessage(input: SettlementInput): SettlementMessage {
  if (!Number.isSafeInteger(input.revision) || input.revision < 1) {
    throw new ChainError('invalid_value', `revision ${input.revision} must be a positive integer`);
  }
  return {
    executionId: idToBytes32(input.executionId),
    revision: BigInt(input.revision),
    receiptDigest: sha256ToBytes32(input.receiptDigest),
    resultDigest: input.resultDigest === undefined ? zeroHash : sha256ToBytes32(input.resultDigest),
    listingId: input.order.listingId,
    workflowDigest: input.order.workflowDigest,
    payer: input.order.payer,
    token: input.order.token,
    orderDigest: input.orderDigest,
    payouts: sortedPayouts(input.payouts),
  };
}

export interface OrderInput {
  listingId: string;
  workflowDigest: string;
  payer: string;
  token: string;
  /** The Groth16 verifier of the batch circuit the payer trusts (`verity chain deploy-verifier`); absent: no proof required. */
  zkVerifier?: string | undefined;
  maxAmount: number | bigint;
  /** Unix seconds. */
  deadline: number | bigint;
  nonce: number | bigint;
}

/** The buyer's Order message. */
export function orderMessage(input: OrderInput): OrderMessage {
  return {
    listingId: idToBytes32(input.listingId),
    workflowDigest: sha256ToBytes32(input.workflowDigest),
    payer: checkedAddress(input.payer),
    token: checkedAddress(input.token),
    zkVerifier: input.zkVerifier === undefined ? zeroAddress : checkedAddress(input.zkVerifier),
    maxAmount: microUnits(input.maxAmount),
    deadline: BigInt(input.deadline),
    nonce: BigInt(input.nonce),
  };
}

export interface ReceiptMintInput {
  receiptDigest: string;
  executionId: string;
  payee: string;
  amount: number | bigint;
  deadline: number | bigint;
}

/** The attestor's ReceiptMint message. */
export function receiptMintMessage(input: ReceiptMintInput): ReceiptMintMessage {
  return {
    receiptDigest: sha256ToBytes32(input.receiptDigest),
    executionId: idToBytes32(input.executionId),
    payee: checkedAddress(input.payee),
    amount: microUnits(input.amount),
    deadline: BigInt(input.deadline),
  };
}

/** The binding of `account` to the ledger account (principal name or `sys:platform`) `principal`. */
export function addressBindingMessage(principal: string, account: string): AddressBindingMessage {
  return { principal: idToBytes32(principal), account: checkedAddress(account) };
}

/** Everything viem's `signTypedData` and `hashTypedData` take, for each message. */
export function receiptMintTypedData(domain: TypedDataDomain, message: ReceiptMintMessage) {
  return { domain, types: RECEIPT_MINT_TYPES, primaryType: 'ReceiptMint', message } as const;
}

export function orderTypedData(domain: TypedDataDomain, message: OrderMessage) {
  return { domain, types: ORDER_TYPES, primaryType: 'Order', message } as const;
}

export function settlementTypedData(domain: TypedDataDomain, message: SettlementMessage) {
  return { domain, types: SETTLEMENT_TYPES, primaryType: 'Settlement', message } as const;
}

export function addressBindingTypedData(domain: TypedDataDomain, message: AddressBindingMessage) {
  return { domain, types: ADDRESS_BINDING_TYPES, primaryType: 'AddressBinding', message } as const;
}
