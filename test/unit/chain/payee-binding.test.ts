import { beforeEach, describe, expect, it } from 'vitest';
import { hashTypedData, zeroHash } from 'viem';
import type { Hex, TypedDataDomain } from 'viem';
import type { PrivateKeyAccount } from 'viem/accounts';
import {
  SETTLEMENT_DOMAIN_NAME,
  addressBindingMessage,
  addressBindingTypedData,
  idToBytes32,
  orderMessage,
  orderTypedData,
  settlementMessage,
  settlementTypedData,
  verityDomain,
} from '../../../src/chain/typed-data.js';
import { balanceOf, chainFixture } from '../../support/chain-fixture.js';
import type { ChainFixture } from '../../support/chain-fixture.js';

/*
 * The escrow pays only accounts the coordinator bound, each with its holder's own AddressBinding signature:
 * a stolen attestor key can then move a buyer's money only to addresses the coordinator registered.
 */
describe('VeritySettlement payee bindings', () => {
  let f: ChainFixture;
  let domain: TypedDataDomain;

  beforeEach(async () => {
    f = await chainFixture();
    domain = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId, f.settlement.address);
  });

  function signBinding(principal: string, account: PrivateKeyAccount, signer: PrivateKeyAccount = account) {
    return signer.signTypedData(addressBindingTypedData(domain, addressBindingMessage(principal, account.address)));
  }

  function bind(principal: string, account: PrivateKeyAccount, signature: Hex, from = f.accounts.coordinator) {
    return f.chain.call(f.settlement, 'bindPayee', [idToBytes32(principal), account.address, signature], from.address);
  }

  /** A funded order and a settlement of it paying `payee` 100,000. */
  async function settleTo(payee: PrivateKeyAccount) {
    const order = orderMessage({
      listingId: 'listing-bind',
      workflowDigest: 'f'.repeat(64),
      payer: f.accounts.payer.address,
      token: f.usd.address,
      maxAmount: 1_000_000n,
      deadline: f.chain.now + 3600n,
      nonce: 1,
    });
    await f.chain.send(f.settlement, 'deposit', [order, 1_000_000n], f.accounts.payer.address);
    const s = settlementMessage({
      executionId: 'exec-bind',
      revision: 1,
      receiptDigest: '1'.repeat(64),
      order,
      orderDigest: hashTypedData(orderTypedData(domain, order)),
      payouts: [{ payee: payee.address, amount: 100_000n }],
    });
    return f.chain.call(
      f.settlement,
      'settle',
      [
        order,
        await f.accounts.payer.signTypedData(orderTypedData(domain, order)),
        s,
        await f.accounts.attestor.signTypedData(settlementTypedData(domain, s)),
      ],
      f.accounts.stranger.address,
    );
  }

  it("the contract's AddressBinding digest is viem's hashTypedData", async () => {
    const message = addressBindingMessage('worker:w9', f.accounts.stranger.address);
    expect(await f.chain.read(f.settlement, 'hashAddressBinding', [message.principal, message.account])).toBe(
      hashTypedData(addressBindingTypedData(domain, message)),
    );
  });

  it('refuses to pay an account nobody bound (UnboundPayee), and pays it once the coordinator binds it', async () => {
    const refused = await settleTo(f.accounts.stranger);
    expect(refused.reverted && `${refused.errorName}(${String(refused.errorArgs[0])})`).toBe(
      `UnboundPayee(${f.accounts.stranger.address})`,
    );
    expect(await f.chain.read(f.settlement, 'payeePrincipal', [f.accounts.stranger.address])).toBe(zeroHash);
    const { events, gasUsed } = await f.chain.send(
      f.settlement,
      'bindPayee',
      [idToBytes32('worker:w9'), f.accounts.stranger.address, await signBinding('worker:w9', f.accounts.stranger)],
      f.accounts.coordinator.address,
    );
    expect(events).toEqual([
      { eventName: 'PayeeBound', args: { principal: idToBytes32('worker:w9'), account: f.accounts.stranger.address } },
    ]);
    console.log(`gas: VeritySettlement.bindPayee ${gasUsed} (execution gas, a new binding)`);
    expect(await f.chain.read(f.settlement, 'payeePrincipal', [f.accounts.stranger.address])).toBe(
      idToBytes32('worker:w9'),
    );
    expect((await settleTo(f.accounts.stranger)).reverted).toBe(false);
    expect(await balanceOf(f, f.usd, f.accounts.stranger.address)).toBe(100_000n);
  });

  it('refuses a binding signed by another key than the account (InvalidBindingSignature)', async () => {
    const byAttestor = await signBinding('worker:w9', f.accounts.stranger, f.accounts.attestor);
    const outcome = await bind('worker:w9', f.accounts.stranger, byAttestor);
    expect(outcome.reverted && `${outcome.errorName}(${outcome.errorArgs.map(String).join(', ')})`).toBe(
      `InvalidBindingSignature(${f.accounts.attestor.address}, ${f.accounts.stranger.address})`,
    );
    // The holder's signature for another principal does not bind this one either.
    const forOther = await signBinding('worker:other', f.accounts.stranger);
    const mismatched = await bind('worker:w9', f.accounts.stranger, forOther);
    expect(mismatched.reverted && mismatched.errorName).toBe('InvalidBindingSignature');
  });

  it('binds only when the coordinator sends it: not the attestor, the account itself or the admin', async () => {
    const signature = await signBinding('worker:w9', f.accounts.stranger);
    for (const who of [f.accounts.attestor, f.accounts.stranger, f.accounts.admin]) {
      const outcome = await bind('worker:w9', f.accounts.stranger, signature, who);
      expect(outcome.reverted && outcome.errorName).toBe('AccessControlUnauthorizedAccount');
    }
  });

  it('rebinds an account to another principal with a new signature, and refuses the zero principal', async () => {
    expect(
      (await bind('worker:w9', f.accounts.stranger, await signBinding('worker:w9', f.accounts.stranger))).reverted,
    ).toBe(false);
    const again = await bind('worker:w10', f.accounts.stranger, await signBinding('worker:w10', f.accounts.stranger));
    expect(again.reverted).toBe(false);
    expect(await f.chain.read(f.settlement, 'payeePrincipal', [f.accounts.stranger.address])).toBe(
      idToBytes32('worker:w10'),
    );
    const zero = await f.chain.call(
      f.settlement,
      'bindPayee',
      [zeroHash, f.accounts.stranger.address, await signBinding('worker:w9', f.accounts.stranger)],
      f.accounts.coordinator.address,
    );
    expect(zero.reverted && zero.errorName).toBe('ZeroPrincipal');
  });
});
