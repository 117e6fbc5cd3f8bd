import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import type { Groth16VerificationKey } from 'snarkjs';
import { checkZkConfig, circuitId } from '../../attest/zk/circuit.js';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import { artifactPaths } from '../config.js';
import { ZkError } from '../../attest/zk/errors.js';
import { readR1csHeader, requiredPower } from './binfile.js';
import { CIRCOM_FLAGS, circomVersion, compileCircuit, mainComponent } from './compile.js';
import { exists, randomHex, sha256File, writeAtomically, writeJsonAtomically } from './files.js';
import { BEACON_ITERATIONS_EXP, check, generatePhase1, hex, importPhase1, ptauDirOf } from './phase1.js';
import type { Phase1Result } from './phase1.js';
import { snarkjsLogger } from './progress.js';
import type { LogLine } from './progress.js';
import { StageRunner } from './stages.js';
import { readCircuitState, removeStaleTemporaries, writeCircuitState } from './state.js';
import { toolchain } from './toolchain.js';
import { buildTranscript, transcriptMatchesFiles } from './write-transcript.js';
import type { CeremonyTranscript, StageName } from './transcript.js';

export type ArtifactPaths = ReturnType<typeof artifactPaths>;

export interface SetupOptions {
  /** Where every circuit's artifacts live: `<zkDir>/<circuitId>/…`, and shared powers of tau in `<zkDir>/ptau/`. */
  zkDir: string;
  config: ZkConfig;
  /** A prepared phase-1 (powers of tau) file to import instead of generating one; it must be bn128 and large enough. */
  ptau?: string;
  /** Mixed into the random contributions (snarkjs adds 64 random bytes of its own). Default: 32 random bytes. */
  entropy?: string;
  /** The beacon, hex (1 to 255 bytes). Default: 32 random bytes. A real ceremony uses a public value fixed in advance. */
  beacon?: string;
  /** Progress lines: one per stage start and end, and snarkjs's progress at most every 5 s. */
  log?: LogLine;
  /** Checked between stages: a stage, once started, runs to the end (snarkjs cannot be stopped midway). */
  signal?: AbortSignal;
  /**
   * The directory holding verity_batch.circom and the templates it includes. Default: the package's
   * circuits/. Another one (a changed circuit, or a small stand-in that runs the ceremony in seconds) must
   * define VerityBatch(B, depth) with the same public inputs; its sources' digest decides recompiling.
   */
  circuitsDir?: string;
}

export interface SetupResult {
  circuitId: string;
  paths: ArtifactPaths;
  transcript: CeremonyTranscript;
  verificationKey: Groth16VerificationKey;
  /** The stages that ran this time, and those skipped because their output was already there. */
  ran: StageName[];
  skipped: StageName[];
}

/**
 * Runs a development trusted-setup ceremony for one circuit configuration: compile, phase 1 (powers of
 * tau: new, a random contribution, a beacon, preparation; or an imported file), phase 2 (zkey: new, a
 * random contribution, a beacon), the verification key and the transcript. Each stage writes by temporary
 * name and rename and is skipped when its output exists, so running it again resumes an interrupted setup
 * and does nothing on a finished one. The curve's worker threads stay up: see releaseCurveWorkers.
 */
