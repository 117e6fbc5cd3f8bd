import { Command, CommanderError } from 'commander';
import { VerityError, describeError } from '../errors.js';
import { WorkflowError } from '../workflow/errors.js';
import { registerBlobs } from './commands/blobs.js';
import { registerChain } from './commands/chain.js';
import { registerControl } from './commands/control.js';
import { registerInspect } from './commands/inspect.js';
import { registerKeys } from './commands/keys.js';
import { registerLedger } from './commands/ledger.js';
import { registerMarket } from './commands/market.js';
import { registerReceipts } from './commands/receipts.js';
import { registerServe } from './commands/serve.js';
import { registerRun } from './commands/run.js';
import { registerValidate } from './commands/validate.js';
import { registerZk } from './commands/zk.js';
import { CliError, EXIT } from './errors.js';
import { installNodeCrypto } from '../keys/node-crypto.js';
import { VerityApiError } from '../sdk/client.js';
import { BlobError } from '../blobs/errors.js';
import { EnvError } from '../env.js';

const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('verity')
    .description('Verifiable AI agent orchestration: run workflows as durable DAGs of steps on workers, with receipts.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerRun(program);
  registerValidate(program);
  registerInspect(program);
  registerControl(program);
  registerReceipts(program);
  registerKeys(program);
  registerLedger(program);
  registerMarket(program);
  registerBlobs(program);
  registerServe(program);
  registerZk(program);
  registerChain(program);
  return program;
}

/** Runs the CLI and returns the exit code: 0 completed, 1 failed, 2 bad usage or invalid workflow. */
export async function main(argv: readonly string[]): Promise<number> {
  installNodeCrypto();
  const debug = argv.includes('--debug');
  process.exitCode = undefined;
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; commander already printed usage errors.
      return error.exitCode === 0 ? 0 : EXIT.usage;
    }
    if (error instanceof WorkflowError) {
      process.stderr.write(`${error.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`error: ${describeError(error)}${hintFor(error)}\n`);
    if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return exitCodeOf(error);
  }
}

/** What to do about a server's refusal, when the message alone would leave the user guessing. */
function hintFor(error: unknown): string {
  if (!(error instanceof VerityApiError)) return '';
  if (error.status === 401) return ' (check --api-key / VERITY_API_KEY: the key is unknown, malformed or revoked)';
  if (error.status === 403)
    return " (this key's role may not do that; an admin can create one that may: verity keys create)";
  return '';
}

function exitCodeOf(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  // The server refused the request as asked (bad input, unknown id, not yet): a usage error, like locally.
  if (error instanceof VerityApiError)
    return error.status !== undefined &&
      error.status >= 400 &&
      error.status < 500 &&
      error.status !== 401 &&
      error.status !== 403
      ? EXIT.usage
      : EXIT.failed;
  if (
    error instanceof BlobError &&
    (error.code === 'not_found' || error.code === 'invalid_ref' || error.code === 'invalid_config')
  )
    return EXIT.usage;
  // A VERITY_* variable set to what it does not take: as bad usage as a bad flag.
  if (error instanceof EnvError) return EXIT.usage;
  if (
    error instanceof VerityError &&
    (error.code === 'invalid_inputs' ||
      error.code === 'invalid_url' ||
      error.code === 'ambiguous_id' ||
      error.code === 'execution_not_found' ||
      error.code === 'no_receipt' ||
      // The ledger refused what was asked (locally, as a server answers 4xx): too little money, a reused key.
      error.code === 'insufficient_funds' ||
      error.code === 'idempotency_conflict' ||
      error.code === 'invalid_transaction' ||
      // The market refused what was asked (locally, as a server answers 4xx).
      error.code === 'invalid_listing' ||
      error.code === 'listing_not_found' ||
      error.code === 'unknown_workflow' ||
      error.code === 'listing_retired' ||
      error.code === 'invalid_cursor' ||
      error.code === 'subscription_required' ||
      error.code === 'subscription_active' ||
      error.code === 'over_quota' ||
      error.code === 'no_subscription' ||
      error.code === 'run_not_found' ||
      error.code === 'rating_forbidden')
  ) {
    return EXIT.usage;
  }
  return EXIT.failed;
}
