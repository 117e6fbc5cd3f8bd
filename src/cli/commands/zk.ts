import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import {
  DEFAULT_ZK_CONFIG,
  MAX_BATCH_SIZE,
  MAX_REGISTRY_DEPTH,
  checkZkConfig,
  circuitId,
} from '../../attest/zk/circuit.js';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import { ZkError } from '../../attest/zk/errors.js';
import { checkArtifacts, readArtifacts } from '../../zk/setup/artifacts.js';
import { releaseCurveWorkers } from '../../zk/setup/curve.js';
import { formatSeconds } from '../../zk/setup/progress.js';
import { DEVELOPMENT_CAVEAT } from '../../zk/setup/transcript.js';
import type { Contribution } from '../../zk/setup/transcript.js';
import { CliError, EXIT } from '../errors.js';
import { colorize, table } from '../format.js';
import { registerZkPublish } from './zk-publish.js';

/** The flags every `verity zk` command takes: where the artifacts live and which circuit configuration. */
export interface ZkFlags {
  zkDir?: string;
  dataDir?: string;
  batchSize: string;
  registryDepth: string;
}

export function withZkOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--batch-size <n>', `steps per proof (1 to ${MAX_BATCH_SIZE}); each size is its own circuit`).default(
        String(DEFAULT_ZK_CONFIG.batchSize),
      ),
    )
    .addOption(
      new Option(
        '--registry-depth <n>',
        `depth of the worker registry tree (1 to ${MAX_REGISTRY_DEPTH}): up to 2^n worker keys`,
      ).default(String(DEFAULT_ZK_CONFIG.registryDepth)),
    )
    .addOption(
      new Option('--zk-dir <dir>', 'where circuit artifacts live (default: <data dir>/zk)').env('VERITY_ZK_DIR'),
    )
    .addOption(new Option('--data-dir <dir>', 'where local state lives').env('VERITY_DATA_DIR').default('.verity'));
}

/** --zk-dir, else `<--data-dir>/zk`. */
export function zkDirOf(flags: Pick<ZkFlags, 'zkDir' | 'dataDir'>): string {
  return flags.zkDir || join(flags.dataDir || '.verity', 'zk');
}

/** The circuit configuration the flags name, checked: a bad value is a usage error naming its flag. */
export function zkConfigOf(flags: Pick<ZkFlags, 'batchSize' | 'registryDepth'>): ZkConfig {
  const batchSize = integerFlag('--batch-size', flags.batchSize, MAX_BATCH_SIZE);
  const registryDepth = integerFlag('--registry-depth', flags.registryDepth, MAX_REGISTRY_DEPTH);
  return checkZkConfig({ batchSize, registryDepth });
}

function integerFlag(flag: string, value: string, max: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new CliError('usage', `${flag} must be an integer from 1 to ${max}, not "${value}"`);
  return n;
}

/**
 * `verity zk`: the trusted setup of the batch circuit (a development ceremony), extra contributions to it,
 * and what it produced.
 */
