import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { envelopePayload, IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../../src/attest/dsse.js';
import type { ChainSettlementDocumentJson } from '../../../src/chain/settlement-document.js';
import { orderJson } from '../../../src/chain/settlement-document.js';
import { orderMessage } from '../../../src/chain/typed-data.js';
import type { OrderMessage } from '../../../src/chain/typed-data.js';
import { verifyChainSettlement } from '../../../src/chain/verify-settlement-document.js';
import { loadOrCreateSigner } from '../../../src/keys/local-signer.js';
import { creditPrincipal } from '../../../src/ledger/operations.js';
import { tokenBalance } from '../../support/chain-rpc.js';
import { runCli } from '../../support/cli.js';
import { listWorkflow } from '../../support/market.js';
import { startMarketChain } from '../../support/market-chain.js';
import type { MarketChain } from '../../support/market-chain.js';
import { echo } from '../../support/node.js';

/**
 * An execution run through a listing, settled on a real local chain from the server's signed settlement
 * document: principals bind addresses through the API, the operator registers the bindings on chain, the
 * buyer signs and funds an order, the server's attestor signs the execution's statement as the escrow's
 * Settlement, the payer checks the document offline (and every tampered copy fails by name), and anyone
 * submits it with `verity chain settle --document`.
 */

const PRICE = 1_000;

let m: MarketChain;
let coordinatorPem: string;

beforeAll(async () => {
  m = await startMarketChain('chain-document');
  coordinatorPem = m.server.test.node.coordinatorSigner.publicKeyPem;
}, 120_000);

afterAll(async () => {
  await m?.close();
});

async function requestDocument(
  executionId: string,
  apiKey: string,
  order: OrderMessage,
  orderSignature: Hex,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${m.server.url}/v1/executions/${executionId}/chain-settlement`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ chain_id: m.deployed.chainId, order: orderJson(order), order_signature: orderSignature }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const failedChecks = (report: Awaited<ReturnType<typeof verifyChainSettlement>>) =>
  report.checks.filter((c) => !c.ok).map((c) => c.name);

describe('the chain settlement document (server, payer, anvil)', () => {
  let document: ChainSettlementDocumentJson;
  let executionId: string;
  let bobKey: string;
  let order: OrderMessage;
  let orderSignature: Hex;
  let transactionHash: Hex;

  it('the buyer gets a signed settlement of its run for its order, paying the bound accounts', async () => {
    bobKey = await m.server.key('bob', 'client');
    await m.bind(bobKey, m.accounts.bob, 'bob');
    await m.bind(await m.server.key('acme', 'publisher'), m.accounts.acme, 'acme');
    await m.bind(m.server.adminKey, m.accounts.platform, 'sys:platform', true);

    const listing = await listWorkflow(m.server.test, [echo('a', { input_mappings: { cost: '120' } })], {
      price: PRICE,
    });
    await creditPrincipal(m.server.test.node.store, { principal: 'bob', amount: 5_000 });
    executionId = (await listing.run('bob')).id;
    await m.server.test.node.waitFor(executionId, 50);
    const workflow = await m.server.test.node.store.read.getExecution(executionId);

    order = orderMessage({
      listingId: listing.id,
      workflowDigest: workflow!.workflowDigest,
      payer: m.accounts.bob.address,
      token: m.usd,
      maxAmount: 2_000,
      deadline: Math.floor(Date.now() / 1000) + 3600,
      nonce: 1,
    });
    orderSignature = await m.chain.signOrder(m.accounts.bob, m.deployed.settlement, order);
    const answer = await requestDocument(executionId, bobKey, order, orderSignature);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    document = answer.body as unknown as ChainSettlementDocumentJson;
    // P = 1000: the platform's fee (5%), the publisher's rest; the in-process worker's compute goes to sys:compute, unbound.
    expect(document.settlement.message.payouts).toEqual(
      expect.arrayContaining([
        { payee: m.accounts.platform.address, amount: '50' },
        { payee: m.accounts.acme.address, amount: '830' },
      ]),
    );
    expect(document.unbound).toEqual([{ account: 'sys:compute', amount: 120 }]);

    const report = await verifyChainSettlement(document, [coordinatorPem]);
    expect(failedChecks(report)).toEqual([]);
    expect(report.ok).toBe(true);
  }, 120_000);

  it('every tampered copy fails its named check', async () => {
    const stranger = loadOrCreateSigner(join(m.dir, 'stranger.key'));
    const tamper = (change: (d: ChainSettlementDocumentJson) => void) => {
      const copy = structuredClone(document);
      change(copy);
      return copy;
    };
    const cases: [string, ChainSettlementDocumentJson, string][] = [
      ['a payout raised', tamper((d) => void (d.settlement.message.payouts[0]!.amount = '51')), 'settlement.signature'],
      [
        'a payee swapped',
        tamper((d) => void (d.settlement.message.payouts[0]!.payee = m.accounts.sender.address)),
        'settlement.signature',
      ],
      ['the order raised', tamper((d) => void (d.order.message.maxAmount = '9000')), 'order.signature'],
      ['a binding dropped', tamper((d) => void d.payees.pop()), 'settlement.payouts'],
      ['unbound hidden', tamper((d) => void (d.unbound = [])), 'settlement.unbound'],
      [
        'the attestor binding re-signed by another key',
        tamper((d) => {
          d.attestor.statement = signEnvelope(IN_TOTO_PAYLOAD_TYPE, envelopePayload(d.attestor.statement), stranger);
        }),
        'attestor.signature',
      ],
    ];
    for (const [what, copy, check] of cases) {
      const report = await verifyChainSettlement(copy, [coordinatorPem]);
      expect(report.ok, what).toBe(false);
      expect(failedChecks(report), what).toContain(check);
    }
    const untrusted = await verifyChainSettlement(document, [stranger.publicKeyPem]);
    expect(untrusted.ok).toBe(false);
  });

  it('`verity verify` checks the document with the coordinator key, and `settle --document` sends nothing it cannot verify', async () => {
    const trust = join(m.dir, 'coordinator.pem');
    writeFileSync(trust, coordinatorPem);
    const good = join(m.dir, 'good-document.json');
    writeFileSync(good, JSON.stringify(document));
    const verified = await m.verity(['verify', good, '--trust', trust]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain('✓ settlement.payouts');
    const forged = structuredClone(document);
    forged.settlement.message.payouts[0]!.amount = '51';
    const bad = join(m.dir, 'forged-document.json');
    writeFileSync(bad, JSON.stringify(forged));
    const refused = await m.verity(['verify', bad, '--trust', trust]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('✗ settlement.signature');
    const notSent = await m.verity(['chain', 'settle', ...m.rpc(), '--document', bad, '--key-file', m.keyFiles.sender]);
    expect(notSent.code).toBe(1);
    expect(notSent.stderr).toMatch(/does not verify .*settlement\.signature.*nothing was sent/);
  }, 60_000);

  it('refuses an order its payer did not sign, and one whose payer is not the buyer’s bound address', async () => {
    const forged = await m.chain.signOrder(m.accounts.acme, m.deployed.settlement, order);
    const bad = await requestDocument(executionId, bobKey, order, forged);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/order_signature/);
    const acmeOrder = { ...order, payer: m.accounts.acme.address };
    const notBuyer = await requestDocument(
      executionId,
      bobKey,
      acmeOrder,
      await m.chain.signOrder(m.accounts.acme, m.deployed.settlement, acmeOrder),
    );
    expect(notBuyer.status).toBe(409);
    expect(JSON.stringify(notBuyer.body)).toMatch(/order\.payer/);
    // Another client's execution is not there at all.
    const eve = await requestDocument(executionId, await m.server.key('eve', 'client'), order, orderSignature);
    expect(eve.status).toBe(404);
  });

  it('anyone submits it on chain once the operator registered the bindings: the bound payees are paid', async () => {
    await m.registerBindingsOnChain();

    await m.chain.deposit(m.accounts.bob, m.deployed.settlement, order, 2_000n);
    const run = await m.submitDocument(document, ['--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(await tokenBalance(m.chain, m.usd, m.accounts.platform.address)).toBe(50n);
    expect(await tokenBalance(m.chain, m.usd, m.accounts.acme.address)).toBe(830n);
    transactionHash = (JSON.parse(run.stdout) as { transactionHash: Hex }).transactionHash;
  }, 120_000);

  it('the buyer reports the transaction: the ledger moves what the chain paid back to it, once', async () => {
    const balance = async (account: string) =>
      (await m.server.test.node.store.read.getLedgerBalance(account)).available;
    const before = { bob: await balance('bob'), acme: await balance('acme'), platform: await balance('sys:platform') };
    const bob = m.server.client(bobKey);
    const recorded = await runCli(
      [
        'chain',
        'record-payment',
        executionId,
        '--chain-id',
        String(m.deployed.chainId),
        '--tx',
        transactionHash,
        '--json',
      ],
      { VERITY_SERVER: m.server.url, VERITY_API_KEY: bobKey },
    );
    expect(recorded.code, recorded.stderr).toBe(0);
    const first = JSON.parse(recorded.stdout) as Awaited<ReturnType<typeof bob.chainPayments>>;
    expect(first.payments).toEqual([
      expect.objectContaining({ revision: 1, paid_now: 880, token: m.usd, replayed: false }),
    ]);
    // Tokens paid the publisher and the platform; the buyer's ledger charge for them comes back. sys:compute
    // (unbound) keeps its ledger credit, which the buyer still pays in the ledger.
    expect(await balance('bob')).toBe(before.bob + 880);
    expect(await balance('acme')).toBe(before.acme - 830);
    expect(await balance('sys:platform')).toBe(before.platform - 50);
    const again = await bob.chainPayments(executionId, {
      chain_id: m.deployed.chainId,
      transaction_hash: transactionHash,
    });
    expect(again.payments[0]).toMatchObject({
      replayed: true,
      ledger_transaction_id: first.payments[0]!.ledger_transaction_id,
    });
    expect(await balance('bob')).toBe(before.bob + 880);
    expect(await m.server.test.node.store.read.checkLedger()).toMatchObject({ ok: true });
    // A transaction that is not a settlement of this execution records nothing.
    await expect(
      bob.chainPayments(executionId, { chain_id: m.deployed.chainId, transaction_hash: `0x${'00'.repeat(32)}` }),
    ).rejects.toMatchObject({ status: 409 });
  }, 120_000);
});
