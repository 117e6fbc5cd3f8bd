import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyBundle } from '../../attest/verify/verify-bundle.js';
import { buildBundle } from '../../receipts/bundle.js';
import { openNode, withStoreOptions } from '../context.js';
import type { StoreFlags } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { colorize } from '../format.js';

export function registerReceipts(program: Command): void {
  withStoreOptions(
    program
      .command('receipt')
      .description("write an execution's receipt bundle: the signed receipt, attestations, keys and log proof")
      .argument('<execution>', 'execution id (or a unique prefix)')
      .option('--include-data', 'add the workflow, inputs and each step\'s input and output (for verify --level full)')
      .option('-o, --output <file>', 'write to a file instead of stdout'),
  ).action(async (id: string, flags: StoreFlags & { includeData?: boolean; output?: string }) => {
    const node = await openNode(flags, 0, console.error);
    try {
      const executionId = await node.engine.resolveExecutionId(id);
      const bundle = await buildBundle(node.store, node.log, executionId, { includeData: flags.includeData === true });
      const text = JSON.stringify(bundle, null, 2) + '\n';
      if (flags.output) {
        writeFileSync(flags.output, text);
        console.error(`wrote the receipt bundle of ${executionId} to ${flags.output}`);
      } else {
        process.stdout.write(text);
      }
    } finally {
      await node.stop();
    }
  });

  program
    .command('verify')
    .description('check a receipt bundle offline, with the coordinator public key you trust')
    .argument('<bundle>', 'bundle file (JSON), or - for stdin')
    .option('--trust <key.pem>', 'a trusted coordinator public key (PEM); repeat for several', collect, [])
    .option('--level <level>', 'basic (signatures, log) or full (also the data: digests, lineage, re-execution)', 'basic')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, flags: { trust: string[]; level: string; json?: boolean }) => {
      if (flags.level !== 'basic' && flags.level !== 'full') throw new CliError('usage', `--level must be basic or full, not "${flags.level}"`);
      if (flags.trust.length === 0) {
        throw new CliError('usage', 'give the coordinator public key to trust: --trust KEY.pem (see `verity keys show`); keys inside a bundle are never trusted on their own word');
      }
      const trustedKeys = flags.trust.map((path) => readText(path, '--trust'));
      let bundle: unknown;
      try {
        bundle = JSON.parse(file === '-' ? readFileSync(0, 'utf8') : readText(file, 'bundle'));
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError('usage', `the bundle is not JSON: ${(error as Error).message}`);
      }
      const report = await verifyBundle(bundle, { trustedKeys, level: flags.level });
      if (flags.json) {
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
        const what = report.executionId ? `execution ${report.executionId} (${report.workflow?.id} v${report.workflow?.version}, ${report.status})` : 'the bundle';
        console.log(report.ok ? c.green(`verified at level ${report.level}: ${what}`) : c.red(`NOT verified: ${failed} check${failed === 1 ? '' : 's'} failed for ${what}`));
      }
      process.exitCode = report.unusable ? EXIT.usage : report.ok ? EXIT.completed : EXIT.failed;
    });

  const keys = program.command('keys').description("this node's keys");
  withStoreOptions(
    keys.command('show').description("print the coordinator's public key (PEM) and its keyid: what verifiers trust"),
  ).action(async (flags: StoreFlags) => {
    const node = await openNode(flags, 0, console.error);
    try {
      process.stdout.write(node.coordinatorSigner.publicKeyPem);
      console.error(`keyid ${node.coordinatorSigner.keyId}`);
    } finally {
      await node.stop();
    }
  });

  const log = program.command('log').description('the transparency log of receipts');
  withStoreOptions(log.command('checkpoint').description('print a signed checkpoint of the log (C2SP tlog-checkpoint)')).action(
    async (flags: StoreFlags) => {
      const node = await openNode(flags, 0, console.error);
      try {
        process.stdout.write((await node.log.checkpoint()).note);
      } finally {
        await node.stop();
      }
    },
  );
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

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError('usage', `cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}
