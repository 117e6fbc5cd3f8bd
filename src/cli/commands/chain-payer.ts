import type { Command } from 'commander';
import { zeroAddress } from 'viem';
import { ChainClient } from '../../chain/chain-client.js';
import type { OrderMessage } from '../../chain/typed-data.js';
import { CliError } from '../errors.js';
import {
  address,
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
 * The order with `--zk-verifier` pinned; a file whose order already names another verifier is refused rather
 * than signed differently from what it says.
 */
function withZkVerifier(order: OrderMessage, flag: string | undefined): OrderMessage {
  if (flag === undefined) return order;
  const zkVerifier = address(flag, '--zk-verifier');
  if (order.zkVerifier !== zeroAddress && order.zkVerifier !== zkVerifier)
    throw new CliError('usage', `--zk-verifier: the file's order pins another verifier, ${order.zkVerifier}`);
  return { ...order, zkVerifier };
}

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
        .requiredOption('--file <file>', 'JSON with an `order` (as in a settle file; other fields are ignored)')
        .option(
          '--zk-verifier <address>',
          "pin this Groth16 verifier (verity chain deploy-verifier): the order then settles only with the run's zk proofs",
        ),
    ),
  ).action(async (flags: SenderFlags & { file: string; zkVerifier?: string }) => {
    const payer = senderAccount(flags);
    const order = withZkVerifier(parseOrderFile(readInput(flags.file, '--file')), flags.zkVerifier);
    const client = await ChainClient.connect(rpcUrl(flags));
    const { settlement } = deployment(flags, client.chainId);
    const orderDigest = client.orderDigest(settlement, order);
    const orderSignature = await client.signOrder(payer, settlement, order);
    const pinned = order.zkVerifier === zeroAddress ? undefined : order.zkVerifier;
    if (flags.json)
      process.stdout.write(
        JSON.stringify({ orderDigest, orderSignature, ...(pinned && { zkVerifier: pinned }) }, null, 2) + '\n',
      );
    else {
      console.log(`orderDigest     ${orderDigest}\norderSignature  ${orderSignature}`);
      // The signature covers the verifier: the settle file's order must name it too, or it will not match.
      if (pinned) console.log(`zkVerifier      ${pinned}  (the order in the settle file must carry it)`);
    }
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