export async function setupCircuit(options: SetupOptions): Promise<SetupResult> {
  const config = checkZkConfig(options.config);
  // Without a given beacon, each phase gets its own random one.
  const beacons =
    options.beacon === undefined
      ? [randomHex(32), randomHex(32)]
      : [checkBeacon(options.beacon), checkBeacon(options.beacon)];
  const entropy = options.entropy || randomHex(32);
  const log = options.log ?? (() => undefined);
  const id = circuitId(config);
  const paths = artifactPaths(options.zkDir, config);
  await mkdir(paths.dir, { recursive: true });
  await removeStaleTemporaries(paths.dir);
  await removeStaleTemporaries(ptauDirOf(options.zkDir));
  const state = await readCircuitState(paths.dir);
  const save = () => writeCircuitState(paths.dir, state);
  const runner = new StageRunner(options.ptau === undefined ? 10 : 7, log, options.signal);
  log(`development ceremony for ${id} in ${paths.dir}`);

  // Compile. The sources' digest is part of the record, so editing a circuit recompiles it.
  const circuitsDir = options.circuitsDir ?? toolchain().circuitsDir;
  const sources = await sourcesDigest(config, circuitsDir);
  const compiled =
    state.stages.compile?.inputs?.sources === sources && (await exists(paths.r1cs)) && (await exists(paths.wasm));
  if (compiled) {
    runner.skip('compile', `compiling ${id}`, 'circuit.r1cs and circuit.wasm exist');
  } else {
    let circom = '';
    state.stages.compile = await runner.run(
      'compile',
      `compiling ${id} (circom, batch size ${config.batchSize}, registry depth ${config.registryDepth})`,
      async () => {
        circom = await compileCircuit(
          { config, main: paths.main, r1cs: paths.r1cs, wasm: paths.wasm, circuitsDir },
          options.signal,
        );
        return { inputs: { sources } };
      },
    );
    state.circom = circom;
    await save();
  }
  const r1cs = await readR1csHeader(paths.r1cs);
  const power = requiredPower(r1cs);
  log(
    `${id}: ${r1cs.nConstraints} constraints, ${r1cs.nPubInputs + r1cs.nOutputs} public signals: powers of tau 2^${power}`,
  );

  // Phase 1.
  const phase1: Phase1Result =
    options.ptau === undefined
      ? await generatePhase1(runner, { zkDir: options.zkDir, power, entropy, beacon: beacons[0] as string, log })
      : await importPhase1(runner, options.zkDir, options.ptau, power, r1cs.nConstraints);

  // Phase 2: redone from scratch when the circuit or the phase-1 file it was made from changed.
  const inputs = { r1cs: await sha256File(paths.r1cs), ptau: phase1.phase1.sha256 };
  const made = state.stages['zkey-new']?.inputs;
  const redo = made !== undefined && (made.r1cs !== inputs.r1cs || made.ptau !== inputs.ptau);
  if (redo) log(`the circuit or its phase-1 file changed since the zkey was made: redoing phase 2`);
  state.phase1 = { ...phase1.phase1, contributions: phase1.contributions, stages: phase1.stages };
  const zkeyFile = (suffix: string) => join(paths.dir, `circuit_${suffix}.zkey`);
  const logger = () => snarkjsLogger(log, runner.prefix);
  const at = () => new Date().toISOString();
  const phase2Ran = await runner.chain(
    [
      {
        name: 'zkey-new',
        title: `starting phase 2 (zkey) for ${id}`,
        output: zkeyFile('0000'),
        run: async () => {
          const l = logger();
          await writeAtomically(zkeyFile('0000'), (temp) =>
            snarkjs.zKey.newZKey(paths.r1cs, phase1.path, temp, l).then((h) => check(h, l.errors, 'zkey new')),
          );
          return { inputs };
        },
      },
      {
        name: 'zkey-contribute',
        title: 'contributing randomness to phase 2',
        output: zkeyFile('0001'),
        run: async () => {
          const name = 'verity development ceremony: phase 2';
          const hash = await writeAtomically(zkeyFile('0001'), (temp) =>
            snarkjs.zKey.contribute(zkeyFile('0000'), temp, name, entropy, logger()),
          );
          return { contribution: { phase: 2, type: 'random', name, hash: hex(hash), at: at() } };
        },
      },
      {
        name: 'zkey-beacon',
        title: 'applying a random beacon to phase 2',
        output: paths.zkey,
        run: async () => {
          const name = 'verity development ceremony: phase 2 beacon';
          const beacon = beacons[1] as string;
          const l = logger();
          const hash = await writeAtomically(paths.zkey, (temp) =>
            snarkjs.zKey
              .beacon(zkeyFile('0001'), temp, name, beacon, BEACON_ITERATIONS_EXP, l)
              .then((h) => check(h, l.errors, 'the phase-2 beacon')),
          );
          return {
            contribution: {
              phase: 2,
              type: 'beacon',
              name,
              hash: hex(hash),
              at: at(),
              beacon: { hash: beacon, iterationsExp: BEACON_ITERATIONS_EXP },
            },
          };
        },
      },
    ],
    state.stages,
    save,
    redo,
  );
  if (phase2Ran) {
    state.extraContributions = [];
    await save();
  }

  // The verification key, redone whenever the final zkey is not the one it was exported from.
  const zkeySha = await sha256File(paths.zkey);
  if (state.stages['verification-key']?.inputs?.zkey === zkeySha && (await exists(paths.verificationKey))) {
    runner.skip('verification-key', 'exporting the verification key', 'verification_key.json exists');
  } else {
    state.stages['verification-key'] = await runner.run(
      'verification-key',
      'exporting the verification key',
      async () => {
        await exportVerificationKey(paths.zkey, paths.verificationKey);
        return { inputs: { zkey: zkeySha } };
      },
    );
    await save();
  }
  const verificationKey = JSON.parse(await readFile(paths.verificationKey, 'utf8')) as Groth16VerificationKey;

  // The transcript, rewritten unless it already says exactly this about these files.
  state.circom ??= await circomVersion();
  const context = { zkDir: options.zkDir, config, paths, r1cs, power, verificationKey, circom: state.circom };
  let transcript = await buildTranscript(context, state);
  if (runner.ran.length === 0 && (await transcriptMatchesFiles(paths.transcript, transcript))) {
    runner.skip('transcript', 'writing the ceremony transcript', 'transcript.json matches the artifacts');
    transcript = JSON.parse(await readFile(paths.transcript, 'utf8')) as CeremonyTranscript;
  } else {
    state.stages.transcript = await runner.run('transcript', 'writing the ceremony transcript', async () => {
      await writeJsonAtomically(paths.transcript, transcript);
      return {};
    });
    await save();
  }
  await removeIntermediates(paths.dir, options.ptau === undefined ? ptauDirOf(options.zkDir) : undefined, power);
  return { circuitId: id, paths, transcript, verificationKey, ran: runner.ran, skipped: runner.skipped };
}

