import { Option } from 'commander';
import type { Command } from 'commander';
import { addressBindingToSign } from '../../chain/address-binding-statement.js';
import { VerityClient } from '../../sdk/client.js';
import { serverOf } from '../backends/open.js';
import { CliError } from '../errors.js';
import { senderAccount, withSender } from './chain-flags.js';

interface RegisterFlags {
  keyFile?: string;
  json?: boolean;
  chainId: string;
  server?: string;
  apiKey?: string;
  principal?: string;
}

/**
 * `verity chain register-address`: a principal binds the address of its own key to its ledger account on one
 * chain, through the server (which checks the signature, signs a statement of it and logs it). The key file
 * signs the binding here and never leaves this process; the server sees the address and the signature only.
 */
export function registerChainRegister(chain: Command): void {
  withSender(
    chain
      .command('register-address')
      .description("bind your key's address to your ledger account on a chain the server knows (paid there on chain)")
      .requiredOption('--chain-id <n>', 'the chain, as GET /v1/chain/deployments lists it')
      .addOption(new Option('--server <url>', 'the Verity server').env('VERITY_SERVER'))
      .addOption(
        new Option('--api-key <key>', 'your API key (its principal is the account bound)').env('VERITY_API_KEY'),
      )
      .option('--principal <account>', 'admins: sys:platform, to bind the platform fee account instead of your own')
      .option('--json', 'print the binding as JSON'),
  ).action(async (flags: RegisterFlags) => {
    const chainId = Number(flags.chainId);
    if (!/^[1-9][0-9]{0,15}$/.test(flags.chainId) || !Number.isSafeInteger(chainId)) {
      throw new CliError('usage', `--chain-id must be a positive integer, not "${flags.chainId}"`);
    }
    const client = clientOf(flags);
    // The key-file rules of every `verity chain` command (0600, 0x and 64 hex, never printed); no RPC is needed.
    const account = senderAccount({ rpc: '', ...(flags.keyFile !== undefined && { keyFile: flags.keyFile }) });
    const deployment = (await client.chainDeployments()).find((d) => d.chain_id === chainId);
    if (!deployment) {
      throw new CliError(
        'failed',
        `the server knows no deployment on chain ${chainId}: \`verity chain deploy\` records one in its data directory`,
      );
    }
    const principal = flags.principal ?? (await client.whoAmI()).principal;
    const signature = await account.signTypedData(
      addressBindingToSign(chainId, deployment.settlement, principal, account.address),
    );
    const binding = await client.bindChainAddress({
      chain_id: chainId,
      address: account.address,
      signature,
      ...(flags.principal !== undefined && { principal: flags.principal }),
    });
    if (flags.json) {
      process.stdout.write(JSON.stringify(binding, null, 2) + '\n');
      return;
    }
    console.log(`address    ${binding.address}`);
    console.log(`principal  ${binding.principal}`);
    console.log(`log index  ${binding.log_index}`);
    console.error(`bound on chain ${chainId} (escrow ${binding.settlement})`);
  });
}

/** The API client of a command that talks to the server: --server and --api-key (or their environment variables). */
export function clientOf(flags: { server?: string | undefined; apiKey?: string | undefined }): VerityClient {
  return new VerityClient(serverOf(flags));
}
