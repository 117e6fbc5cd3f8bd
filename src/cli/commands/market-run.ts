import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { principalNameProblem } from '../../auth/principal.js';
import type { ExecutionView } from '../../engine/view.js';
import { platformFeeBps } from '../../market/fee.js';
import { runThroughListing } from '../../market/runs.js';
import { settlementView } from '../../market/settlement-view.js';
import type { SettlementView } from '../../sdk/client.js';
import { openBackend, withBackendOptions } from '../backends/open.js';
import type { BackendFlags } from '../backends/open.js';
import type { CliBackend } from '../backends/backend.js';
import type { LocalBackend } from '../backends/local.js';
import { RemoteBackend } from '../backends/remote.js';
import { CliError } from '../errors.js';
import { parseNonNegativeInt } from '../inputs.js';

interface MarketRunFlags extends BackendFlags {
  as?: string;
  json?: boolean;
  input?: string[];
  inputsFile?: string;
  maxPrice?: string;
  idempotencyKey?: string;
  wait?: boolean;
  workers: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * `verity market run LISTING_ID`: buys a run of a listing (a hold on the buyer's balance, then the run),
 * on a server with --server (the key's principal buys) or on the local store for the principal `--as`
 * names, with in-process workers. It prints the execution id and, once the run ended, its settlement.
 */
export function registerMarketRun(market: Command): void {
  withBackendOptions(
    market
      .command('run')
      .description(
        'buy a run of a listing: hold the most it can cost, run it, print the execution id and (when it ends) the settlement',
      )
      .argument('<listing>', 'the listing id')
      .option(
        '--input <key=value>',
        'an input (repeat for more); the value is JSON if it parses, else a string',
        collect,
      )
      .option('--inputs-file <path>', 'the inputs as a JSON or YAML file (--input entries override its keys)')
      .option(
        '--max-price <micro-units>',
        'the most you will pay: caps a per_usage price; a fixed price above it is refused',
      )
      .option('--idempotency-key <key>', 'the same key returns the same execution and holds once')
      .option(
        '--wait',
        'wait for the run to end and print its settlement (always, locally: the run lives in this process)',
      )
      .option('--workers <n>', 'job slots of the in-process worker (local runs)', '16')
      .option('--as <principal>', 'locally: the buyer (required); ignored with --server, where the key says who buys')
      .option('--json', 'print JSON: the execution view, or { execution, settlements } once it ended'),
  ).action(async (listingId: string, flags: MarketRunFlags) => {
    const inputs = inputsOf(flags);
    const maxPrice = flags.maxPrice === undefined ? undefined : parseNonNegativeInt('--max-price', flags.maxPrice);
    const buyer = flags.server ? undefined : buyerOf(flags.as);
    const backend = await openBackend(flags, flags.server ? 0 : parseNonNegativeInt('--workers', flags.workers));
    await backend.session(async () => {
      let execution: ExecutionView;
      if (backend instanceof RemoteBackend) {
        execution = await backend.client.executeListing(
          listingId,
          { inputs, ...(maxPrice !== undefined && { max_price: maxPrice }) },
          flags.idempotencyKey === undefined ? {} : { idempotencyKey: flags.idempotencyKey },
        );
      } else {
        execution = await localRun(backend as LocalBackend, buyer!, listingId, {
          inputs,
          ...(maxPrice !== undefined && { maxPrice }),
          ...(flags.idempotencyKey !== undefined && { idempotencyKey: flags.idempotencyKey }),
        });
      }
      const wait = flags.wait === true || !flags.server;
      if (!wait) {
        if (flags.json) process.stdout.write(JSON.stringify(execution, null, 2) + '\n');
        else console.log(execution.executionId);
        return;
      }
      if (!flags.json) console.log(execution.executionId);
      const final = await backend.follow(execution.executionId, undefined);
      const settlements = await settlementsOf(backend, final);
      if (flags.json) process.stdout.write(JSON.stringify({ execution: final, settlements }, null, 2) + '\n');
      else printSettlements(final, settlements);
      process.exitCode = final.status === 'completed' ? 0 : 1;
    });
  });
}

function buyerOf(as: string | undefined): string {
  if (as === undefined)
    throw new CliError('usage', 'locally, say who buys with --as NAME (on a server, the API key says it)');
  const problem = principalNameProblem(as);
  if (problem !== undefined) throw new CliError('usage', `--as: ${problem}`);
  return as;
}

function inputsOf(flags: MarketRunFlags): Record<string, unknown> {
  let inputs: Record<string, unknown> = {};
  if (flags.inputsFile !== undefined) {
    let parsed: unknown;
    try {
      const text = readFileSync(flags.inputsFile, 'utf8');
      parsed = /\.ya?ml$/i.test(flags.inputsFile) ? parseYaml(text) : JSON.parse(text);
    } catch (error) {
      throw new CliError('usage', `--inputs-file: cannot read ${flags.inputsFile}: ${(error as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new CliError('usage', `--inputs-file: ${flags.inputsFile} must hold an object of inputs`);
    inputs = parsed as Record<string, unknown>;
  }
  for (const entry of flags.input ?? []) {
    const at = entry.indexOf('=');
    if (at <= 0) throw new CliError('usage', `--input must be key=value, not "${entry}"`);
    const text = entry.slice(at + 1);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Not JSON: the text itself, so `--input text=hello` needs no quotes.
    }
    inputs[entry.slice(0, at)] = value;
  }
  return inputs;
}

/** The run on the local store, under the API's rules, the node's fee rate, for the buyer --as names. */
async function localRun(
  backend: LocalBackend,
  buyer: string,
  listingId: string,
  run: { inputs: unknown; maxPrice?: number; idempotencyKey?: string },
): Promise<ExecutionView> {
  const { node } = backend;
  const execution = await runThroughListing(
    { reads: node.store.read, engine: node.engine, feeBps: platformFeeBps(), attests: node.options.attest },
    { principal: buyer, admin: false },
    { listingId, ...run },
  );
  return backend.status(execution.id);
}

/**
 * The run's settlements: a server settles in the transaction that issues the receipt, so they are there
 * when the run is seen ended, but a replica's commit can trail its event by a moment: ask a few times.
 */
async function settlementsOf(backend: CliBackend, final: ExecutionView): Promise<SettlementView[]> {
  for (let attempt = 0; ; attempt++) {
    const found =
      backend instanceof RemoteBackend
        ? await backend.client.settlements(final.executionId)
        : (await (backend as LocalBackend).node.store.read.listMarketSettlements(final.executionId)).map(
            (r) => settlementView(r, { kind: 'full' }) as SettlementView,
          );
    if (found.length > 0 || attempt >= 20) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function printSettlements(final: ExecutionView, settlements: SettlementView[]): void {
  console.log(`status: ${final.status}`);
  if (settlements.length === 0) {
    console.log('not settled yet: GET /v1/executions/{id}/settlements shows it once it is');
    return;
  }
  for (const s of settlements) {
    console.log(
      `settlement ${s.revision} (${s.outcome}): price ${s.price ?? '?'}, fee ${s.fee ?? '?'}, compute cost ${s.compute_cost ?? '?'} micro-units`,
    );
  }
}