export function registerZk(program: Command): void {
  const zk = program
    .command('zk')
    .description('zero-knowledge proofs: set up the batch circuit (development ceremony) and inspect its artifacts');

  withZkOptions(
    zk
      .command('setup')
      .description('compile the circuit and run a development trusted-setup ceremony; run it again to resume')
      .option(
        '--ptau <file>',
        'a prepared powers-of-tau file (e.g. from a public ceremony) to use instead of generating one',
      )
      .option('--entropy <text>', 'extra entropy for the random contributions')
      .option('--beacon <hex>', 'the beacon value (hex); default: 32 random bytes')
      .option('--json', 'print the summary as JSON'),
  ).action(async (flags: ZkFlags & { ptau?: string; entropy?: string; beacon?: string; json?: boolean }) => {
    const config = zkConfigOf(flags);
    const zkDir = zkDirOf(flags);
    const resume = `verity zk setup --batch-size ${config.batchSize} --registry-depth ${config.registryDepth}`;
    // snarkjs loads only for the commands that need it: a third of a second every other command never pays.
    const { setupCircuit } = await import('../../zk/setup/ceremony.js');
    const result = await untilDone(`interrupted: run \`${resume}\` again to resume from the last finished stage`, () =>
      setupCircuit({
        zkDir,
        config,
        ...(flags.ptau !== undefined && { ptau: flags.ptau }),
        ...(flags.entropy !== undefined && { entropy: flags.entropy }),
        ...(flags.beacon !== undefined && { beacon: flags.beacon }),
        log: (line) => console.error(line),
      }),
    );
    const t = result.transcript;
    if (flags.json) {
      const summary = {
        circuitId: t.circuitId,
        ceremony: t.ceremony,
        caveat: t.caveat,
        constraints: t.constraints,
        power: t.power,
        verificationKey: result.paths.verificationKey,
        verificationKeyDigest: t.verificationKeyDigest,
        transcript: result.paths.transcript,
        ran: result.ran,
        skipped: result.skipped,
      };
      process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      return;
    }
    console.log(
      table([
        ['circuit', t.circuitId],
        [
          'constraints',
          `${t.constraints} (powers of tau 2^${t.power}, ${t.phase1.source === 'imported' ? 'imported' : 'generated'} phase 1)`,
        ],
        ['ceremony', `development ceremony (${t.contributions.length} contributions)`],
        ['verification key', result.paths.verificationKey],
        ['vkey digest', `sha256:${t.verificationKeyDigest}`],
        ['transcript', result.paths.transcript],
      ]),
    );
    console.error(colorize(process.stderr).yellow(`note: ${DEVELOPMENT_CAVEAT}`));
  });

  withZkOptions(
    zk
      .command('contribute')
      .description('add a phase-2 contribution to a finished setup (the verification key changes)')
      .requiredOption('--name <name>', 'who is contributing: recorded in the zkey and the transcript')
      .option('--entropy <text>', 'extra entropy for the contribution'),
  ).action(async (flags: ZkFlags & { name: string; entropy?: string }) => {
    const config = zkConfigOf(flags);
    const { contribute } = await import('../../zk/setup/contribute.js');
    const result = await untilDone('interrupted: the setup is unchanged', () =>
      contribute({
        zkDir: zkDirOf(flags),
        config,
        name: flags.name,
        ...(flags.entropy !== undefined && { entropy: flags.entropy }),
        log: (line) => console.error(line),
      }),
    );
    console.log(
      table([
        ['circuit', result.transcript.circuitId],
        ['contribution', `#${result.transcript.contributions.length} by ${result.contribution.name}`],
        ['hash', result.contribution.hash],
        ['vkey digest', `sha256:${result.verificationKeyDigest} (was sha256:${result.previousVerificationKeyDigest})`],
      ]),
    );
    console.error(
      'the verification key changed: proofs made before no longer verify; give verifiers the new verification_key.json',
    );
  });

  withZkOptions(
    zk
      .command('info')
      .description('the artifacts of a setup, their digests, and its ceremony transcript')
      .option('--json', 'print it as JSON'),
  ).action(async (flags: ZkFlags & { json?: boolean }) => {
    const zkDir = zkDirOf(flags);
    const artifacts = await readArtifacts(zkDir, zkConfigOf(flags));
    const checks = await checkArtifacts(zkDir, artifacts.transcript);
    const t = artifacts.transcript;
    const modified = checks.filter((c) => !c.ok);
    if (modified.length > 0) process.exitCode = EXIT.failed;
    if (flags.json) {
      process.stdout.write(JSON.stringify({ dir: artifacts.paths.dir, ...t, checks }, null, 2) + '\n');
      return;
    }
    const c = colorize(process.stdout);
    const lines = [
      `${c.bold(t.circuitId)}: batch size ${t.config.batchSize}, registry depth ${t.config.registryDepth}, ${t.constraints} constraints, ${t.publicInputs} public inputs, 2^${t.power}`,
      `${c.yellow('development ceremony')}: ${t.caveat}`,
      '',
      table([
        ['ARTIFACT', 'SIZE', 'SHA-256', 'PATH'],
        ...checks.map((a) => [
          a.name,
          a.size === undefined ? '-' : formatSize(a.size),
          a.ok
            ? (a.sha256 ?? '')
            : c.red(a.sha256 === undefined ? 'missing' : `${a.sha256} (transcript: ${a.expected})`),
          a.path,
        ]),
      ]),
      '',
      `phase 1: ${t.phase1.source === 'imported' ? `imported from ${t.phase1.importedFrom ?? '?'}` : 'generated here'}, 2^${t.phase1.power}, sha256 ${t.phase1.sha256}`,
      'contributions, in order:',
      ...t.contributions.map((x, i) => `  ${i + 1}. ${describeContribution(x)}`),
      '',
      `verification key digest: sha256:${t.verificationKeyDigest}`,
      `made with snarkjs ${t.versions.snarkjs}, ${t.versions.circom}, node ${t.versions.node}; last updated ${t.updatedAt}`,
      `stage times: ${Object.entries(t.timings)
        .map(([stage, seconds]) => `${stage} ${formatSeconds(seconds)}`)
        .join(', ')}`,
    ];
    console.log(lines.join('\n'));
    if (modified.length > 0)
      console.error(
        `error: ${modified.map((m) => m.name).join(', ')} changed since the transcript was written: run \`verity zk setup\` again`,
      );
  });

  withZkOptions(
    zk
      .command('export-verification-key')
      .description("print the circuit's verification key (JSON): what verifiers need")
      .option('--out <file>', 'write it to this file instead of stdout'),
  ).action(async (flags: ZkFlags & { out?: string }) => {
    const artifacts = await readArtifacts(zkDirOf(flags), zkConfigOf(flags));
    const text = JSON.stringify(artifacts.verificationKey, null, 2) + '\n';
    if (flags.out === undefined) {
      process.stdout.write(text);
      return;
    }
    writeFileSync(flags.out, text);
    console.error(
      `wrote the verification key of ${circuitId(artifacts.config)} to ${flags.out} (sha256:${artifacts.transcript.verificationKeyDigest})`,
    );
  });

  withZkOptions(
    zk
      .command('export-solidity')
      .description("write a Solidity contract that verifies the circuit's proofs on chain (snarkjs's Groth16 verifier)")
      .option('--out <file>', 'write it to this file instead of stdout')
      .option('--contract <name>', 'the contract name', 'VerityBatchVerifier'),
  ).action(async (flags: ZkFlags & { out?: string; contract: string }) => {
    const artifacts = await readArtifacts(zkDirOf(flags), zkConfigOf(flags));
    const { exportSolidityVerifier } = await import('../../zk/solidity.js');
    const source = await untilDone('interrupted', () =>
      exportSolidityVerifier(artifacts.paths.zkey, { contractName: flags.contract }),
    );
    if (flags.out === undefined) {
      process.stdout.write(source);
      return;
    }
    writeFileSync(flags.out, source);
    console.error(
      `wrote ${flags.contract} for ${artifacts.circuitId} to ${flags.out}: verifyProof(pA, pB, pC, pubSignals[13]) with the public signals in the order of docs/receipts.md (the key of a development ceremony: see \`verity zk info\`)`,
    );
  });
  registerZkPublish(zk);
}

/**
 * Runs a snarkjs-backed command, then stops the curve's worker threads (they would keep the process alive).
 * Ctrl-C exits at once: a snarkjs stage cannot be stopped midway, and every stage writes by temporary name,
 * so the next run removes what was half written and resumes.
 */
async function untilDone<T>(interrupted: string, work: () => Promise<T>): Promise<T> {
  const onSignal = () => {
    process.stderr.write(`\n${interrupted}\n`);
    process.exit(EXIT.interrupted);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work();
  } catch (error) {
    // A bad --beacon or --name: the user's input, so a usage error (exit 2) like a bad flag.
    if (error instanceof ZkError && error.code === 'invalid_config')
      throw new CliError('usage', error.message, { cause: error });
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await releaseCurveWorkers();
  }
}

function describeContribution(x: Contribution): string {
  const what =
    x.type === 'beacon' ? `beacon ${x.beacon?.hash ?? '?'} (2^${x.beacon?.iterationsExp ?? '?'} iterations)` : 'random';
  return `phase ${x.phase} ${what}: "${x.name}" at ${x.at}\n     hash ${x.hash}`;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
