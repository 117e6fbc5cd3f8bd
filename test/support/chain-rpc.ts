import { join } from 'node:path';
import { createPublicClient, createWalletClient, erc20Abi, getAddress, http } from 'viem';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { ChainClient } from '../../src/chain/chain-client.js';
import { compileContracts } from '../../src/chain/compile.js';
import type { LocalNode } from './anvil.js';
import { REPO } from './cli.js';

/**
 * A plain ERC-20 with 6 decimals (test/support/contracts/TestToken.sol) on a local node, for the escrow to
 * hold: deployed by `deployer`, which mints each holder its amount.
 */
export async function deployTestToken(
  node: LocalNode,
  client: ChainClient,
  deployer: Hex,
  holders: readonly (readonly [Address, bigint])[],
): Promise<Address> {
  const testToken = compileContracts(join(REPO, 'test', 'support', 'contracts')).get('TestToken');
  if (!testToken) throw new Error('no TestToken');
  const account = privateKeyToAccount(deployer);
  const wallet = createWalletClient({ account, chain: client.chain, transport: http(node.url) });
  const reader = createPublicClient({ chain: client.chain, transport: http(node.url) });
  const hash = await wallet.deployContract({ abi: testToken.abi, bytecode: testToken.bytecode });
  const address = (await reader.waitForTransactionReceipt({ hash })).contractAddress;
  if (!address) throw new Error('TestToken was not deployed');
  for (const [holder, amount] of holders) {
    const mint = await wallet.writeContract({
      address,
      abi: testToken.abi,
      functionName: 'mint',
      args: [holder, amount],
    });
    await reader.waitForTransactionReceipt({ hash: mint });
  }
  return getAddress(address);
}

export function tokenBalance(client: ChainClient, token: Address, who: Address): Promise<bigint> {
  return client.read<bigint>(token, erc20Abi, 'balanceOf', [who]);
}
