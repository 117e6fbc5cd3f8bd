import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address } from 'viem';
import type { ZkBundle } from '../../../src/attest/bundle.js';
import { readStatement } from '../../../src/attest/statement.js';
import { ZK_PREDICATE_TYPE, zkPredicateSchema } from '../../../src/attest/zk/statement.js';
import type { ChainSettlementDocumentJson } from '../../../src/chain/settlement-document.js';
import { orderJson } from '../../../src/chain/settlement-document.js';
import { orderMessage } from '../../../src/chain/typed-data.js';
import { verifyChainSettlement } from '../../../src/chain/verify-settlement-document.js';
import { creditPrincipal } from '../../../src/ledger/operations.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { tokenBalance } from '../../support/chain-rpc.js';
import { listWorkflow } from '../../support/market.js';
import { startMarketChain } from '../../support/market-chain.js';
import type { MarketChain } from '../../support/market-chain.js';
import { echo } from '../../support/node.js';
import { ensureTestZkArtifacts, TEST_ZK_DIR } from '../../support/zk-artifacts.js';

/**
 * A zk order end to end: a listing's workflow runs at verification level zk on a server with the test
 * circuit; the buyer's order pins the Groth16 verifier the operator deployed; the server's settlement
 * document carries the execution's proofs; `verity chain settle --document` submits them, and the escrow
 * pays only after checking every batch proof on chain against an accepted registry root.
 */

let m: MarketChain;

beforeAll(async () => {
  const artifacts = await ensureTestZkArtifacts();
  m = await startMarketChain('chain-document-zk', { zkDir: artifacts.zkDir, zkConfig: artifacts.config, provers: 1 });
}, 30 * 60_000);

afterAll(async () => {
  await m?.close();
  await releaseCurveWorkers();
});

describe('a zk order settled from the server’s document (anvil)', () => {
  it(
    'pays only with the proofs, checked on chain under the pinned verifier and an accepted registry root',
    async () => {
      const bobKey = await m.server.key('bob', 'client');
      await m.bind(bobKey, m.accounts.bob, 'bob');
      await m.bind(await m.server.key('acme', 'publisher'), m.accounts.acme, 'acme');
      await m.bind(m.server.adminKey, m.accounts.platform, 'sys:platform', true);

      const listing = await listWorkflow(m.server.test, [echo('a', { input_mappings: { cost: '120' } })], {
        price: 1_000,
        extra: { verification_level: 'zk' },
      });
      await creditPrincipal(m.server.test.node.store, { principal: 'bob', amount: 5_000 });
      const executionId = (await listing.run('bob')).id;
      await m.server.test.node.waitFor(executionId, 50);
      for (let i = 0; i < 600; i++) {
        const record = await m.server.test.node.store.read.getZkProof(executionId);
        if (record?.status === 'completed') break;
        if (record?.status === 'failed') throw new Error(`proving failed: ${record.error?.message}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const zkOnly = (await m.server.test.node.bundle(executionId, { zkOnly: true })) as ZkBundle;
      const { registryRoot } = readStatement(zkOnly.zk.statement, ZK_PREDICATE_TYPE, zkPredicateSchema).predicate.zk;

      // The operator deploys the circuit's verifier and accepts the registry root the proofs are under.
      const zkFlags = ['--zk-dir', TEST_ZK_DIR, '--batch-size', '1', '--registry-depth', '2'];
      const verifier = await m.verity([
        'chain',
        'deploy-verifier',
        ...m.rpc(),
        ...zkFlags,
        '--key-file',
        m.keyFiles.deployer,
        '--json',
      ]);
      expect(verifier.code, verifier.stderr).toBe(0);
      const { zkVerifier } = JSON.parse(verifier.stdout) as { zkVerifier: Address };
      const accepted = await m.verity([
        'chain',
        'registry-root',
        String(registryRoot),
        ...m.rpc(),
        '--key-file',
        m.keyFiles.deployer,
      ]);
      expect(accepted.code, accepted.stderr).toBe(0);
      await m.registerBindingsOnChain();

      const execution = await m.server.test.node.store.read.getExecution(executionId);
      const order = orderMessage({
        listingId: listing.id,
        workflowDigest: execution!.workflowDigest,
        payer: m.accounts.bob.address,
        token: m.usd,
        zkVerifier,
        maxAmount: 2_000,
        deadline: Math.floor(Date.now() / 1000) + 3600,
        nonce: 7,
      });
      const orderSignature = await m.chain.signOrder(m.accounts.bob, m.deployed.settlement, order);
      const document = (await m.server.client(bobKey).chainSettlement(executionId, {
        chain_id: m.deployed.chainId,
        order: orderJson(order),
        order_signature: orderSignature,
      })) as unknown as ChainSettlementDocumentJson;
      expect(document.zk).toMatchObject({ mediaType: 'application/vnd.verity.zk-bundle.v1+json' });
      // Offline, the payer checks the proofs too: at level zk, and that they are of this receipt.
      const trusted = [m.server.test.node.coordinatorSigner.publicKeyPem];
      const report = await verifyChainSettlement(document, trusted);
      expect(report.checks.filter((c) => !c.ok)).toEqual([]);
      expect(report.checks.map((c) => c.name)).toEqual(
        expect.arrayContaining(['proofs.zk.batch.0.proof', 'proofs.receipt']),
      );
      const broken = structuredClone(document) as unknown as { zk: { zk: { proofs: { publicSignals: string[] }[] } } };
      broken.zk.zk.proofs[0]!.publicSignals[0] = '0';
      const tampered = await verifyChainSettlement(broken, trusted);
      expect(tampered.ok).toBe(false);
      expect(tampered.checks.filter((c) => !c.ok).map((c) => c.name)).toContain('proofs.zk.batch.0.signals');
      await m.chain.deposit(m.accounts.bob, m.deployed.settlement, order, 2_000n);

      // The proofs are what pays: without them the signed document is refused before anything is sent.
      const stripped = join(m.dir, 'no-proofs.json');
      writeFileSync(stripped, JSON.stringify({ ...document, zk: undefined }));
      const refused = await m.verity([
        'chain',
        'settle',
        ...m.rpc(),
        '--document',
        stripped,
        '--key-file',
        m.keyFiles.sender,
      ]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('carries no zk bundle');

      const settled = await m.submitDocument(document);
      expect(settled.code, settled.stderr).toBe(0);
      expect(await tokenBalance(m.chain, m.usd, m.accounts.acme.address)).toBe(830n);
      expect(await tokenBalance(m.chain, m.usd, m.accounts.platform.address)).toBe(50n);
    },
    30 * 60_000,
  );
});
