import { describe, expect, it } from 'vitest';
import { encodeAbiParameters, encodeEventTopics, parseAbi } from 'viem';
import type { Address, Hex } from 'viem';
import { ChainError } from '../../../src/chain/errors.js';
import { readPayments } from '../../../src/chain/payment-logs.js';
import type { PaymentLog } from '../../../src/chain/payment-logs.js';

const abi = parseAbi([
  'event Settled(bytes32 indexed executionId, uint256 revision, bytes32 indexed receiptDigest, address indexed payer, uint256 total, uint256 paidNow)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
]);
const escrow: Address = '0x1111111111111111111111111111111111111111';
const token: Address = '0x2222222222222222222222222222222222222222';
const other: Address = '0x3333333333333333333333333333333333333333';
const payer: Address = '0x4444444444444444444444444444444444444444';
const a: Address = '0x5555555555555555555555555555555555555555';
const b: Address = '0x6666666666666666666666666666666666666666';
const exec: Hex = `0x${'ab'.repeat(32)}`;
const receipt: Hex = `0x${'cd'.repeat(32)}`;

function settled(logIndex: number, paidNow: bigint, at: Address = escrow): PaymentLog {
  return {
    address: at,
    logIndex,
    topics: encodeEventTopics({
      abi,
      eventName: 'Settled',
      args: { executionId: exec, receiptDigest: receipt, payer },
    }) as Hex[],
    data: encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }],
      [2n, paidNow + 10n, paidNow],
    ),
  };
}

function transfer(
  logIndex: number,
  to: Address,
  value: bigint,
  from: Address = escrow,
  at: Address = token,
): PaymentLog {
  return {
    address: at,
    logIndex,
    topics: encodeEventTopics({ abi, eventName: 'Transfer', args: { from, to } }) as Hex[],
    data: encodeAbiParameters([{ type: 'uint256' }], [value]),
  };
}

describe('readPayments: what a settle transaction paid, from its logs', () => {
  it('groups the transfers out of the escrow after each Settled, in log order', () => {
    const logs = [transfer(3, b, 30n), settled(1, 100n), transfer(2, a, 70n), transfer(0, escrow, 999n, payer)];
    const [payment, ...rest] = readPayments(logs, escrow);
    expect(rest).toEqual([]);
    expect(payment).toMatchObject({
      logIndex: 1,
      executionId: exec,
      revision: 2n,
      receiptDigest: receipt,
      payer,
      total: 110n,
      paidNow: 100n,
      token,
      transfers: [
        { to: a, amount: 70n },
        { to: b, amount: 30n },
      ],
    });
  });

  it("ignores another contract's Settled, transfers not from the escrow, and logs it cannot decode", () => {
    const junk: PaymentLog = { address: escrow, logIndex: 5, topics: [`0x${'00'.repeat(32)}`], data: '0x' };
    expect(readPayments([settled(1, 5n, other), transfer(2, a, 5n, payer), junk], escrow)).toEqual([]);
  });

  it('refuses transfers that do not add up to paidNow, and a settlement paid in two tokens', () => {
    expect(() => readPayments([settled(1, 100n), transfer(2, a, 60n)], escrow)).toThrow(ChainError);
    expect(() => readPayments([settled(1, 100n), transfer(2, a, 60n)], escrow)).toThrow(/paid 100 now.*add up to 60/);
    expect(() =>
      readPayments([settled(1, 100n), transfer(2, a, 60n), transfer(3, b, 40n, escrow, other)], escrow),
    ).toThrow(/two tokens/);
  });
});
