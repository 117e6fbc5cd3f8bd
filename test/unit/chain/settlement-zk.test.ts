import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashTypedData, zeroAddress } from 'viem';
import type { Address, Hex, TypedDataDomain } from 'viem';
import { compileSource } from '../../../src/chain/compile.js';
import {
  SETTLEMENT_DOMAIN_NAME,
  orderMessage,
  orderTypedData,
  settlementMessage,
  settlementTypedData,
  verityDomain,
} from '../../../src/chain/typed-data.js';
import type { OrderMessage, SettlementMessage } from '../../../src/chain/typed-data.js';
import { zkBatches } from '../../../src/chain/zk-batches.js';
import type { ZkBatchArgument } from '../../../src/chain/zk-batches.js';
import { balanceOf, chainFixture } from '../../support/chain-fixture.js';
import type { ChainFixture } from '../../support/chain-fixture.js';
import type { Contract } from '../../support/evm-chain.js';
import { testProver } from '../../support/zk-proofs.js';
import type { ProvenExecution, TestProver } from '../../support/zk-proofs.js';

/*
 * settleWithProofs with real batch proofs of the test circuit (batch size 1, so one batch per step), checked
 * by the Groth16 verifier `verity zk export-solidity` writes, deployed in the in-process EVM.
 */
const BN254_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const DEPOSIT = 1_000_000n;
// The circuit's public signals by index (docs/zk.md, "The proofs").
const C_PREV = 2;
const S_PREV = 4;

let prover: TestProver;
/** Two steps: two batches. */
let twoSteps: ProvenExecution;
/** Another execution of the same workflow, one step, under its own registry root. */
let other: ProvenExecution;

beforeAll(async () => {
  prover = await testProver();
  twoSteps = await prover.prove('exec-zk-two', 2);
  other = await prover.prove('exec-zk-other', 1, twoSteps.workflowDigest);
}, 30 * 60_000);

afterAll(async () => {
  await prover.close();
});

