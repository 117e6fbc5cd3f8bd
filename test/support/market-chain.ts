import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak256, stringToBytes } from 'viem';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { PrivateKeyAccount } from 'viem/accounts';
import { ChainClient } from '../../src/chain/chain-client.js';
import {
  addressBindingMessage,
  addressBindingTypedData,
  SETTLEMENT_DOMAIN_NAME,
  verityDomain,
} from '../../src/chain/typed-data.js';
import type { NodeOptions } from '../../src/node/verity-node.js';
import { startAnvil } from './anvil.js';
import type { LocalNode } from './anvil.js';
import { deployTestToken } from './chain-rpc.js';
import { runCli } from './cli.js';
import type { CliResult } from './cli.js';
import { startTestServer } from './server.js';
import type { TestServer } from './server.js';

/**
 * A marketplace server and a local chain side by side, for the on-chain settlement tests: anvil, a server on
 * SQLite whose data directory `verity chain deploy` deployed into (paying in a 6-decimal test token the
 * buyer `bob` holds), and funded keys for the deployer (the coordinator role), a sender, the buyer, the
 * publisher `acme` and the platform.
 */
const ROLES = ['deployer', 'sender', 'bob', 'acme', 'platform'] as const;
type Role = (typeof ROLES)[number];

export interface MarketChain {
  anvil: LocalNode;
  server: TestServer;
  dir: string;
  chain: ChainClient;
  keyFiles: Record<Role, string>;
  accounts: Record<Role, PrivateKeyAccount>;
  deployed: { chainId: number; token: Address; settlement: Address; attestor: Address };
  /** The escrow's money. */
  usd: Address;
  /** The built CLI, with no chain key from the environment. */
  verity(args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
  /** `--rpc … --data-dir …` of the server's data directory. */
  rpc(): string[];
  /** A principal binds its key's address to its ledger account (or, as admin, `sys:platform`'s) through the API. */
  bind(apiKey: string, account: PrivateKeyAccount, principal: string, asAdmin?: boolean): Promise<void>;
  /** Anyone submits a settlement document with `verity chain settle --document` (from the sender's key). */
  submitDocument(document: unknown, extra?: readonly string[]): Promise<CliResult>;
  /** The operator registers every binding the server recorded on chain: the admin route, then `verity chain bind`. */
  registerBindingsOnChain(): Promise<void>;
  close(): Promise<void>;
}

export async function startMarketChain(label: string, node: Partial<NodeOptions> = {}): Promise<MarketChain> {
  const key = (role: string): Hex => keccak256(stringToBytes(`verity ${label} ${role}`));
  const anvil = await startAnvil();
  const server = await startTestServer('sqlite', label, { node });
  const dataDir = server.test.node.options.dataDir;
  const dir = mkdtempSync(join(tmpdir(), `verity-${label}-`));
  const keyFiles = {} as Record<Role, string>;
  const accounts = {} as Record<Role, PrivateKeyAccount>;
  for (const role of ROLES) {
    keyFiles[role] = join(dir, `${role}.key`);
    writeFileSync(keyFiles[role], `${key(role)}\n`, { mode: 0o600 });
    accounts[role] = privateKeyToAccount(key(role));
    await anvil.fund(accounts[role].address, 10n ** 20n);
  }
  const chain = await ChainClient.connect(anvil.url);
  const usd = await deployTestToken(anvil, chain, key('deployer'), [[accounts.bob.address, 5_000_000n]]);
  const verity = (args: readonly string[], env: Record<string, string> = {}) =>
    runCli(args, { VERITY_CHAIN_KEY_FILE: '', ...env });
  const rpc = () => ['--rpc', anvil.url, '--data-dir', dataDir];
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
  if (deploy.code !== 0) throw new Error(`verity chain deploy failed: ${deploy.stderr}`);
  const deployed = JSON.parse(deploy.stdout) as MarketChain['deployed'];
  return {
    anvil,
    server,
    dir,
    chain,
    keyFiles,
    accounts,
    deployed,
    usd,
    verity,
    rpc,
    async bind(apiKey, account, principal, asAdmin = false) {
      const domain = verityDomain(SETTLEMENT_DOMAIN_NAME, deployed.chainId, deployed.settlement);
      const signature = await account.signTypedData(
        addressBindingTypedData(domain, addressBindingMessage(principal, account.address)),
      );
      await server.client(apiKey).bindChainAddress({
        chain_id: deployed.chainId,
        address: account.address,
        signature,
        ...(asAdmin && { principal }),
      });
    },
    submitDocument(document, extra = []) {
      const file = join(dir, `document-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(file, JSON.stringify(document));
      return verity(['chain', 'settle', ...rpc(), '--document', file, '--key-file', keyFiles.sender, ...extra]);
    },
    async registerBindingsOnChain() {
      const bindings = await fetch(`${server.url}/v1/admin/chain-bindings?chain_id=${deployed.chainId}`, {
        headers: { authorization: `Bearer ${server.adminKey}` },
      });
      const file = join(dir, 'bindings.json');
      writeFileSync(file, await bindings.text());
      const bound = await verity(['chain', 'bind', ...rpc(), '--file', file, '--key-file', keyFiles.deployer]);
      if (bound.code !== 0) throw new Error(`verity chain bind failed: ${bound.stderr}`);
    },
    async close() {
      await server.close();
      await anvil.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
