import { copyFile, link, mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import * as snarkjs from 'snarkjs';
import { ZkError } from '../../attest/zk/errors.js';
import { BN128_Q, readPtauHeader } from './binfile.js';
import { exists, sha256File, writeAtomically } from './files.js';
import { snarkjsLogger } from './progress.js';
import type { LogLine } from './progress.js';
import type { StageRunner } from './stages.js';
import { readPtauState, writePtauState } from './state.js';
import type { StageRecords } from './state.js';
import type { Contribution, Phase1 } from './transcript.js';

/** The phase-1 file a circuit's zkey is made from, with where it came from. */
export interface Phase1Result {
  phase1: Phase1;
  /** Absolute path of the prepared ptau file. */
  path: string;
  contributions: Contribution[];
  stages: StageRecords;
}

/** snarkjs hashes a beacon 2^10 times at least; more only slows a development ceremony down. */
export const BEACON_ITERATIONS_EXP = 10;

/** Measured on a 2-core machine: 49 s at 2^12, 219 s at 2^14, 49 min at 2^17, about ×2.4 per power. */
function prepareEstimate(power: number): string {
  const seconds = 219 * 2.37 ** (power - 14);
  return seconds < 90 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}

export function ptauDirOf(zkDir: string): string {
  return join(zkDir, 'ptau');
}

interface GenerateOptions {
  zkDir: string;
  power: number;
  entropy: string;
  beacon: string;
  log: LogLine;
}

/**
 * Generates, or reuses, the prepared powers of tau for `power` under `<zkDir>/ptau/pot<power>_*.ptau`:
 * new accumulator, one random contribution, a beacon, then phase-2 preparation. Every circuit of the same
 * power shares the result.
 */
export async function generatePhase1(runner: StageRunner, options: GenerateOptions): Promise<Phase1Result> {
  const { zkDir, power, log } = options;
  const dir = ptauDirOf(zkDir);
  await mkdir(dir, { recursive: true });
  const file = (suffix: string) => join(dir, `pot${power}_${suffix}.ptau`);
  const state = await readPtauState(dir, power);
  const logger = () => snarkjsLogger(log, runner.prefix);
  const at = () => new Date().toISOString();

  await runner.chain(
    [
      {
        name: 'ptau-new',
        title: `starting powers of tau 2^${power} (bn128)`,
        output: file('0000'),
        run: async () => {
          const curve = await snarkjs.curves.getCurveFromName('bn128');
          await writeAtomically(file('0000'), (temp) =>
            snarkjs.powersOfTau.newAccumulator(curve, power, temp, logger()),
          );
          return {};
        },
      },
      {
        name: 'ptau-contribute',
        title: `contributing randomness to powers of tau 2^${power}`,
        output: file('0001'),
        run: async () => {
          const name = 'verity development ceremony: phase 1';
          const hash = await writeAtomically(file('0001'), (temp) =>
            snarkjs.powersOfTau.contribute(file('0000'), temp, name, options.entropy, logger()),
          );
          return { contribution: { phase: 1, type: 'random', name, hash: hex(hash), at: at() } };
        },
      },
      {
        name: 'ptau-beacon',
        title: `applying a random beacon to powers of tau 2^${power}`,
        output: file('beacon'),
        run: async () => {
          const name = 'verity development ceremony: phase 1 beacon';
          const l = logger();
          const hash = await writeAtomically(file('beacon'), (temp) =>
            snarkjs.powersOfTau
              .beacon(file('0001'), temp, name, options.beacon, BEACON_ITERATIONS_EXP, l)
              .then((h) => check(h, l.errors, 'the phase-1 beacon')),
          );
          return {
            contribution: {
              phase: 1,
              type: 'beacon',
              name,
              hash: hex(hash),
              at: at(),
              beacon: { hash: options.beacon, iterationsExp: BEACON_ITERATIONS_EXP },
            },
          };
        },
      },
      {
        name: 'ptau-prepare',
        title: `preparing phase 2 of powers of tau 2^${power} (this is the slow part: about ${prepareEstimate(power)} on 2 cores)`,
        output: file('final'),
        run: async () => {
          await writeAtomically(file('final'), (temp) =>
            snarkjs.powersOfTau.preparePhase2(file('beacon'), temp, logger()),
          );
          return { inputs: { ptau: await sha256File(file('final')) } };
        },
      },
    ],
    state.stages,
    () => writePtauState(dir, state),
  );

  const path = file('final');
  const contributions = (['ptau-contribute', 'ptau-beacon'] as const).flatMap(
    (s) => state.stages[s]?.contribution ?? [],
  );
  const phase1: Phase1 = { source: 'generated', power, file: relative(zkDir, path), sha256: await sha256File(path) };
  return { phase1, path, contributions, stages: state.stages };
}

/**
 * Takes a prepared ptau file made elsewhere (e.g. a public multi-party ceremony's) as phase 1, after
 * checking it is for bn128, prepared, and large enough. It is hard-linked (copied across file systems)
 * into `<zkDir>/ptau/` under its digest, so the zk directory stays complete if the original moves.
 */
export async function importPhase1(
  runner: StageRunner,
  zkDir: string,
  source: string,
  needed: number,
  constraints: number,
): Promise<Phase1Result> {
  let phase1: Phase1 | undefined;
  let path = '';
  const record = await runner.run('ptau-import', `importing phase 1 from ${source}`, async () => {
    const header = await readPtauHeader(source);
    if (header.prime !== BN128_Q)
      throw new ZkError(
        'setup_failed',
        `${source} is a powers-of-tau file for another curve: Verity's circuits need bn128`,
      );
    if (header.power < needed) {
      throw new ZkError(
        'setup_failed',
        `${source} holds powers of tau up to 2^${header.power}, but this circuit has ${constraints} constraints and needs 2^${needed}: import a ptau file of power ${needed} or more, or leave out --ptau to generate one`,
      );
    }
    if (!header.prepared) {
      throw new ZkError(
        'setup_failed',
        `${source} is not prepared for phase 2: run \`snarkjs powersoftau prepare phase2\` on it first, or use a *_final.ptau file`,
      );
    }
    const sha256 = await sha256File(source);
    path = join(ptauDirOf(zkDir), `imported-${sha256.slice(0, 16)}.ptau`);
    if (!(await exists(path))) {
      await writeAtomically(path, async (temp) => {
        await link(resolve(source), temp).catch(() => copyFile(source, temp));
      });
    }
    phase1 = {
      source: 'imported',
      power: header.power,
      file: relative(zkDir, path),
      sha256,
      importedFrom: resolve(source),
    };
    return {};
  });
  return { phase1: phase1 as Phase1, path, contributions: [], stages: { 'ptau-import': record } };
}

/** snarkjs's beacon and zkey functions log the reason and return false or -1 instead of throwing. */
export function check<T>(result: T | false | -1, errors: readonly string[], what: string): T {
  if (result === false || result === -1)
    throw new ZkError('setup_failed', `${what} failed: ${errors.join('; ') || 'snarkjs gave no reason'}`);
  return result;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
