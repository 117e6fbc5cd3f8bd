import { describe, expect, it } from 'vitest';
import { getAddress, keccak256, stringToBytes } from 'viem';
import type { Hex } from 'viem';
import { parseSettleFile, parseUnits } from '../../../src/cli/commands/chain-input.js';
import { CliError } from '../../../src/cli/errors.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../../src/attest/dsse.js';
import { settlementStatement } from '../../../src/attest/settlement/statement.js';
import type { SettlementPredicate } from '../../../src/attest/settlement/statement.js';
import { statementBytes } from '../../../src/attest/statement.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';

const payer = getAddress('0x' + '11'.repeat(20));
const token = getAddress('0x' + '22'.repeat(20));
const low = getAddress('0x' + '0a'.repeat(20));
const high = getAddress('0x' + 'f0'.repeat(20));
const digest: Hex = `0x${'cd'.repeat(32)}`;

function file(overrides: { order?: object; settlement?: object; orderSignature?: string } = {}) {
  return {
    order: {
      listingId: 'lst_1',
      workflowDigest: 'a'.repeat(64),
      payer,
      token,
      maxAmount: '9007199254740993', // beyond a double: kept exact
      deadline: 1_800_000_000,
      nonce: 0,
      ...overrides.order,
    },
    orderSignature: overrides.orderSignature ?? `0x${'ab'.repeat(65)}`,
    settlement: {
      executionId: 'exe_1',
      revision: 2,
      receiptDigest: 'b'.repeat(64),
      payouts: [
        { payee: high, amount: 5 },
        { payee: low, amount: '7' },
        { payee: high, amount: 1 },
      ],
      ...overrides.settlement,
    },
  };
}

const noKey = (): string => {
  throw new Error('a settlement needs no coordinator key');
};

async function usageMessage(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('parseSettleFile', () => {
  it('hashes the ids, keeps big amounts exact, sorts and merges payouts and names the order digest', async () => {
    const { order, settlement } = await parseSettleFile(file(), () => digest, noKey);
    expect(order.maxAmount).toBe(9007199254740993n);
    expect(order.listingId).toBe(keccak256(stringToBytes('lst_1')));
    expect(settlement.executionId).toBe(keccak256(stringToBytes('exe_1')));
    expect(settlement.revision).toBe(2n);
    expect(settlement.orderDigest).toBe(digest);
    expect(settlement.payouts).toEqual([
      { payee: low, amount: 7n },
      { payee: high, amount: 6n },
    ]);
  });

  it('names the field that is wrong, under --file', async () => {
    expect(await usageMessage(() => parseSettleFile(file({ order: { maxAmount: -1 } }), () => digest, noKey))).toMatch(
      /^--file: order\.maxAmount/,
    );
    expect(await usageMessage(() => parseSettleFile(file({ orderSignature: '0x12' }), () => digest, noKey))).toMatch(
      /^--file: orderSignature: must be a 65-byte signature/,
    );
    expect(
      await usageMessage(() => parseSettleFile(file({ settlement: { revision: 0 } }), () => digest, noKey)),
    ).toMatch(/^--file: settlement\.revision/);
    expect(await usageMessage(() => parseSettleFile({ ...file(), extra: 1 }, () => digest, noKey))).toMatch(
      /^--file: /,
    );
    expect(
      await usageMessage(() => parseSettleFile(file({ order: { payer: 'nobody' } }), () => digest, noKey)),
    ).toContain('nobody is not an address');
  });
});

describe('parseSettleFile with a settlement statement', () => {
  const coordinator = LocalSigner.generate();
  const predicate: SettlementPredicate = {
    executionId: 'exe_1',
    revision: 1,
    receiptDigest: 'b'.repeat(64),
    listingId: 'lst_1',
    buyer: 'alice',
    publisher: 'acme',
    verificationLevel: 'basic',
    outcome: 'completed',
    terms: {
      model: 'per_execution',
      executionPrice: 1000,
      subscriptionPrice: 0,
      markupBps: 0,
      maxPrice: null,
      includedExecutions: 0,
      overQuota: 'charge',
      feeBps: 500,
    },
    buyerMaxPrice: null,
    includedRun: false,
    computeCost: 300,
    price: 1000,
    fee: 50,
    total: [
      { account: 'alice', amount: -1000, why: 'price' },
      { account: 'worker:w1', amount: 300, why: 'compute' },
      { account: 'sys:platform', amount: 50, why: 'fee' },
      { account: 'acme', amount: 650, why: 'proceeds' },
    ],
    postings: [],
    settledAt: '2026-12-06T00:00:00.000Z',
  };
  const envelope = (p: SettlementPredicate, signer = coordinator) =>
    signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(settlementStatement(p)), signer);
  const addresses = { 'worker:w1': high, 'sys:platform': low, acme: payer };
  const statementFile = (extra: object = {}) => {
    const { settlement: _, ...rest } = file();
    return { ...rest, statement: envelope(predicate), addresses, ...extra };
  };
  const key = () => coordinator.publicKeyPem;

  it("pays the statement's credits to the accounts' addresses, cumulative, sorted", async () => {
    const { settlement } = await parseSettleFile(statementFile(), () => digest, key);
    expect(settlement.revision).toBe(1n);
    expect(settlement.receiptDigest).toBe(`0x${'b'.repeat(64)}`);
    expect(settlement.payouts).toEqual([
      { payee: low, amount: 50n },
      { payee: payer, amount: 650n },
      { payee: high, amount: 300n },
    ]);
  });

  it('refuses a statement another key signed, or one whose signature no longer covers it', async () => {
    const stranger = LocalSigner.generate();
    expect(
      await usageMessage(() =>
        parseSettleFile(statementFile({ statement: envelope(predicate, stranger) }), () => digest, key),
      ),
    ).toMatch(/^--file: the settlement statement is not signed by this coordinator's key/);
    const tampered = envelope(predicate);
    tampered.payload = envelope({ ...predicate, fee: 0 }).payload;
    expect(
      await usageMessage(() => parseSettleFile(statementFile({ statement: tampered }), () => digest, key)),
    ).toMatch(/^--file: the settlement statement is not signed/);
  });

  it('refuses a statement that pays an account with no address, and a failed run', async () => {
    const { acme: _, ...partial } = addresses;
    expect(await usageMessage(() => parseSettleFile(statementFile({ addresses: partial }), () => digest, key))).toBe(
      '--file: addresses has no address for acme, whom the statement pays',
    );
    const failed = envelope({ ...predicate, outcome: 'failed' });
    expect(await usageMessage(() => parseSettleFile(statementFile({ statement: failed }), () => digest, key))).toMatch(
      /^--file: execution exe_1 settled failed/,
    );
  });

  it('takes a settlement or a statement, not both', async () => {
    expect(
      await usageMessage(() => parseSettleFile({ ...file(), statement: envelope(predicate) }, () => digest, key)),
    ).toMatch(/either settlement or statement/);
  });
});

describe('parseUnits', () => {
  it('takes whole non-negative numbers only', () => {
    expect(parseUnits('0')).toBe(0n);
    expect(parseUnits(' 42 ')).toBe(42n);
    for (const bad of ['-1', '1.5', '1e6', '', '0x10']) expect(() => parseUnits(bad)).toThrow(/whole number/);
  });
});
