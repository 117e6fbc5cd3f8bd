import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { ProcessEvaluator } from '../../expressions/node/process-evaluator.js';
import { verifyBundle } from '../../attest/verify/verify-bundle.js';
import type { VerificationReport } from '../../attest/verify/report.js';
import { CHAIN_SETTLEMENT_MEDIA_TYPE } from '../../chain/media-type.js';
import { releaseCurveWorkers } from '../../zk/setup/curve.js';
import { openBackend, withBackendOptions } from '../backends/open.js';
import type { BackendFlags } from '../backends/open.js';
import { openNode, withStoreOptions } from '../context.js';
import type { StoreFlags } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { colorize } from '../format.js';
import { readText } from '../inputs.js';

interface VerifyFlags extends BackendFlags {
  trust: string[];
  level: string;
  zkKey: string[];
  json?: boolean;
}

export function registerReceipts(program: Command): void {
  withBackendOptions(
    program
      .command('receipt')
      .description("write an execution's receipt bundle: the signed receipt, attestations, keys and log proof")
      .argument('<execution>', 'execution id (or, locally, a unique prefix)')
      .option('--include-data', "add the workflow, inputs and each step's input and output (for verify --level full)")
      .option(
        '--zk-only',
        'the zk-only bundle: the zk statement, proofs and verification key, without the receipt, attestations or data (for verify --level zk)',
      )
      .option('-o, --output <file>', 'write to a file instead of stdout'),
  ).action(async (id: string, flags: BackendFlags & { includeData?: boolean; zkOnly?: boolean; output?: string }) => {
    if (flags.zkOnly && flags.includeData)
      throw new CliError('usage', '--zk-only and --include-data exclude each other: a zk-only bundle carries no data');
    const backend = await openBackend(flags, 0);
    await backend.session(async () => {
      const executionId = await backend.resolveId(id);
      const bundle = await backend.receipt(executionId, {
        includeData: flags.includeData === true,
        zkOnly: flags.zkOnly === true,
      });
      const text = JSON.stringify(bundle, null, 2) + '\n';
      if (flags.output) {
        writeFileSync(flags.output, text);
        console.error(`wrote the receipt bundle of ${executionId} to ${flags.output}`);
      } else {
        process.stdout.write(text);
      }
    });
  });

  program
    .command('verify')
    .description('check a receipt bundle offline, with the coordinator public key you trust')
    .argument(
      '<bundle>',
      'bundle file (JSON), - for stdin, or with --server an execution id (its bundle is fetched, then checked here)',
    )
    .option(
      '--trust <key.pem>',
      'a trusted coordinator public key (PEM); repeat for several. With --server and no --trust: the key the server presents',
      collect,
      [],
    )
    .option(
      '--level <level>',
      'basic (signatures, log), full (also the data: digests, lineage, re-execution) or zk (the zero-knowledge proofs)',
      'basic',
    )
    .option(
      '--zk-key <vkey.json>',
      'at level zk: a Groth16 verification key to pin (from `verity zk export-verification-key`); repeat for several',
      collect,
      [],
    )
    .option('--json', 'print the report as JSON')
    .addOption(
      new Option('--server <url>', 'fetch the bundle (and, without --trust, the key) from this Verity server').env(
        'VERITY_SERVER',
      ),
    )
    .addOption(new Option('--api-key <key>', 'the API key for --server').env('VERITY_API_KEY'))
    .action(async (source: string, flags: VerifyFlags) => {
      if (flags.level !== 'basic' && flags.level !== 'full' && flags.level !== 'zk')
        throw new CliError('usage', `--level must be basic, full or zk, not "${flags.level}"`);
      const zkKeys = flags.zkKey.map((path) => {
        try {
          return JSON.parse(readText(path, '--zk-key')) as unknown;
        } catch (error) {
          if (error instanceof CliError) throw error;
          throw new CliError('usage', `--zk-key ${path} is not JSON: ${(error as Error).message}`);
        }
      });
      const fromServer = flags.server !== undefined && source !== '-' && !existsSync(source);
      if (flags.trust.length === 0 && !flags.server) {
        throw new CliError(
          'usage',
          'give the coordinator public key to trust: --trust KEY.pem (see `verity keys show`); keys inside a bundle are never trusted on their own word',
        );
      }
      let trustedKeys = flags.trust.map((path) => readText(path, '--trust'));
      let bundle: unknown;
      if (fromServer || trustedKeys.length === 0) {
        const backend = await openBackend(flags, 0);
        if (trustedKeys.length === 0) {
          // Trust on first use, said out loud: pin this key with --trust to stop trusting the server's word.
          const key = await backend.coordinatorKey();
          trustedKeys = [key.publicKeyPem];
          if (!flags.json)
            console.error(
              `trusting the coordinator key ${key.keyid.slice(0, 16)}… that ${backend.where} presents (pin it with --trust)`,
            );
        }
        if (fromServer) bundle = await backend.receipt(source, { includeData: flags.level === 'full' });
      }
      if (!fromServer) {
        try {
          bundle = JSON.parse(source === '-' ? readFileSync(0, 'utf8') : readText(source, 'bundle'));
        } catch (error) {
          if (error instanceof CliError) throw error;
          throw new CliError('usage', `the bundle is not JSON: ${(error as Error).message}`);
        }
      }
      // An on-chain settlement document has its own checks (EIP-712 signatures, bindings), apart from a bundle's levels.
      if (isChainSettlementDocument(bundle)) {
        const { verifyChainSettlement } = await import('../../chain/verify-settlement-document.js');
        printReport(await verifyChainSettlement(bundle, trustedKeys), flags.json === true);
        return;
      }
      // Level full runs the bundle's own expressions: in a sandbox, since a bundle is whoever made it's code.
      const evaluator =
        flags.level === 'full'
          ? new ProcessEvaluator({ name: 'verifier expression evaluator', processes: 1 })
          : undefined;
      let report;
      try {
        report = await verifyBundle(bundle, {
          trustedKeys,
          level: flags.level,
          ...(evaluator && { evaluator }),
          ...(zkKeys.length > 0 && { zkVerificationKeys: zkKeys }),
        });
      } finally {
        await evaluator?.close();
      }
      // snarkjs's curve keeps worker threads that would hold the process open.
      if (flags.level === 'zk') await releaseCurveWorkers();
      printReport(report, flags.json === true);
    });

  const log = program.command('log').description('the transparency log of receipts');
  withStoreOptions(
    log.command('checkpoint').description('print a signed checkpoint of the log (C2SP tlog-checkpoint)'),
  ).action(async (flags: StoreFlags) => {
    const node = await openNode(flags, 0, console.error);
    try {
      process.stdout.write((await node.log.checkpoint()).note);
    } finally {
      await node.stop();
    }
  });
  withStoreOptions(
    log
      .command('consistency')
      .description('print a consistency proof (RFC 9162) from an earlier tree size to now, with a checkpoint of now')
      .argument('<size>', 'the earlier tree size'),
  ).action(async (size: string, flags: StoreFlags) => {
    if (!/^\d+$/.test(size)) throw new CliError('usage', `size must be a non-negative integer, not "${size}"`);
    const node = await openNode(flags, 0, console.error);
    try {
      const checkpoint = await node.log.checkpoint();
      const proof = await node.log.consistencyProof(Number(size), checkpoint.size);
      process.stdout.write(JSON.stringify({ ...proof, checkpoint: checkpoint.note }, null, 2) + '\n');
    } finally {
      await node.stop();
    }
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Prints a verification report (as JSON, or one line a check) and sets the exit code from it. */
function printReport(report: VerificationReport, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else if (report.unusable) {
    console.error(`error: ${report.unusable}`);
  } else {
    const c = colorize(process.stdout);
    for (const check of report.checks) {
      const mark = !check.ok ? c.red('✗') : check.skipped ? c.dim('-') : c.green('✓');
      console.log(`${mark} ${check.name}: ${check.message}`);
    }
    const failed = report.checks.filter((x) => !x.ok).length;
    const what = report.executionId
      ? `execution ${report.executionId} (${report.workflow?.id} v${report.workflow?.version}, ${report.status})`
      : 'the bundle';
    console.log(
      report.ok
        ? c.green(`verified at level ${report.level}: ${what}`)
        : c.red(`NOT verified: ${failed} check${failed === 1 ? '' : 's'} failed for ${what}`),
    );
  }
  process.exitCode = report.unusable ? EXIT.usage : report.ok ? EXIT.completed : EXIT.failed;
}

/** `verify` takes an on-chain settlement document as well as a bundle; it says which by its media type. */
function isChainSettlementDocument(input: unknown): boolean {
  return (
    typeof input === 'object' &&
    input !== null &&
    (input as { mediaType?: unknown }).mediaType === CHAIN_SETTLEMENT_MEDIA_TYPE
  );
}
