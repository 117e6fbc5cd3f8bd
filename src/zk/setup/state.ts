import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomically } from './files.js';
import type { Contribution, Phase1, StageName } from './transcript.js';

/**
 * What each finished stage produced beyond its file: hashes, times, the inputs it was made from. Saved
 * after every stage, so a resumed setup can skip the stages whose output exists and still write a full
 * transcript. A stage counts as done only when both its output file and its record are there.
 */
export interface StageRecord {
  seconds: number;
  at: string;
  contribution?: Contribution;
  /** SHA-256 of the inputs the output was made from: a later stage is redone when they change. */
  inputs?: Record<string, string>;
}

export type StageRecords = Partial<Record<StageName, StageRecord>>;

/** One circuit's setup state: `<zkDir>/<circuitId>/setup-state.json`. */
export interface CircuitState {
  format: 'verity-zk-setup-state/v1';
  createdAt: string;
  stages: StageRecords;
  /** "circom compiler 2.2.3", from the last compile. */
  circom?: string;
  /** The phase-1 file the zkey was made from, with the contributions and timings of its own stages. */
  phase1?: Phase1 & { contributions: Contribution[]; stages: StageRecords };
  /** Phase-2 contributions added after setup by `contribute`, in order. */
  extraContributions: Contribution[];
}

/** One power's generated phase-1 state, shared by every circuit of that power: `<zkDir>/ptau/pot<power>.json`. */
export interface PtauState {
  format: 'verity-zk-ptau-state/v1';
  power: number;
  stages: StageRecords;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    // Missing or unreadable: the stages it described are simply redone.
    return undefined;
  }
}

export function circuitStateFile(dir: string): string {
  return join(dir, 'setup-state.json');
}

export async function readCircuitState(dir: string): Promise<CircuitState> {
  const state = await readJson<CircuitState>(circuitStateFile(dir));
  if (state?.format === 'verity-zk-setup-state/v1')
    return { ...state, extraContributions: state.extraContributions ?? [] };
  return {
    format: 'verity-zk-setup-state/v1',
    createdAt: new Date().toISOString(),
    stages: {},
    extraContributions: [],
  };
}

export function writeCircuitState(dir: string, state: CircuitState): Promise<void> {
  return writeJsonAtomically(circuitStateFile(dir), state);
}

export function ptauStateFile(ptauDir: string, power: number): string {
  return join(ptauDir, `pot${power}.json`);
}

export async function readPtauState(ptauDir: string, power: number): Promise<PtauState> {
  const state = await readJson<PtauState>(ptauStateFile(ptauDir, power));
  if (state?.format === 'verity-zk-ptau-state/v1' && state.power === power) return state;
  return { format: 'verity-zk-ptau-state/v1', power, stages: {} };
}

export function writePtauState(ptauDir: string, state: PtauState): Promise<void> {
  return writeJsonAtomically(ptauStateFile(ptauDir, state.power), state);
}

/** Removes temporary files left by processes that died mid-stage (their names carry the writer's pid). */
export async function removeStaleTemporaries(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = /^\..+\.(\d+)-[0-9a-f]{8}\.tmp$/.exec(name)?.[1];
    if (pid !== undefined && !isAlive(Number(pid))) await rm(join(dir, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
