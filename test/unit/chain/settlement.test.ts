import { beforeEach, describe, expect, it } from 'vitest';
import { hashTypedData } from 'viem';
import type { Address, Hex, TypedDataDomain } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import {
  SETTLEMENT_DOMAIN_NAME,
  idToBytes32,
  orderMessage,
  orderTypedData,
  settlementMessage,
  settlementTypedData,
  verityDomain,
} from '../../../src/chain/typed-data.js';
import type { OrderMessage, SettlementMessage } from '../../../src/chain/typed-data.js';
import { PAYER_FUNDS, balanceOf, chainFixture } from '../../support/chain-fixture.js';
import type { ChainFixture } from '../../support/chain-fixture.js';
import { malleate } from '../../support/evm-chain.js';

const WORKFLOW = 'f'.repeat(64);
const RECEIPT_1 = '1'.repeat(64);
const RECEIPT_2 = '2'.repeat(64);
const MAX_AMOUNT = 2_000_000n;
const DEPOSIT = 1_500_000n;

describe('VeritySettlement', () => {
  let f: ChainFixture;
  let domain: TypedDataDomain;
  let order: OrderMessage;
  let orderSig: Hex;
  let orderDigest: Hex;

  beforeEach(async () => {
    f = await chainFixture();
    domain = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId, f.settlement.address);
    order = orderMessage({
      listingId: 'listing-ocr',
      workflowDigest: WORKFLOW,
      payer: f.accounts.payer.address,
      token: f.usd.address,
      maxAmount: MAX_AMOUNT,
      deadline: f.chain.now + 86_400n,
      nonce: 1,
    });
    orderSig = await f.accounts.payer.signTypedData(orderTypedData(domain, order));
    orderDigest = hashTypedData(orderTypedData(domain, order));
    await f.chain.send(f.settlement, 'deposit', [order, DEPOSIT], f.accounts.payer.address);
  });

  /** A completed run's payouts: worker compute, platform fee, publisher proceeds (cumulative, micro-units). */
  function settlementFor(
    overrides: Partial<{
      revision: number;
      receiptDigest: string;
      executionId: string;
      payouts: { payee: Address; amount: bigint }[];
    }> = {},
  ): SettlementMessage {
    return settlementMessage({
      executionId: overrides.executionId ?? 'exec-1',
      revision: overrides.revision ?? 1,
      receiptDigest: overrides.receiptDigest ?? RECEIPT_1,
      order,
      orderDigest,
      payouts: overrides.payouts ?? [
        { payee: f.accounts.worker.address, amount: 300_000n },
        { payee: f.accounts.platform.address, amount: 100_000n },
        { payee: f.accounts.publisher.address, amount: 600_000n },
      ],
    });
  }

  function attest(s: SettlementMessage, signer: PrivateKeyAccount = f.accounts.attestor, d = domain): Promise<Hex> {
    return signer.signTypedData(settlementTypedData(d, s));
  }

  async function settle(s: SettlementMessage, attestorSig?: Hex, o: OrderMessage = order, oSig: Hex = orderSig) {
    return f.chain.send(
      f.settlement,
      'settle',
      [o, oSig, s, attestorSig ?? (await attest(s))],
      f.accounts.stranger.address,
    );
  }

  async function refusal(s: SettlementMessage, attestorSig?: Hex, o: OrderMessage = order, oSig: Hex = orderSig) {
    const outcome = await f.chain.call(
      f.settlement,
      'settle',
      [o, oSig, s, attestorSig ?? (await attest(s))],
      f.accounts.stranger.address,
    );
    if (!outcome.reverted) throw new Error('settle did not revert');
    return outcome.errorName;
  }

  it("the contract's Order and Settlement digests are viem's hashTypedData", async () => {
    expect(await f.chain.read(f.settlement, 'hashOrder', [order])).toBe(orderDigest);
    const s = settlementFor();
    expect(await f.chain.read(f.settlement, 'hashSettlement', [s])).toBe(hashTypedData(settlementTypedData(domain, s)));
    // An empty payout list hashes too (a cancelled run with no compute).
    const empty = settlementFor({ payouts: [] });
    expect(await f.chain.read(f.settlement, 'hashSettlement', [empty])).toBe(
      hashTypedData(settlementTypedData(domain, empty)),
    );
    // A result digest and a pinned zk verifier are in the digests too.
    const withResult: SettlementMessage = { ...s, resultDigest: `0x${'ab'.repeat(32)}` };
    expect(await f.chain.read(f.settlement, 'hashSettlement', [withResult])).toBe(
      hashTypedData(settlementTypedData(domain, withResult)),
    );
    const zkOrder: OrderMessage = { ...order, zkVerifier: f.token.address };
    expect(await f.chain.read(f.settlement, 'hashOrder', [zkOrder])).toBe(
      hashTypedData(orderTypedData(domain, zkOrder)),
    );
  });

  it("pays the payees from the payer's deposit and emits Settled with the receipt digest", async () => {
    const s = settlementFor();
    const { events, gasUsed } = await settle(s);
    expect(await balanceOf(f, f.usd, f.accounts.worker.address)).toBe(300_000n);
    expect(await balanceOf(f, f.usd, f.accounts.platform.address)).toBe(100_000n);
    expect(await balanceOf(f, f.usd, f.accounts.publisher.address)).toBe(600_000n);
    expect(await balanceOf(f, f.usd, f.settlement.address)).toBe(DEPOSIT - 1_000_000n);
    expect(await balanceOf(f, f.usd, f.accounts.payer.address)).toBe(PAYER_FUNDS - DEPOSIT);
    expect(events.find((e) => e.eventName === 'Settled')?.args).toEqual({
      executionId: idToBytes32('exec-1'),
      revision: 1n,
      receiptDigest: `0x${RECEIPT_1}`,
      payer: f.accounts.payer.address,
      total: 1_000_000n,
      paidNow: 1_000_000n,
    });
    console.log(`gas: VeritySettlement.settle ${gasUsed} (execution gas, 3 payouts to new holders)`);
  });

  it("a retried execution's new revision pays only the difference", async () => {
    await settle(settlementFor());
    // Revision 2 (a new receipt): the worker's compute grew by 50,000 and the publisher's proceeds by 100,000.
    const retry = settlementFor({
      revision: 2,
      receiptDigest: RECEIPT_2,
      payouts: [
        { payee: f.accounts.worker.address, amount: 350_000n },
        { payee: f.accounts.platform.address, amount: 100_000n },
        { payee: f.accounts.publisher.address, amount: 700_000n },
      ],
    });
    const { events } = await settle(retry);
    expect(await balanceOf(f, f.usd, f.accounts.worker.address)).toBe(350_000n);
    expect(await balanceOf(f, f.usd, f.accounts.platform.address)).toBe(100_000n);
    expect(await balanceOf(f, f.usd, f.accounts.publisher.address)).toBe(700_000n);
    expect(await balanceOf(f, f.usd, f.settlement.address)).toBe(DEPOSIT - 1_150_000n);
    expect(events.find((e) => e.eventName === 'Settled')?.args).toMatchObject({ total: 1_150_000n, paidNow: 150_000n });
  });

  it('a later revision settles alone without losing a skipped one (cumulative payouts)', async () => {
    await settle(settlementFor({ revision: 3 }));
    expect(await balanceOf(f, f.usd, f.accounts.publisher.address)).toBe(600_000n);
    expect(await refusal(settlementFor({ revision: 2 }))).toBe('RevisionAlreadySettled');
  });

  it('refuses a replayed revision (RevisionAlreadySettled)', async () => {
    const s = settlementFor();
    const signature = await attest(s);
    await settle(s, signature);
    expect(await refusal(s, signature)).toBe('RevisionAlreadySettled');
  });

  it('refuses a settlement signed for another chain id or another contract', async () => {
    const s = settlementFor();
    const otherChain = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId + 1n, f.settlement.address);
    expect(await refusal(s, await attest(s, f.accounts.attestor, otherChain))).toBe('UnauthorizedAttestor');
    const otherContract = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId, f.token.address);
    expect(await refusal(s, await attest(s, f.accounts.attestor, otherContract))).toBe('UnauthorizedAttestor');
  });

  it('refuses an order signed for another chain id or another contract (InvalidOrderSignature)', async () => {
    const otherChain = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId + 1n, f.settlement.address);
    const foreignSig = await f.accounts.payer.signTypedData(orderTypedData(otherChain, order));
    expect(await refusal(settlementFor(), undefined, order, foreignSig)).toBe('InvalidOrderSignature');
    const otherContract = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId, f.token.address);
    const misdirectedSig = await f.accounts.payer.signTypedData(orderTypedData(otherContract, order));
    expect(await refusal(settlementFor(), undefined, order, misdirectedSig)).toBe('InvalidOrderSignature');
  });

  it('refuses a zero execution id (ZeroExecutionId): zero marks an order no execution has drawn on', async () => {
    expect(await refusal({ ...settlementFor(), executionId: `0x${'0'.repeat(64)}` })).toBe('ZeroExecutionId');
  });

  it('refuses a settlement signer without ATTESTOR_ROLE (UnauthorizedAttestor)', async () => {
    const s = settlementFor();
    expect(await refusal(s, await attest(s, f.accounts.stranger))).toBe('UnauthorizedAttestor');
    // Administering the attestors is not attesting: the coordinator holds COORDINATOR_ROLE, not ATTESTOR_ROLE.
    expect(await refusal(s, await attest(s, f.accounts.coordinator))).toBe('UnauthorizedAttestor');
  });

  it('refuses an order not signed by its payer (InvalidOrderSignature)', async () => {
    const byStranger = await f.accounts.stranger.signTypedData(orderTypedData(domain, order));
    expect(await refusal(settlementFor(), undefined, order, byStranger)).toBe('InvalidOrderSignature');
  });

  it('refuses a settlement for another order, listing, workflow or payer (SettlementNotForOrder)', async () => {
    const s = settlementFor();
    const changes: SettlementMessage[] = [
      { ...s, orderDigest: `0x${'0'.repeat(64)}` },
      { ...s, listingId: idToBytes32('another-listing') },
      { ...s, workflowDigest: `0x${'e'.repeat(64)}` },
      { ...s, payer: f.accounts.stranger.address },
      { ...s, token: f.token.address },
    ];
    for (const changed of changes) {
      expect(await refusal(changed)).toBe('SettlementNotForOrder');
    }
  });

  it('refuses a settlement whose payouts were changed after signing (the signer no longer matches)', async () => {
    const s = settlementFor();
    const signature = await attest(s);
    const [first, ...rest] = s.payouts;
    if (!first) throw new Error('no payout');
    expect(await refusal({ ...s, payouts: [{ ...first, amount: first.amount + 1n }, ...rest] }, signature)).toBe(
      'UnauthorizedAttestor',
    );
    expect(
      await refusal({ ...s, payouts: [{ ...first, payee: f.accounts.stranger.address }, ...rest] }, signature),
    ).toBe('UnauthorizedAttestor');
  });

  it('refuses the high-s twin of the attestor or the payer signature (ECDSAInvalidSignatureS)', async () => {
    const s = settlementFor();
    const signature = await attest(s);
    expect(await refusal(s, malleate(signature))).toBe('ECDSAInvalidSignatureS');
    expect(await refusal(s, signature, order, malleate(orderSig))).toBe('ECDSAInvalidSignatureS');
    await settle(s, signature);
  });

  it("refuses a cumulative total over the buyer's maxAmount (OverMaxAmount), also across revisions", async () => {
    await f.chain.send(f.settlement, 'deposit', [order, MAX_AMOUNT], f.accounts.payer.address);
    const over = settlementFor({ payouts: [{ payee: f.accounts.publisher.address, amount: MAX_AMOUNT + 1n }] });
    expect(await refusal(over)).toBe('OverMaxAmount');
    await settle(settlementFor());
    const retry = settlementFor({
      revision: 2,
      payouts: [
        { payee: f.accounts.worker.address, amount: 300_000n },
        { payee: f.accounts.platform.address, amount: 100_000n },
        { payee: f.accounts.publisher.address, amount: MAX_AMOUNT - 400_000n + 1n },
      ],
    });
    expect(await refusal(retry)).toBe('OverMaxAmount');
  });

  it('refuses to pay more than the deposit holds (InsufficientDeposit)', async () => {
    const s = settlementFor({ payouts: [{ payee: f.accounts.publisher.address, amount: DEPOSIT + 1n }] });
    expect(await refusal(s)).toBe('InsufficientDeposit');
  });

  it('refuses after the order deadline (OrderExpired)', async () => {
    const s = settlementFor();
    const signature = await attest(s);
    f.chain.now = order.deadline + 1n;
    expect(await refusal(s, signature)).toBe('OrderExpired');
  });

  it('funds one execution per order (OrderFundsOtherExecution)', async () => {
    await settle(settlementFor());
    expect(await refusal(settlementFor({ executionId: 'exec-2' }))).toBe('OrderFundsOtherExecution');
  });

  it("draws an execution's revisions on one order only (ExecutionDrawsOnOtherOrder)", async () => {
    await settle(settlementFor());
    // The same buyer's second order: revision 2 of exec-1 must not start afresh on it.
    const second = orderMessage({
      listingId: 'listing-ocr',
      workflowDigest: WORKFLOW,
      payer: f.accounts.payer.address,
      token: f.usd.address,
      maxAmount: MAX_AMOUNT,
      deadline: order.deadline,
      nonce: 2,
    });
    await f.chain.send(f.settlement, 'deposit', [second, DEPOSIT], f.accounts.payer.address);
    const secondSig = await f.accounts.payer.signTypedData(orderTypedData(domain, second));
    const onSecond = settlementMessage({
      executionId: 'exec-1',
      revision: 2,
      receiptDigest: RECEIPT_2,
      order: second,
      orderDigest: hashTypedData(orderTypedData(domain, second)),
      payouts: [{ payee: f.accounts.publisher.address, amount: 900_000n }],
    });
    expect(await refusal(onSecond, undefined, second, secondSig)).toBe('ExecutionDrawsOnOtherOrder');
  });

  it('refuses unsorted or repeated payees (PayoutsNotSorted) and a lowered cumulative payout (PayoutBelowPaid)', async () => {
    const s = settlementFor();
    expect(await refusal({ ...s, payouts: [...s.payouts].reverse() })).toBe('PayoutsNotSorted');
    const [first] = s.payouts;
    if (!first) throw new Error('no payout');
    expect(await refusal({ ...s, payouts: [first, first] })).toBe('PayoutsNotSorted');
    await settle(s);
    const lowered = settlementFor({
      revision: 2,
      payouts: [{ payee: f.accounts.publisher.address, amount: 500_000n }],
    });
    expect(await refusal(lowered)).toBe('PayoutBelowPaid');
  });

  it('returns the unsettled rest to the payer only after the deadline (OrderNotExpired, then Reclaimed)', async () => {
    await settle(settlementFor());
    const early = await f.chain.call(f.settlement, 'reclaim', [order], f.accounts.stranger.address);
    expect(early.reverted && early.errorName).toBe('OrderNotExpired');
    f.chain.now = order.deadline + 1n;
    const { events } = await f.chain.send(f.settlement, 'reclaim', [order], f.accounts.stranger.address);
    expect(events.find((e) => e.eventName === 'Reclaimed')?.args).toMatchObject({ amount: DEPOSIT - 1_000_000n });
    expect(await balanceOf(f, f.usd, f.accounts.payer.address)).toBe(PAYER_FUNDS - 1_000_000n);
    expect(await balanceOf(f, f.usd, f.settlement.address)).toBe(0n);
    const again = await f.chain.call(f.settlement, 'reclaim', [order], f.accounts.stranger.address);
    expect(again.reverted && again.errorName).toBe('NothingToReclaim');
  });

  it('takes deposits only from the payer, before the deadline (NotPayer, OrderExpired)', async () => {
    const byStranger = await f.chain.call(f.settlement, 'deposit', [order, 1n], f.accounts.stranger.address);
    expect(byStranger.reverted && byStranger.errorName).toBe('NotPayer');
    f.chain.now = order.deadline + 1n;
    const late = await f.chain.call(f.settlement, 'deposit', [order, 1n], f.accounts.payer.address);
    expect(late.reverted && late.errorName).toBe('OrderExpired');
  });
});
