import { beforeAll, describe, expect, it } from 'vitest';
import { hashTypedData } from 'viem';
import type { Address, Hex, TypedDataDomain } from 'viem';
import { settle } from '../../../src/attest/settlement/settle.js';
import type { SettlementOutcome } from '../../../src/attest/settlement/settle.js';
import { ChainError } from '../../../src/chain/errors.js';
import { settlementFromStatement } from '../../../src/chain/statement.js';
import type { PayableStatement } from '../../../src/chain/statement.js';
import {
  SETTLEMENT_DOMAIN_NAME,
  orderMessage,
  orderTypedData,
  settlementTypedData,
  verityDomain,
} from '../../../src/chain/typed-data.js';
import type { OrderMessage } from '../../../src/chain/typed-data.js';
import { balanceOf, bindPayee, chainFixture, testAccount } from '../../support/chain-fixture.js';
import type { ChainFixture } from '../../support/chain-fixture.js';

const TERMS = {
  model: 'per_execution',
  execution_price: 1_000_000,
  subscription_price: 0,
  markup_bps: 0,
  max_price: null,
  included_executions: 0,
  over_quota: 'charge',
  fee_bps: 500,
} as const;

/** A statement's fields as the marketplace computes them (src/attest/settlement/settle.ts). */
function statement(outcome: SettlementOutcome, executionId: string): PayableStatement {
  const full = settle(outcome, {
    terms: TERMS,
    buyer: 'alice',
    publisher: 'publisher-co',
    attestations: [
      { account: 'worker-1', cost: 200_000 },
      { account: 'sys:compute', cost: 100_000 },
    ],
    level: 'full',
  });
  return {
    executionId,
    revision: 1,
    receiptDigest: '9'.repeat(64),
    listingId: 'listing-ocr',
    buyer: 'alice',
    outcome,
    total: full.postings,
  };
}

describe('a settlement statement on chain', () => {
  let f: ChainFixture;
  let domain: TypedDataDomain;
  let nonce = 0;
  const addresses = new Map<string, Address>(
    ['worker-1', 'sys:compute', 'sys:platform', 'publisher-co'].map((account) => [
      account,
      testAccount(`statement ${account}`).address,
    ]),
  );
  const addressOf = (account: string) => addresses.get(account);

  beforeAll(async () => {
    f = await chainFixture();
    domain = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId, f.settlement.address);
    for (const account of addresses.keys()) await bindPayee(f, testAccount(`statement ${account}`), account);
  });

  async function fundedOrder(): Promise<{ order: OrderMessage; orderSig: Hex; orderDigest: Hex }> {
    nonce += 1;
    const order = orderMessage({
      listingId: 'listing-ocr',
      workflowDigest: 'f'.repeat(64),
      payer: f.accounts.payer.address,
      token: f.usd.address,
      maxAmount: 1_000_000,
      deadline: f.chain.now + 3600n,
      nonce,
    });
    await f.chain.send(f.settlement, 'deposit', [order, 1_000_000n], f.accounts.payer.address);
    return {
      order,
      orderSig: await f.accounts.payer.signTypedData(orderTypedData(domain, order)),
      orderDigest: hashTypedData(orderTypedData(domain, order)),
    };
  }

  it("a completed run pays each credited account exactly its posting, all from the buyer's price", async () => {
    const before = new Map<string, bigint>();
    for (const [account, address] of addresses) before.set(account, await balanceOf(f, f.usd, address));
    const { order, orderSig, orderDigest } = await fundedOrder();
    const stmt = statement('completed', 'exec-completed');
    const { message, unbound } = settlementFromStatement(stmt, order, orderDigest, addressOf);
    expect(unbound).toEqual([]);
    const attestorSig = await f.accounts.attestor.signTypedData(settlementTypedData(domain, message));
    const { events } = await f.chain.send(
      f.settlement,
      'settle',
      [order, orderSig, message, attestorSig],
      f.accounts.stranger.address,
    );
    for (const posting of stmt.total.filter((p) => p.amount > 0)) {
      const address = addresses.get(posting.account);
      if (!address) throw new Error(`no address for ${posting.account}`);
      expect(await balanceOf(f, f.usd, address)).toBe((before.get(posting.account) ?? 0n) + BigInt(posting.amount));
    }
    // The buyer's posting is −P: what the escrow paid out in total.
    const buyerPosting = stmt.total.find((p) => p.account === 'alice');
    expect(events.find((e) => e.eventName === 'Settled')?.args).toMatchObject({
      total: BigInt(-(buyerPosting?.amount ?? 0)),
    });
  });

  it('a cancelled run pays the compute only; an account without an address is left out and listed', async () => {
    const { order, orderDigest } = await fundedOrder();
    const { message, unbound } = settlementFromStatement(
      statement('cancelled', 'exec-cancelled'),
      order,
      orderDigest,
      (account) => (account === 'worker-1' ? undefined : addressOf(account)),
    );
    expect(message.payouts).toEqual([{ payee: addresses.get('sys:compute'), amount: 100_000n }]);
    expect(unbound).toEqual([{ account: 'worker-1', amount: 200_000, why: 'compute' }]);
  });

  it('a failed run, a debit other than the buyer, or an order for another listing is refused', async () => {
    const { order, orderDigest } = await fundedOrder();
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        if (error instanceof ChainError) return error.code;
        throw error;
      }
      return undefined;
    };
    expect(code(() => settlementFromStatement(statement('failed', 'x'), order, orderDigest, addressOf))).toBe(
      'not_payable',
    );
    const completed = statement('completed', 'x');
    const publisherPays = {
      ...completed,
      total: [...completed.total, { account: 'publisher-co', amount: -1, why: 'failed_run' as const }],
    };
    expect(code(() => settlementFromStatement(publisherPays, order, orderDigest, addressOf))).toBe('not_payable');
    expect(
      code(() => settlementFromStatement({ ...completed, listingId: 'other' }, order, orderDigest, addressOf)),
    ).toBe('order_mismatch');
  });
});
