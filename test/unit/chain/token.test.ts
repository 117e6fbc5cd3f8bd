import { beforeEach, describe, expect, it } from 'vitest';
import { hashTypedData } from 'viem';
import type { Address, Hex, TypedDataDomain } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import {
  TOKEN_DOMAIN_NAME,
  receiptMintMessage,
  receiptMintTypedData,
  verityDomain,
} from '../../../src/chain/typed-data.js';
import type { ReceiptMintMessage } from '../../../src/chain/typed-data.js';
import { MINT_BUDGET, REWARD_CAP_PER_RECEIPT, balanceOf, chainFixture } from '../../support/chain-fixture.js';
import type { ChainFixture } from '../../support/chain-fixture.js';
import { malleate } from '../../support/evm-chain.js';

const RECEIPT = 'a'.repeat(64);
const OTHER_RECEIPT = 'b'.repeat(64);

describe('VerityToken.mintWithReceipt', () => {
  let f: ChainFixture;
  let domain: TypedDataDomain;

  beforeEach(async () => {
    f = await chainFixture();
    domain = verityDomain(TOKEN_DOMAIN_NAME, f.chain.chainId, f.token.address);
  });

  function mint(overrides: Partial<{ receiptDigest: string; payee: Address; amount: bigint; deadline: bigint }> = {}) {
    return receiptMintMessage({
      receiptDigest: overrides.receiptDigest ?? RECEIPT,
      executionId: 'exec-1',
      payee: overrides.payee ?? f.accounts.worker.address,
      amount: overrides.amount ?? 400_000n,
      deadline: overrides.deadline ?? f.chain.now + 3600n,
    });
  }

  function sign(
    message: ReceiptMintMessage,
    signer: PrivateKeyAccount = f.accounts.attestor,
    d = domain,
  ): Promise<Hex> {
    return signer.signTypedData(receiptMintTypedData(d, message));
  }

  async function refusal(message: ReceiptMintMessage, signature: Hex): Promise<string> {
    const outcome = await f.chain.call(f.token, 'mintWithReceipt', [message, signature], f.accounts.stranger.address);
    if (!outcome.reverted) throw new Error('mintWithReceipt did not revert');
    return outcome.errorName;
  }

  it('has 6 decimals: one token unit is one micro-unit', async () => {
    expect(await f.chain.read(f.token, 'decimals')).toBe(6);
  });

  it("mints to the payee for an attestor's signature, submitted by anyone, and says so in ReceiptMinted", async () => {
    const message = mint();
    const { events, gasUsed } = await f.chain.send(
      f.token,
      'mintWithReceipt',
      [message, await sign(message)],
      f.accounts.stranger.address,
    );
    expect(await balanceOf(f, f.token, f.accounts.worker.address)).toBe(400_000n);
    expect(await f.chain.read(f.token, 'mintBudget')).toBe(MINT_BUDGET - 400_000n);
    expect(events.find((e) => e.eventName === 'ReceiptMinted')?.args).toEqual({
      receiptDigest: message.receiptDigest,
      executionId: message.executionId,
      payee: f.accounts.worker.address,
      amount: 400_000n,
    });
    console.log(`gas: VerityToken.mintWithReceipt ${gasUsed} (execution gas, first mint to a new holder)`);
  });

  it("the contract's digest is viem's hashTypedData", async () => {
    const message = mint();
    expect(await f.chain.read(f.token, 'hashReceiptMint', [message])).toBe(
      hashTypedData(receiptMintTypedData(domain, message)),
    );
  });

  it('mints once per (receipt, payee): a replay reverts ReceiptAlreadyMinted, another payee of the receipt is paid', async () => {
    const message = mint();
    const signature = await sign(message);
    await f.chain.send(f.token, 'mintWithReceipt', [message, signature], f.accounts.stranger.address);
    expect(await refusal(message, signature)).toBe('ReceiptAlreadyMinted');
    const other = mint({ payee: f.accounts.publisher.address, amount: 100_000n });
    await f.chain.send(f.token, 'mintWithReceipt', [other, await sign(other)], f.accounts.stranger.address);
    expect(await balanceOf(f, f.token, f.accounts.publisher.address)).toBe(100_000n);
  });

  it('refuses a signature for another chain id or another contract (the signer recovers as a stranger)', async () => {
    const message = mint();
    const otherChain = verityDomain(TOKEN_DOMAIN_NAME, f.chain.chainId + 1n, f.token.address);
    expect(await refusal(message, await sign(message, f.accounts.attestor, otherChain))).toBe('UnauthorizedAttestor');
    const otherContract = verityDomain(TOKEN_DOMAIN_NAME, f.chain.chainId, f.settlement.address);
    expect(await refusal(message, await sign(message, f.accounts.attestor, otherContract))).toBe(
      'UnauthorizedAttestor',
    );
  });

  it('refuses a signer without ATTESTOR_ROLE, and a revoked attestor', async () => {
    const message = mint();
    expect(await refusal(message, await sign(message, f.accounts.stranger))).toBe('UnauthorizedAttestor');
    // The coordinator administers the attestors: it revokes a key without the admin.
    const role = (await f.chain.read(f.token, 'ATTESTOR_ROLE')) as Hex;
    await f.chain.send(f.token, 'revokeRole', [role, f.accounts.attestor.address], f.accounts.coordinator.address);
    expect(await refusal(message, await sign(message))).toBe('UnauthorizedAttestor');
  });

  it('caps what all payees of one receipt get together (RewardOverCap)', async () => {
    const over = mint({ amount: REWARD_CAP_PER_RECEIPT + 1n });
    expect(await refusal(over, await sign(over))).toBe('RewardOverCap');
    const first = mint({ amount: REWARD_CAP_PER_RECEIPT - 10n });
    await f.chain.send(f.token, 'mintWithReceipt', [first, await sign(first)], f.accounts.stranger.address);
    const second = mint({ payee: f.accounts.publisher.address, amount: 11n });
    expect(await refusal(second, await sign(second))).toBe('RewardOverCap');
  });

  it('mints no more than the budget, so a stolen attestor key is bounded (MintBudgetExceeded)', async () => {
    for (const [i, receipt] of [RECEIPT, OTHER_RECEIPT].entries()) {
      const message = mint({ receiptDigest: receipt, amount: REWARD_CAP_PER_RECEIPT });
      await f.chain.send(f.token, 'mintWithReceipt', [message, await sign(message)], f.accounts.stranger.address);
      expect(await f.chain.read(f.token, 'mintBudget')).toBe(MINT_BUDGET - BigInt(i + 1) * REWARD_CAP_PER_RECEIPT);
    }
    const third = mint({ receiptDigest: 'c'.repeat(64), amount: REWARD_CAP_PER_RECEIPT });
    expect(await refusal(third, await sign(third))).toBe('MintBudgetExceeded');
  });

  it('mints nothing while the cap is 0 (MintingDisabled), and only the admin sets the policy', async () => {
    const denied = await f.chain.call(f.token, 'setRewardPolicy', [0n, 0n], f.accounts.coordinator.address);
    expect(denied.reverted && denied.errorName).toBe('AccessControlUnauthorizedAccount');
    await f.chain.send(f.token, 'setRewardPolicy', [0n, MINT_BUDGET], f.accounts.admin.address);
    const message = mint();
    expect(await refusal(message, await sign(message))).toBe('MintingDisabled');
  });

  it('refuses a mint after its deadline (MintExpired)', async () => {
    const message = mint({ deadline: f.chain.now + 60n });
    const signature = await sign(message);
    f.chain.now += 61n;
    expect(await refusal(message, signature)).toBe('MintExpired');
  });

  it('refuses the high-s twin of a valid signature (ECDSAInvalidSignatureS)', async () => {
    const message = mint();
    const signature = await sign(message);
    expect(await refusal(message, malleate(signature))).toBe('ECDSAInvalidSignatureS');
    // The low-s original still works: the refusal was the encoding, not the authorisation.
    await f.chain.send(f.token, 'mintWithReceipt', [message, signature], f.accounts.stranger.address);
  });

  it('refuses a changed amount or payee (the signature no longer matches)', async () => {
    const message = mint();
    const signature = await sign(message);
    expect(await refusal({ ...message, amount: message.amount + 1n }, signature)).toBe('UnauthorizedAttestor');
    expect(await refusal({ ...message, payee: f.accounts.stranger.address }, signature)).toBe('UnauthorizedAttestor');
  });
});
