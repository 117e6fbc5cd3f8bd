import { Option } from 'commander';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { clientOf } from './chain-register.js';

interface RecordPaymentFlags {
  chainId: string;
  tx: string;
  server?: string;
  apiKey?: string;
  json?: boolean;
}

/**
 * `verity chain record-payment`: tells the server that a mined transaction settled an execution on chain, so the
 * ledger moves what the escrow paid each payee back to the buyer (docs/chain.md, "One charge"). The server reads
 * the transaction from its own node; this command only names it.
 */
export function registerChainRecordPayment(chain: Command): void {
  chain
    .command('record-payment')
    .description("record in the server's ledger what the escrow paid for an execution (its buyer, or an admin)")
    .argument('<execution>', 'the execution the transaction settled')
    .requiredOption('--chain-id <n>', 'the chain, as GET /v1/chain/deployments lists it')
    .requiredOption('--tx <hash>', 'the settle transaction: 0x and 64 hex')
    .addOption(new Option('--server <url>', 'the Verity server').env('VERITY_SERVER'))
    .addOption(new Option('--api-key <key>', 'the API key of the buyer, or an admin').env('VERITY_API_KEY'))
    .option('--json', 'print the recorded payments as JSON')
    .action(async (executionId: string, flags: RecordPaymentFlags) => {
      const chainId = Number(flags.chainId);
      if (!/^[1-9][0-9]{0,15}$/.test(flags.chainId) || !Number.isSafeInteger(chainId))
        throw new CliError('usage', `--chain-id must be a positive integer, not "${flags.chainId}"`);
      if (!/^0x[0-9a-fA-F]{64}$/.test(flags.tx))
        throw new CliError('usage', `--tx must be a transaction hash, 0x and 64 hex digits, not "${flags.tx}"`);
      const recorded = await clientOf(flags).chainPayments(executionId, {
        chain_id: chainId,
        transaction_hash: flags.tx,
      });
      if (flags.json) {
        process.stdout.write(JSON.stringify(recorded, null, 2) + '\n');
        return;
      }
      for (const p of recorded.payments) {
        console.log(
          `revision ${p.revision}: ${p.paid_now} paid on chain in ${p.token}, ${p.replayed ? 'recorded before' : 'recorded now'} (ledger transaction ${p.ledger_transaction_id})`,
        );
      }
    });
}
