import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData, hashTypedData } from 'viem';
import type { Hex } from 'viem';
import { compileSource } from '../../../src/chain/compile.js';
import { zkBatches } from '../../../src/chain/zk-batches.js';
import {
  SETTLEMENT_DOMAIN_NAME,
  addressBindingMessage,
  addressBindingTypedData,
  TOKEN_DOMAIN_NAME,
  orderMessage,
  orderTypedData,
  receiptMintMessage,
  receiptMintTypedData,
  settlementMessage,
  settlementTypedData,
  verityDomain,
} from '../../../src/chain/typed-data.js';
import { bindPayee, chainFixture, testAccount } from '../../support/chain-fixture.js';
import { testProver } from '../../support/zk-proofs.js';
import type { ProvenExecution, TestProver } from '../../support/zk-proofs.js';

/** Base and calldata gas of a transaction carrying `data` (EIP-2028 pricing, before EIP-7623's floor). */
function intrinsicGas(data: Hex): bigint {
  let gas = 21_000n;
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === '00' ? 4n : 16n;
  return gas;
}

let prover: TestProver;
let proven: ProvenExecution;

beforeAll(async () => {
  prover = await testProver();
  proven = await prover.prove('exec-gas-zk', 1);
}, 30 * 60_000);

afterAll(async () => {
  await prover.close();
});

