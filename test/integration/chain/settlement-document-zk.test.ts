import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, stringToBytes } from 'viem';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { PrivateKeyAccount } from 'viem/accounts';
import type { ZkBundle } from '../../../src/attest/bundle.js';
import { readStatement } from '../../../src/attest/statement.js';
import { ZK_PREDICATE_TYPE, zkPredicateSchema } from '../../../src/attest/zk/statement.js';
import { ChainClient } from '../../../src/chain/chain-client.js';
import type { ChainSettlementDocumentJson } from '../../../src/chain/settlement-document.js';
import { orderJson } from '../../../src/chain/settlement-document.js';
import {
  addressBindingMessage,
  addressBindingTypedData,
  orderMessage,
  SETTLEMENT_DOMAIN_NAME,
  verityDomain,
} from '../../../src/chain/typed-data.js';
import { verifyChainSettlement } from '../../../src/chain/verify-settlement-document.js';
import { creditPrincipal } from '../../../src/ledger/operations.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { startAnvil } from '../../support/anvil.js';
import type { LocalNode } from '../../support/anvil.js';
import { deployTestToken, tokenBalance } from '../../support/chain-rpc.js';
import { runCli } from '../../support/cli.js';
import { listWorkflow } from '../../support/market.js';
import { echo } from '../../support/node.js';
import { startTestServer } from '../../support/server.js';
import type { TestServer } from '../../support/server.js';
import { ensureTestZkArtifacts, TEST_ZK_DIR } from '../../support/zk-artifacts.js';

/**
 * A zk order end to end: a listing's workflow runs at verification level zk on a server with the test
 * circuit; the buyer's order pins the Groth16 verifier the operator deployed; the server's settlement
 * document carries the execution's proofs; `verity chain settle --document` submits them, and the escrow
 * pays only after checking every batch proof on chain against an accepted registry root.
 */

const key = (label: string): Hex => keccak256(stringToBytes(`verity zk settlement document ${label}`));
const keys = {
  deployer: key('deployer'),
  sender: key('sender'),
  bob: key('bob'),
  acme: key('acme'),
  platform: key('platform'),
};

let anvil: LocalNode;
let server: TestServer;
let dir: string;
let dataDir: string;
let chain: ChainClient;
let keyFiles: Record<keyof typeof keys, string>;
let accounts: Record<keyof typeof keys, PrivateKeyAccount>;
let deployed: { chainId: number; token: Address; settlement: Address };
let usd: Address;

const verity = (args: readonly string[]) => runCli(args, { VERITY_CHAIN_KEY_FILE: '' });
const rpc = () => ['--rpc', anvil.url, '--data-dir', dataDir];

beforeAll(async () => {
  const artifacts = await ensureTestZkArtifacts();
  anvil = await startAnvil();
  server = await startTestServer('sqlite', 'chain-document-zk', {
    node: { zkDir: artifacts.zkDir, zkConfig: artifacts.config, provers: 1 },
  });
  dataDir = server.test.node.options.dataDir;
  dir = mkdtempSync(join(tmpdir(), 'verity-chain-document-zk-'));
  keyFiles = {} as typeof keyFiles;
  accounts = {} as typeof accounts;
  for (const [name, value] of Object.entries(keys) as [keyof typeof keys, Hex][]) {
    keyFiles[name] = join(dir, `${name}.key`);
    writeFileSync(keyFiles[name], `${value}\n`, { mode: 0o600 });
    accounts[name] = privateKeyToAccount(value);
    await anvil.fund(accounts[name].address, 10n ** 20n);
  }
  chain = await ChainClient.connect(anvil.url);
  usd = await deployTestToken(anvil, chain, keys.deployer, [[accounts.bob.address, 5_000_000n]]);
  const deploy = await verity([
    'chain',
    'deploy',
    ...rpc(),
    '--key-file',
    keyFiles.deployer,
    '--payment-token',
    usd,
    '--json',
  ]);
  expect(deploy.code, deploy.stderr).toBe(0);
  deployed = JSON.parse(deploy.stdout) as typeof deployed;
}, 30 * 60_000);