describe('VeritySettlement.settleWithProofs', () => {
  let f: ChainFixture;
  let verifier: Contract;
  let domain: TypedDataDomain;
  let nonce = 0;

  beforeEach(async () => {
    f = await chainFixture();
    verifier = await f.chain.deploy(
      compileSource(prover.verifierSource, 'Groth16Verifier'),
      [],
      f.accounts.admin.address,
    );
    domain = verityDomain(SETTLEMENT_DOMAIN_NAME, f.chain.chainId, f.settlement.address);
    await f.chain.send(f.settlement, 'acceptRegistryRoot', [twoSteps.registryRoot], f.accounts.coordinator.address);
  });

  /** A funded order for `workflowDigest`, pinning the verifier (zero: none). */
  async function fundedOrder(workflowDigest: string, zkVerifier: Address = verifier.address) {
    const order = orderMessage({
      listingId: 'listing-zk',
      workflowDigest,
      payer: f.accounts.payer.address,
      token: f.usd.address,
      zkVerifier,
      maxAmount: DEPOSIT,
      deadline: f.chain.now + 3600n,
      nonce: ++nonce,
    });
    await f.chain.send(f.settlement, 'deposit', [order, DEPOSIT], f.accounts.payer.address);
    const signature = await f.accounts.payer.signTypedData(orderTypedData(domain, order));
    return { order, signature };
  }

  function settlementOf(execution: ProvenExecution, order: OrderMessage, resultDigest = execution.resultDigest) {
    return settlementMessage({
      executionId: execution.executionId,
      revision: 1,
      receiptDigest: '1'.repeat(64),
      resultDigest,
      order,
      orderDigest: hashTypedData(orderTypedData(domain, order)),
      payouts: [
        { payee: f.accounts.worker.address, amount: 300_000n },
        { payee: f.accounts.publisher.address, amount: 600_000n },
      ],
    });
  }

  async function submit(
    order: { order: OrderMessage; signature: Hex },
    s: SettlementMessage,
    executionId: string,
    batches: readonly ZkBatchArgument[],
  ) {
    const attestorSig = await f.accounts.attestor.signTypedData(settlementTypedData(domain, s));
    return f.chain.call(
      f.settlement,
      'settleWithProofs',
      [order.order, order.signature, s, attestorSig, executionId, batches],
      f.accounts.stranger.address,
    );
  }

  /** The refusal's name and arguments, as strings. */
  async function refusal(...args: Parameters<typeof submit>): Promise<string> {
    const outcome = await submit(...args);
    if (!outcome.reverted) throw new Error('settleWithProofs did not revert');
    return `${outcome.errorName}(${outcome.errorArgs.map(String).join(', ')})`;
  }

  /** A batch with one public signal changed (the contract checks signals before it verifies the proof). */
  function withSignal(batch: ZkBatchArgument, index: number, value: bigint): ZkBatchArgument {
    return { ...batch, signals: batch.signals.map((s, i) => (i === index ? value : s)) };
  }

  it('pays a zk order once its proofs verify, chain and name the execution, workflow, result and an accepted root', async () => {
    const order = await fundedOrder(twoSteps.workflowDigest);
    const s = settlementOf(twoSteps, order.order);
    const outcome = await submit(order, s, twoSteps.executionId, zkBatches(twoSteps.proofs));
    expect(outcome.reverted).toBe(false);
    expect(await balanceOf(f, f.usd, f.accounts.worker.address)).toBe(300_000n);
    expect(await balanceOf(f, f.usd, f.accounts.publisher.address)).toBe(600_000n);
    console.log(`gas: VeritySettlement.settleWithProofs ${outcome.gasUsed} (execution gas, 2 batches, 2 payouts)`);
  });

  it('refuses settle without proofs for an order that pins a verifier (ZkProofRequired)', async () => {
    const order = await fundedOrder(twoSteps.workflowDigest);
    const s = settlementOf(twoSteps, order.order);
    const attestorSig = await f.accounts.attestor.signTypedData(settlementTypedData(domain, s));
    const outcome = await f.chain.call(
      f.settlement,
      'settle',
      [order.order, order.signature, s, attestorSig],
      f.accounts.stranger.address,
    );
    expect(outcome.reverted && `${outcome.errorName}(${String(outcome.errorArgs[0])})`).toBe(
      `ZkProofRequired(${verifier.address})`,
    );
  });

  it('refuses proofs for an order that pins no verifier (NoZkVerifier), and no proofs at all (NoZkBatches)', async () => {
    const plain = await fundedOrder(twoSteps.workflowDigest, zeroAddress);
    const batches = zkBatches(twoSteps.proofs);
    expect(await refusal(plain, settlementOf(twoSteps, plain.order), twoSteps.executionId, batches)).toBe(
      'NoZkVerifier()',
    );
    const order = await fundedOrder(twoSteps.workflowDigest);
    expect(await refusal(order, settlementOf(twoSteps, order.order), twoSteps.executionId, [])).toBe('NoZkBatches()');
  });

  it("refuses an execution id whose text is not the settlement's (ExecutionIdMismatch)", async () => {
    const order = await fundedOrder(twoSteps.workflowDigest);
    const s = settlementOf(twoSteps, order.order);
    expect(await refusal(order, s, other.executionId, zkBatches(twoSteps.proofs))).toBe('ExecutionIdMismatch()');
  });

  it('refuses a proof of another execution of the same workflow (ZkProofForOtherExecution)', async () => {
    const order = await fundedOrder(twoSteps.workflowDigest);
    const s = settlementOf(twoSteps, order.order, other.resultDigest);
    expect(await refusal(order, s, twoSteps.executionId, zkBatches(other.proofs))).toBe('ZkProofForOtherExecution(0)');
  });

  it('refuses proofs of another workflow (ZkProofForOtherWorkflow) or another result (ZkProofForOtherResult)', async () => {
    const otherWorkflow = await fundedOrder('e'.repeat(64));
    const batches = zkBatches(twoSteps.proofs);
    const s = settlementOf(twoSteps, otherWorkflow.order);
    expect(await refusal(otherWorkflow, s, twoSteps.executionId, batches)).toBe('ZkProofForOtherWorkflow(0)');
    const order = await fundedOrder(twoSteps.workflowDigest);
    const otherResult = settlementOf(twoSteps, order.order, 'd'.repeat(64));
    expect(await refusal(order, otherResult, twoSteps.executionId, batches)).toBe('ZkProofForOtherResult(0)');
  });

  it('refuses proofs under a registry root the coordinator did not accept (UnknownRegistryRoot), then pays', async () => {
    const order = await fundedOrder(other.workflowDigest);
    const s = settlementOf(other, order.order);
    const batches = zkBatches(other.proofs);
    expect(await refusal(order, s, other.executionId, batches)).toBe(`UnknownRegistryRoot(${other.registryRoot})`);
    // Only the coordinator vouches for a registry: not the attestor, not anyone else.
    for (const who of [f.accounts.attestor, f.accounts.stranger]) {
      const outcome = await f.chain.call(f.settlement, 'acceptRegistryRoot', [other.registryRoot], who.address);
      expect(outcome.reverted && outcome.errorName).toBe('AccessControlUnauthorizedAccount');
    }
    const { events } = await f.chain.send(
      f.settlement,
      'acceptRegistryRoot',
      [other.registryRoot],
      f.accounts.coordinator.address,
    );
    expect(events).toEqual([{ eventName: 'RegistryRootAccepted', args: { root: other.registryRoot } }]);
    expect(await f.chain.read(f.settlement, 'acceptedRegistryRoot', [other.registryRoot])).toBe(true);
    const outcome = await submit(order, s, other.executionId, batches);
    expect(outcome.reverted).toBe(false);
    console.log(`gas: VeritySettlement.settleWithProofs ${outcome.gasUsed} (execution gas, 1 batch, 2 payouts)`);
  });

  it('refuses a tampered proof (ZkProofInvalid)', async () => {
    const order = await fundedOrder(twoSteps.workflowDigest);
    const s = settlementOf(twoSteps, order.order);
    const [first, second] = zkBatches(twoSteps.proofs);
    if (!first || !second) throw new Error('expected two batches');
    const negated: ZkBatchArgument = { ...second, a: [second.a[0], BN254_Q - second.a[1]] };
    expect(await refusal(order, s, twoSteps.executionId, [first, negated])).toBe('ZkProofInvalid(1)');
  });

  it('refuses batches out of place or not chained (ZkBatchOutOfPlace, ZkBatchesNotChained)', async () => {
    const order = await fundedOrder(twoSteps.workflowDigest);
    const s = settlementOf(twoSteps, order.order);
    const [first, second] = zkBatches(twoSteps.proofs);
    if (!first || !second) throw new Error('expected two batches');
    const id = twoSteps.executionId;
    expect(await refusal(order, s, id, [second, first])).toBe('ZkBatchOutOfPlace(0)');
    // The first batch alone is not the final one: a prefix of the run does not settle it.
    expect(await refusal(order, s, id, [first])).toBe('ZkBatchOutOfPlace(0)');
    expect(await refusal(order, s, id, [first, first])).toBe('ZkBatchOutOfPlace(1)');
    expect(await refusal(order, s, id, [first, withSignal(second, C_PREV, second.signals[C_PREV]! + 1n)])).toBe(
      'ZkBatchesNotChained(1)',
    );
    expect(await refusal(order, s, id, [first, withSignal(second, S_PREV, second.signals[S_PREV]! + 1n)])).toBe(
      'ZkBatchesNotChained(1)',
    );
    expect(await refusal(order, s, id, [withSignal(first, S_PREV, 1n), second])).toBe('ZkBatchesNotChained(0)');
  });
});
