import { decodeEventLog, getAddress, parseAbi } from 'viem';
import type { Address, Hex } from 'viem';
import type { SettledEvent } from './chain-client.js';
import { ChainError } from './errors.js';

/**
 * What one `settle` transaction paid, read from its logs: the escrow's `Settled` event and the ERC-20
 * `Transfer`s out of the escrow that follow it, in log order (the contract emits `Settled`, then transfers).
 * The ledger records the payment from these, the chain's own account of what moved, rather than from what
 * the attestor signed: a revision that paid only a difference, or a token that moved less, is recorded as it
 * happened.
 */
const EVENTS = parseAbi([
  'event Settled(bytes32 indexed executionId, uint256 revision, bytes32 indexed receiptDigest, address indexed payer, uint256 total, uint256 paidNow)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
]);

export interface PaymentLog {
  address: Address;
  topics: readonly Hex[];
  data: Hex;
  logIndex: number;
}

export interface ChainPayment extends SettledEvent {
  /** The `Settled` event's index in the block: with the transaction hash, it names the payment forever. */
  logIndex: number;
  token: Address | undefined;
  /** Per payee, what the escrow transferred to it in this settlement. */
  transfers: { to: Address; amount: bigint }[];
}

/**
 * The settlements of `escrow` in a transaction's logs. Throws ChainError('payment_mismatch') when the
 * transfers after a `Settled` do not add up to its `paidNow` or are in more than one token: the escrow pays
 * one order's token, so anything else is not this contract's settlement.
 */
export function readPayments(logs: readonly PaymentLog[], escrow: Address): ChainPayment[] {
  const payments: ChainPayment[] = [];
  const from = getAddress(escrow);
  for (const log of [...logs].sort((a, b) => a.logIndex - b.logIndex)) {
    const event = decode(log);
    if (!event) continue;
    if (event.eventName === 'Settled' && getAddress(log.address) === from) {
      payments.push({ logIndex: log.logIndex, ...event.args, token: undefined, transfers: [] });
    } else if (event.eventName === 'Transfer' && event.args.from === from) {
      const current = payments.at(-1);
      // A transfer out of the escrow before any Settled is a reclaim, not a settlement.
      if (!current) continue;
      const token = getAddress(log.address);
      if (current.token !== undefined && current.token !== token) {
        throw new ChainError('payment_mismatch', `the settlement at log ${current.logIndex} pays in two tokens`);
      }
      current.token = token;
      current.transfers.push({ to: event.args.to, amount: event.args.value });
    }
  }
  for (const p of payments) {
    const sum = p.transfers.reduce((s, t) => s + t.amount, 0n);
    if (sum !== p.paidNow) {
      throw new ChainError(
        'payment_mismatch',
        `the settlement at log ${p.logIndex} says it paid ${p.paidNow} now, and its transfers add up to ${sum}`,
      );
    }
  }
  return payments;
}

function decode(log: PaymentLog) {
  try {
    return decodeEventLog({ abi: EVENTS, topics: log.topics as [Hex, ...Hex[]], data: log.data, strict: true });
  } catch {
    return undefined;
  }
}