export async function exportVerificationKey(zkey: string, out: string): Promise<Groth16VerificationKey> {
  const key = await snarkjs.zKey.exportVerificationKey(zkey);
  await writeJsonAtomically(out, key);
  return key;
}

function checkBeacon(beacon: string): string {
  const value = beacon.startsWith('0x') ? beacon.slice(2) : beacon;
  if (!/^([0-9a-fA-F]{2}){1,255}$/.test(value)) {
    throw new ZkError('invalid_config', `the beacon must be 1 to 255 bytes of hex, not "${beacon}"`);
  }
  return value.toLowerCase();
}

/** SHA-256 over the circuit sources and the generated main component: what the r1cs is compiled from. */
async function sourcesDigest(config: ZkConfig, circuitsDir: string): Promise<string> {
  const { circom2Version } = toolchain();
  const names = (await readdir(circuitsDir)).filter((n) => n.endsWith('.circom')).sort();
  const parts = [`circom2 ${circom2Version} ${CIRCOM_FLAGS.join(' ')}`, mainComponent(config)];
  for (const name of names) parts.push(name, await readFile(join(circuitsDir, name), 'utf8'));
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

/** The intermediate files of a finished setup: only the final ones are used, and at 2^17 they weigh ~250 MB. */
async function removeIntermediates(circuitDir: string, ptauDir: string | undefined, power: number): Promise<void> {
  const files = [join(circuitDir, 'circuit_0000.zkey'), join(circuitDir, 'circuit_0001.zkey')];
  if (ptauDir !== undefined)
    files.push(...['0000', '0001', 'beacon'].map((s) => join(ptauDir, `pot${power}_${s}.ptau`)));
  await Promise.all(files.map((f) => rm(f, { force: true })));
}
