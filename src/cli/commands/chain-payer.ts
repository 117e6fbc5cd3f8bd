import type { Command } from 'commander';
import { ChainClient } from '../../chain/chain-client.js';
import {
  bigintsAsStrings,
  deployment,
  readInput,
  rpcUrl,
  senderAccount,
  units,
  withChainOptions,
  withSender,
} from './chain-flags.js';
import type { SenderFlags } from './chain-flags.js';
import { parseOrderFile } from './chain-input.js';

/**
 * The payer's side of `verity chain`: signing an order, funding it, and taking back what was not spent. The key is the payer's own
 * (`--key-file`), not the data directory's: the escrow pays out only what the payer signed and deposited.
 */
export function registerChainPayer(chain: Command): void {
  withSender(
    withChainOptions(
      chain
        .command('sign-order')
        .description(
          "sign an order with the payer's key: print its EIP-712 digest and the signature to put in a settle file",
        )
        .requiredOption('--file <file>', 'JSON with an `order` (as in a settle file; other fields are ignored)'),
    ),
  ).action(async (flags: SenderFlags & { file: string }) => {
    const payer = senderAccount(flags);
    const order = parseOrderFile(readInput(flags.file, '--file'));
    const client = await ChainClient.connect(rpcUrl(flags));
    const { settlement } = deployment(flags, client.chainId);
    const orderDigest = client.orderDigest(settlement, order);
    const orderSignature = await client.signOrder(payer, settlement, order);
    if (flags.json) process.stdout.write(JSON.stringify({ orderDigest, orderSignature }, null, 2) + '\n');
    else console.log(`orderDigest     ${orderDigest}\norderSignature  ${orderSignature}`);
  });

  withSender(
    withChainOptions(
      chain
        .command('deposit')
        .description("fund an order: approve the escrow for the order's token and deposit (the payer's own key)")
        .requiredOption('--file <file>', 'JSON with an `order` (as in a settle file; other fields are ignored)')
        .requiredOption('--amount <units>', 'how much to deposit, in micro-units of the token'),
    ),
  ).action(async (flags: SenderFlags & { file: string; amount: string }) => {
    const amount = units(flags.amount, '--amount');
    const payer = senderAccount(flags);
    const order = parseOrderFile(readInput(flags.file, '--file'));
    const client = await ChainClient.connect(rpcUrl(flags));
    const { settlement } = deployment(flags, client.chainId);
    const transactionHash = await client.deposit(payer, settlement, order, amount);
    const orderDigest = client.orderDigest(settlement, order);
    if (flags.json)
      process.stdout.write(JSON.stringify({ orderDigest, amount, transactionHash }, bigintsAsStrings, 2) + '\n');
    else console.log(`deposited ${amount} for order ${orderDigest} (${transactionHash})`);
  });

  withSender(
    withChainOptions(
      chain
        .command('reclaim')
        .description(
          "after an order's deadline, send what its settlements did not spend back to the payer (any sender)",
        )
        .requiredOption('--file <file>', 'JSON with an `order` (as in a settle file; other fields are ignored)'),
    ),
  ).action(async (flags: SenderFlags & { file: string }) => {
    const sender = senderAccount(flags);
    const order = parseOrderFile(readInput(flags.file, '--file'));
    const client = await ChainClient.connect(rpcUrl(flags));
    const { settlement } = deployment(flags, client.chainId);
    const { transactionHash, amount } = await client.reclaim(sender, settlement, order);
    const orderDigest = client.orderDigest(settlement, order);
    if (flags.json)
      process.stdout.write(JSON.stringify({ orderDigest, amount, transactionHash }, bigintsAsStrings, 2) + '\n');
    else console.log(`reclaimed ${amount} of order ${orderDigest} for ${order.payer} (${transactionHash})`);
  });
}
