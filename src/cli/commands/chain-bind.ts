import type { Command } from 'commander';
import { isHex } from 'viem';
import type { Hex } from 'viem';
import { z } from 'zod';
import { ChainClient } from '../../chain/chain-client.js';
import { addressBindingMessage } from '../../chain/typed-data.js';
import type { AddressBindingMessage } from '../../chain/typed-data.js';
import { CliError } from '../errors.js';
import { deployment, readInput, rpcUrl, senderAccount, withChainOptions, withSender } from './chain-flags.js';
import type { SenderFlags } from './chain-flags.js';
import { usage } from './chain-input.js';

/**
 * `verity chain bind --file`: the bindings the server's admin route `GET /v1/admin/chain-bindings?chain_id=N`
 * returns, each an account holder's AddressBinding signature of its address to a ledger account.
 */
const BindingsFile = z.object({
  bindings: z.array(
    z.strictObject({
      principal: z.string().min(1),
      address: z.string(),
      signature: z.string().refine((v) => isHex(v) && v.length === 132, 'must be a 65-byte signature, 0x and 130 hex'),
      /** Where the server logged the binding: the route gives it; the chain does not need it. */
      log_index: z.int().min(0).optional(),
    }),
  ),
});

export interface PayeeBinding {
  /** The ledger account name, as the file gives it. */
  name: string;
  message: AddressBindingMessage;
  signature: Hex;
}

export function parseBindingsFile(json: unknown): PayeeBinding[] {
  const parsed = BindingsFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError('usage', `--file: ${issue?.path.join('.') || 'the file'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data.bindings.map((b, i) => ({
    name: b.principal,
    message: usage(`--file: bindings.${i}`, () => addressBindingMessage(b.principal, b.address)),
    signature: b.signature as Hex,
  }));
}

/**
 * Registers payee bindings with the escrow (bindPayee), sent by the chain key, which must hold the escrow's
 * COORDINATOR_ROLE: the escrow then pays those addresses. A binding the chain already has (the same address
 * to the same principal) is skipped, so the same file can be submitted again after new ones are added.
 */
export function registerChainBind(chain: Command): void {
  withSender(
    withChainOptions(
      chain
        .command('bind')
        .description(
          "register payees' signed address bindings with the escrow (the chain key must hold its COORDINATOR_ROLE)",
        )
        .requiredOption(
          '--file <file>',
          'JSON: { "bindings": [{ "principal", "address", "signature" }] } (GET /v1/admin/chain-bindings?chain_id=N)',
        ),
    ),
  ).action(async (flags: SenderFlags & { file: string }) => {
    const bindings = parseBindingsFile(readInput(flags.file, '--file'));
    const sender = senderAccount(flags);
    const client = await ChainClient.connect(rpcUrl(flags));
    const { settlement } = deployment(flags, client.chainId);
    const results: { principal: string; address: string; status: 'bound' | 'skipped'; transactionHash?: Hex }[] = [];
    for (const { name, message, signature } of bindings) {
      if ((await client.payeePrincipal(settlement, message.account)) === message.principal) {
        results.push({ principal: name, address: message.account, status: 'skipped' });
        if (!flags.json) console.log(`skipped ${message.account} → ${name}: already bound on chain`);
        continue;
      }
      const transactionHash = await client.bindPayee(sender, settlement, message, signature);
      results.push({ principal: name, address: message.account, status: 'bound', transactionHash });
      if (!flags.json) console.log(`bound   ${message.account} → ${name} (${transactionHash})`);
    }
    if (flags.json) process.stdout.write(JSON.stringify({ bindings: results }, null, 2) + '\n');
    else if (results.length === 0) console.log('no bindings in the file');
  });
}