// The figures this prints are the ones the report and docs/chain.md quote; the bounds catch a regression
// (an extra storage slot per payout is 22,100 gas) without pinning the exact compiler output.
describe('gas of settle, settleWithProofs, bindPayee and mintWithReceipt (in-process EVM, execution gas)', () => {
  it('measures first and repeated calls', async () => {
    const f = await chainFixture();
    const rows: [string, bigint, bigint][] = [];

    const tokenDomain = verityDomain(TOKEN_DOMAIN_NAME, f.chain.chainId, f.token.address);
    for (const [label, receipt] of [
      ['mintWithReceipt, new holder', 'a'.repeat(64)],
      ['mintWithReceipt, holder with a balance', 'b'.repeat(64)],
    ] as const) {
      const m = receiptMintMessage({
        receiptDigest: receipt,
        executionId: 'exec-gas',
        payee: f.accounts.worker.address,
        amount: 1_000n,
        deadline: f.chain.now + 60n,
      });
      const args = [m, await f.accounts.attestor.signTypedData(receiptMintTypedData(tokenDomain, m))] as const;
      const { gasUsed } = await f.chain.send(f.token, 'mintWithReceipt', args, f.accounts.stranger.address);
      rows.push([
        label,
        gasUsed,
        intrinsicGas(encodeFunctionData({ abi: f.token.abi, functionName: 'mintWithReceipt', args })),
      ]);
    }

    const domain = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId, f.settlement.address);
    for (const [label, nonce, count] of [
      ['settle, 1 payout', 1, 1],
      ['settle, 3 payouts', 2, 3],
    ] as const) {
      const order = orderMessage({
        listingId: 'listing-gas',
        workflowDigest: 'f'.repeat(64),
        payer: f.accounts.payer.address,
        token: f.usd.address,
        maxAmount: 10_000_000n,
        deadline: f.chain.now + 3600n,
        nonce,
      });
      await f.chain.send(f.settlement, 'deposit', [order, 10_000_000n], f.accounts.payer.address);
      // Payees that hold no token yet, so revision 1 pays for their first balance as a real first payout would.
      const payeeAccounts = Array.from({ length: count }, (_, i) => testAccount(`gas payee ${nonce}.${i}`));
      for (const [i, account] of payeeAccounts.entries()) await bindPayee(f, account, `worker:gas-${nonce}.${i}`);
      const payees = payeeAccounts.map((account) => account.address);
      const orderSig = await f.accounts.payer.signTypedData(orderTypedData(domain, order));
      const orderDigest = hashTypedData(orderTypedData(domain, order));
      for (const revision of [1, 2]) {
        const s = settlementMessage({
          executionId: `exec-gas-${nonce}`,
          revision,
          receiptDigest: String(revision).repeat(64),
          order,
          orderDigest,
          // Each revision raises every payee's cumulative amount, so each pays every payee again.
          payouts: payees.map((payee) => ({ payee, amount: 100_000n * BigInt(revision) })),
        });
        const args = [order, orderSig, s, await f.accounts.attestor.signTypedData(settlementTypedData(domain, s))];
        const { gasUsed } = await f.chain.send(f.settlement, 'settle', args, f.accounts.stranger.address);
        const data = encodeFunctionData({ abi: f.settlement.abi, functionName: 'settle', args });
        rows.push([
          `${label}, revision ${revision}${revision === 1 ? ' (new payees)' : ''}`,
          gasUsed,
          intrinsicGas(data),
        ]);
      }
    }

    // A payee's binding: the holder's signature checked, one new storage slot.
    const bound = testAccount('gas bound payee');
    const binding = addressBindingMessage('worker:gas-bound', bound.address);
    const bindArgs = [
      binding.principal,
      binding.account,
      await bound.signTypedData(addressBindingTypedData(domain, binding)),
    ] as const;
    const bindGas = await f.chain.send(f.settlement, 'bindPayee', bindArgs, f.accounts.coordinator.address);
    rows.push([
      'bindPayee, new binding',
      bindGas.gasUsed,
      intrinsicGas(encodeFunctionData({ abi: f.settlement.abi, functionName: 'bindPayee', args: bindArgs })),
    ]);

    // A zk order: one batch proof (the test circuit proves one step per batch), one payout to a new payee.
    const verifier = await f.chain.deploy(
      compileSource(prover.verifierSource, 'Groth16Verifier'),
      [],
      f.accounts.admin.address,
    );
    await f.chain.send(f.settlement, 'acceptRegistryRoot', [proven.registryRoot], f.accounts.coordinator.address);
    const zkOrder = orderMessage({
      listingId: 'listing-gas',
      workflowDigest: proven.workflowDigest,
      payer: f.accounts.payer.address,
      token: f.usd.address,
      zkVerifier: verifier.address,
      maxAmount: 10_000_000n,
      deadline: f.chain.now + 3600n,
      nonce: 3,
    });
    await f.chain.send(f.settlement, 'deposit', [zkOrder, 10_000_000n], f.accounts.payer.address);
    const zkPayee = testAccount('gas zk payee');
    await bindPayee(f, zkPayee, 'worker:gas-zk');
    const zkSettlement = settlementMessage({
      executionId: proven.executionId,
      revision: 1,
      receiptDigest: '1'.repeat(64),
      resultDigest: proven.resultDigest,
      order: zkOrder,
      orderDigest: hashTypedData(orderTypedData(domain, zkOrder)),
      payouts: [{ payee: zkPayee.address, amount: 100_000n }],
    });
    const zkArgs = [
      zkOrder,
      await f.accounts.payer.signTypedData(orderTypedData(domain, zkOrder)),
      zkSettlement,
      await f.accounts.attestor.signTypedData(settlementTypedData(domain, zkSettlement)),
      proven.executionId,
      zkBatches(proven.proofs),
    ] as const;
    const zkGas = await f.chain.send(f.settlement, 'settleWithProofs', zkArgs, f.accounts.stranger.address);
    rows.push([
      'settleWithProofs, 1 batch, 1 payout (new payee)',
      zkGas.gasUsed,
      intrinsicGas(encodeFunctionData({ abi: f.settlement.abi, functionName: 'settleWithProofs', args: zkArgs })),
    ]);

    for (const [label, execution, intrinsic] of rows) {
      console.log(`gas: ${label.padEnd(48)} execution ${execution}  + base and calldata ${intrinsic}`);
    }
    const gas = new Map(rows.map(([label, execution]) => [label, execution]));
    expect(gas.get('mintWithReceipt, new holder')).toBeLessThan(130_000n);
    expect(gas.get('settle, 1 payout, revision 1 (new payees)')).toBeLessThan(160_000n);
    expect(gas.get('settle, 3 payouts, revision 1 (new payees)')).toBeLessThan(260_000n);
    expect(gas.get('bindPayee, new binding')).toBeLessThan(60_000n);
    // The pairing check dominates: ~180k for four pairings plus ~6k per public signal's scalar multiplication.
    expect(gas.get('settleWithProofs, 1 batch, 1 payout (new payee)')).toBeLessThan(500_000n);
  });
});
