import * as snarkjs from 'snarkjs';
import type { ZkConfig } from '../../attest/zk/circuit.js';
import { readArtifacts } from './artifacts.js';
import { snarkjsLogger } from './progress.js';
import type { LogLine } from './progress.js';

export interface CeremonyCheck {
  /** The zkey follows from the r1cs and the phase-1 file through the recorded contributions. */
  zkey: boolean;
  /** Every phase-1 contribution checks out; only when asked (slow: it rehashes the whole file). */
  ptau?: boolean;
}

/**
 * Checks a finished setup with snarkjs: the zkey against the circuit and the phase-1 file (about as long
 * as making the zkey) and, with `phase1`, the powers of tau themselves (minutes at 2^17).
 */
export async function verifyCeremony(options: {
  zkDir: string;
  config: ZkConfig;
  phase1?: boolean;
  log?: LogLine;
}): Promise<CeremonyCheck> {
  const log = options.log ?? (() => undefined);
  const { paths, ptau } = await readArtifacts(options.zkDir, options.config);
  const check: CeremonyCheck = {
    zkey: await snarkjs.zKey.verifyFromR1cs(paths.r1cs, ptau, paths.zkey, snarkjsLogger(log, 'zkey: ')),
  };
  if (options.phase1) check.ptau = await snarkjs.powersOfTau.verify(ptau, snarkjsLogger(log, 'ptau: '));
  return check;
}
