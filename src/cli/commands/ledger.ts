import type { Command } from 'commander';
import { principalNameProblem } from '../../auth/principal.js';
import { isLedgerAccount } from '../../ledger/accounts.js';
import { accountBalance, creditPrincipal, ledgerTransactionView, payoutPrincipal } from '../../ledger/operations.js';
import type { ManualMove } from '../../ledger/operations.js';
import type { LedgerBalanceView, LedgerTransactionPage, LedgerTransactionView } from '../../sdk/client.js';
import { onServerOrStore, withBackendOptions } from '../backends/open.js';
import type { BackendFlags } from '../backends/open.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';

const AMOUNT_HELP = 'integer micro-units (1 unit = 1000000), more than 0';

/**
 * `verity ledger`: balances, transactions, credits and payouts, against a server (with --server and a key:
 * the key's own account, or any with an admin key) or on a data directory, where the operator acts as an
 * admin (whoever can read the store is its admin anyway) and names the account with --principal.
 */
export function registerLedger(program: Command): void {
  const ledger = program
    .command('ledger')
    .description(`balances and transactions of the ledger; amounts are ${AMOUNT_HELP}`);

  withBackendOptions(
    ledger
      .command('balance')
      .description("print an account's available and held balance, in integer micro-units")
      .option('--principal <name>', "the account (default with --server: the key's own; locally: this or --as)")
      .option('--as <name>', 'locally: act as this principal, as the market commands do (its own account)')
      .option('--json', 'print { principal, available, held } as JSON'),
  ).action(async (flags: BackendFlags & { principal?: string; as?: string; json?: boolean }) => {
    const balance = await onServerOrStore<LedgerBalanceView>(
      flags,
      (client) => client.balance(flags.principal !== undefined ? { principal: flags.principal } : {}),
      (store) => accountBalance(store, localAccount(flags.principal ?? flags.as)),
    );
    if (flags.json) {
      process.stdout.write(JSON.stringify(balance, null, 2) + '\n');
      return;
    }
    console.log(`${balance.principal}: available ${balance.available}, held ${balance.held} (micro-units)`);
  });

  withBackendOptions(
    ledger
      .command('history')
      .description("list an account's transactions, newest first, with its own postings (micro-units)")
      .option('--principal <name>', "the account (default with --server: the key's own; locally: this or --as)")
      .option('--as <name>', 'locally: act as this principal, as the market commands do (its own account)')
      .option('--limit <n>', 'how many transactions, 1 to 500', '20')
      .option('--cursor <cursor>', 'the page after a previous one (printed on stderr when there is more)')
      .option('--json', 'print { transactions, next_cursor } as JSON'),
  ).action(
    async (
      flags: BackendFlags & { principal?: string; as?: string; limit: string; cursor?: string; json?: boolean },
    ) => {
      const limit = Number(flags.limit);
      if (!/^[0-9]+$/.test(flags.limit) || limit < 1 || limit > 500) {
        throw new CliError('usage', `--limit must be an integer from 1 to 500, not "${flags.limit}"`);
      }
      const page = await onServerOrStore<LedgerTransactionPage>(
        flags,
        (client) =>
          client.ledgerTransactions({
            limit,
            ...(flags.cursor !== undefined && { cursor: flags.cursor }),
            ...(flags.principal !== undefined && { principal: flags.principal }),
          }),
        async (store) => {
          const account = localAccount(flags.principal ?? flags.as);
          const found = await store.read.listLedgerTransactions(account, {
            limit,
            ...(flags.cursor !== undefined && { cursor: flags.cursor }),
          });
          return {
            transactions: found.transactions.map((t) => ledgerTransactionView(t, account)),
            ...(found.cursor !== undefined && { next_cursor: found.cursor }),
          };
        },
      );
      if (flags.json) {
        process.stdout.write(JSON.stringify(page, null, 2) + '\n');
        return;
      }
      if (page.transactions.length === 0) console.error('no transactions');
      else {
        console.log(
          table([
            ['TIME', 'KIND', 'ACCOUNT', 'BUCKET', 'AMOUNT', 'REASON', 'TRANSACTION'],
            ...page.transactions.flatMap((t) =>
              t.postings.map((p) => [
                t.created_at.slice(0, 19).replace('T', ' '),
                t.kind,
                p.account,
                p.bucket,
                String(p.amount),
                p.reason,
                t.id,
              ]),
            ),
          ]),
        );
      }
      if (page.next_cursor !== undefined) console.error(`more: --cursor ${page.next_cursor}`);
    },
  );

  for (const kind of ['credit', 'payout'] as const) {
    withBackendOptions(
      ledger
        .command(kind)
        .description(
          kind === 'credit'
            ? "credit a principal's available balance (a top-up; admin keys with --server)"
            : "record a payout from a principal's available balance (admin keys with --server); refused when it has less",
        )
        .argument('<principal>', 'the principal (a key name)')
        .argument('<amount>', AMOUNT_HELP)
        .option('--idempotency-key <key>', 'run it again with the same key: the same transaction, nothing posted twice')
        .option('--memo <text>', `the postings' reason (default: ${kind})`)
        .option('--json', 'print the transaction as JSON'),
    ).action(
      async (
        principal: string,
        amountText: string,
        flags: BackendFlags & { idempotencyKey?: string; memo?: string; json?: boolean },
      ) => {
        const problem = principalNameProblem(principal);
        if (problem !== undefined) throw new CliError('usage', `PRINCIPAL: ${problem}`);
        const move: ManualMove = {
          principal,
          amount: parseAmount(amountText),
          ...(flags.idempotencyKey !== undefined && { idempotencyKey: flags.idempotencyKey }),
          ...(flags.memo !== undefined && { memo: flags.memo }),
        };
        const transaction = await onServerOrStore<LedgerTransactionView>(
          flags,
          (client) => (kind === 'credit' ? client.credit(move) : client.payout(move)),
          async (store) =>
            ledgerTransactionView(
              (await (kind === 'credit' ? creditPrincipal : payoutPrincipal)(store, move)).transaction,
            ),
        );
        if (flags.json) {
          process.stdout.write(JSON.stringify(transaction, null, 2) + '\n');
          return;
        }
        console.log(
          `${kind === 'credit' ? 'credited' : 'paid out'} ${move.amount} micro-units ${kind === 'credit' ? 'to' : 'from'} ${principal} (transaction ${transaction.id})`,
        );
      },
    );
  }
}

/** AMOUNT: digits only (no sign, point or exponent), a safe integer above zero. */
function parseAmount(text: string): number {
  const amount = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(amount) || amount < 1) {
    throw new CliError('usage', `AMOUNT must be ${AMOUNT_HELP} and at most ${Number.MAX_SAFE_INTEGER}, not "${text}"`);
  }
  return amount;
}

/** Locally there is no key to say whose account: --principal names it (a principal or a sys: account). */
function localAccount(principal: string | undefined): string {
  if (principal === undefined) {
    throw new CliError(
      'usage',
      'on a data directory, name the account: --principal NAME or --as NAME (or use --server with a key)',
    );
  }
  if (!isLedgerAccount(principal)) {
    throw new CliError(
      'usage',
      `--principal: ${principalNameProblem(principal) ?? `"${principal}" is not an account`}`,
    );
  }
  return principal;
}