afterAll(async () => {
  await server?.close();
  await anvil?.stop();
  await releaseCurveWorkers();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function bind(principal: string, apiKey: string, account: PrivateKeyAccount, asPrincipal?: string) {
  const domain = verityDomain(SETTLEMENT_DOMAIN_NAME, deployed.chainId, deployed.settlement);
  const signature = await account.signTypedData(
    addressBindingTypedData(domain, addressBindingMessage(asPrincipal ?? principal, account.address)),
  );
  await server.client(apiKey).bindChainAddress({
    chain_id: deployed.chainId,
    address: account.address,
    signature,
    ...(asPrincipal !== undefined && { principal: asPrincipal }),
  });
}

describe('a zk order settled from the server’s document (anvil)', () => {
  it(
    'pays only with the proofs, checked on chain under the pinned verifier and an accepted registry root',
    async () => {
      const bobKey = await server.key('bob', 'client');
      await bind('bob', bobKey, accounts.bob);
      await bind('acme', await server.key('acme', 'publisher'), accounts.acme);
      await bind('admin', server.adminKey, accounts.platform, 'sys:platform');

      const listing = await listWorkflow(server.test, [echo('a', { input_mappings: { cost: '120' } })], {
        price: 1_000,
        extra: { verification_level: 'zk' },
      });
      await creditPrincipal(server.test.node.store, { principal: 'bob', amount: 5_000 });
      const executionId = (await listing.run('bob')).id;
      await server.test.node.waitFor(executionId, 50);
      for (let i = 0; i < 600; i++) {
        const record = await server.test.node.store.read.getZkProof(executionId);
        if (record?.status === 'completed') break;
        if (record?.status === 'failed') throw new Error(`proving failed: ${record.error?.message}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const zkOnly = (await server.test.node.bundle(executionId, { zkOnly: true })) as ZkBundle;
      const { registryRoot } = readStatement(zkOnly.zk.statement, ZK_PREDICATE_TYPE, zkPredicateSchema).predicate.zk;

      // The operator deploys the circuit's verifier and accepts the registry root the proofs are under.
      const zkFlags = ['--zk-dir', TEST_ZK_DIR, '--batch-size', '1', '--registry-depth', '2'];
      const verifier = await verity([
        'chain',
        'deploy-verifier',
        ...rpc(),
        ...zkFlags,
        '--key-file',
        keyFiles.deployer,
        '--json',
      ]);
      expect(verifier.code, verifier.stderr).toBe(0);
      const { zkVerifier } = JSON.parse(verifier.stdout) as { zkVerifier: Address };
      const accepted = await verity([
        'chain',
        'registry-root',
        String(registryRoot),
        ...rpc(),
        '--key-file',
        keyFiles.deployer,
      ]);
      expect(accepted.code, accepted.stderr).toBe(0);
      const bindings = await fetch(`${server.url}/v1/admin/chain-bindings?chain_id=${deployed.chainId}`, {
        headers: { authorization: `Bearer ${server.adminKey}` },
      });
      const bindingsFile = join(dir, 'bindings.json');
      writeFileSync(bindingsFile, await bindings.text());
      const bound = await verity(['chain', 'bind', ...rpc(), '--file', bindingsFile, '--key-file', keyFiles.deployer]);
      expect(bound.code, bound.stderr).toBe(0);

      const execution = await server.test.node.store.read.getExecution(executionId);
      const order = orderMessage({
        listingId: listing.id,
        workflowDigest: execution!.workflowDigest,
        payer: accounts.bob.address,
        token: usd,
        zkVerifier,
        maxAmount: 2_000,
        deadline: Math.floor(Date.now() / 1000) + 3600,
        nonce: 7,
      });
      const orderSignature = await chain.signOrder(accounts.bob, deployed.settlement, order);
      const document = (await server.client(bobKey).chainSettlement(executionId, {
        chain_id: deployed.chainId,
        order: orderJson(order),
        order_signature: orderSignature,
      })) as unknown as ChainSettlementDocumentJson;
      expect(document.zk).toMatchObject({ mediaType: 'application/vnd.verity.zk-bundle.v1+json' });
      // Offline, the payer checks the proofs too: at level zk, and that they are of this receipt.
      const trusted = [server.test.node.coordinatorSigner.publicKeyPem];
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
      await chain.deposit(accounts.bob, deployed.settlement, order, 2_000n);

      // The proofs are what pays: without them the signed document is refused before anything is sent.
      const stripped = join(dir, 'no-proofs.json');
      writeFileSync(stripped, JSON.stringify({ ...document, zk: undefined }));
      const refused = await verity([
        'chain',
        'settle',
        ...rpc(),
        '--document',
        stripped,
        '--key-file',
        keyFiles.sender,
      ]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('carries no zk bundle');

      const documentFile = join(dir, 'document.json');
      writeFileSync(documentFile, JSON.stringify(document));
      const settled = await verity([
        'chain',
        'settle',
        ...rpc(),
        '--document',
        documentFile,
        '--key-file',
        keyFiles.sender,
      ]);
      expect(settled.code, settled.stderr).toBe(0);
      expect(await tokenBalance(chain, usd, accounts.acme.address)).toBe(830n);
      expect(await tokenBalance(chain, usd, accounts.platform.address)).toBe(50n);
    },
    30 * 60_000,
  );
});
