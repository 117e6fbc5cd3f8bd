import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZkError } from '../../../src/attest/zk/errors.js';
import { exportSolidityVerifier, solidityCallArguments } from '../../../src/zk/solidity.js';
import { compileVerifier, deployVerifier } from '../../support/evm.js';
import type { EvmVerifier } from '../../support/evm.js';

/**
 * The whole on-chain path on a circuit small enough to set up in seconds, so a failure here points at the
 * Solidity export, the argument conversion or the EVM, never at the batch circuit: circom2 → tiny ceremony →
 * Groth16 proof → snarkjs's verifier contract → solc → in-process EVM.
 */

// Two public signals (the output c and the input k) so the argument conversion is exercised beyond N = 1.
const CIRCUIT = `pragma circom 2.0.0;
template Toy() {
  signal input a;
  signal input b;
  signal input k;
  signal output c;
  c <== a * b + k;
}
component main {public [k]} = Toy();
`;

/** snarkjs's own proof JSON; passing it to solidityCallArguments checks that it fits Groth16ProofJson. */
interface Proof {
  pi_a: string[];
  pi_b: string[][];
  pi_c: string[];
}
interface VerificationKey {
  IC: unknown[];
}
interface Curve {
  terminate(): Promise<void>;
}
/** The parts of snarkjs this test drives, typed locally because snarkjs ships no declarations. */
interface Snarkjs {
  curves: { getCurveFromName(name: string): Promise<Curve> };
  powersOfTau: {
    newAccumulator(curve: Curve, power: number, file: string): Promise<unknown>;
    contribute(from: string, to: string, name: string, entropy: string): Promise<unknown>;
    beacon(from: string, to: string, name: string, beaconHash: string, iterationsExp: number): Promise<unknown>;
    preparePhase2(from: string, to: string): Promise<unknown>;
  };
  zKey: {
    newZKey(r1cs: string, ptau: string, zkey: string): Promise<unknown>;
    contribute(from: string, to: string, name: string, entropy: string): Promise<unknown>;
    exportVerificationKey(zkey: string): Promise<VerificationKey>;
  };
  groth16: {
    fullProve(
      input: Record<string, string>,
      wasm: string,
      zkey: string,
    ): Promise<{ proof: Proof; publicSignals: string[] }>;
    verify(vk: VerificationKey, publicSignals: readonly string[], proof: Proof): Promise<boolean>;
    exportSolidityCallData(proof: Proof, publicSignals: readonly string[]): Promise<string>;
  };
}

const SNARKJS: string = 'snarkjs';
const BN254_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
const circomCli = createRequire(import.meta.url).resolve('circom2/cli.js');

let dir: string;
let snarkjs: Snarkjs;
let vk: VerificationKey;
let proof: Proof;
let publicSignals: string[];
let verifier: EvmVerifier;
const timings: Record<string, number> = {};
let validProofGas = 0n;
let validProofIntrinsicGas = 0n;

async function timed<T>(label: string, work: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    timings[label] = Math.round(performance.now() - start);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'verity-sol-toy-'));
  snarkjs = (await import(SNARKJS)) as Snarkjs;
  await writeFile(join(dir, 'toy.circom'), CIRCUIT);
  // circom2 runs under WASI with the cwd's ancestors preopened, so it must run from the directory holding the source.
  await timed('circom', () =>
    promisify(execFile)(process.execPath, [circomCli, 'toy.circom', '--r1cs', '--wasm', '-o', '.'], { cwd: dir }),
  );

  const f = (name: string) => join(dir, name);
  await timed('ceremony', async () => {
    const curve = await snarkjs.curves.getCurveFromName('bn128');
    await snarkjs.powersOfTau.newAccumulator(curve, 4, f('pot0.ptau'));
    await snarkjs.powersOfTau.contribute(f('pot0.ptau'), f('pot1.ptau'), 'toy', 'toy entropy');
    await snarkjs.powersOfTau.beacon(
      f('pot1.ptau'),
      f('pot2.ptau'),
      'beacon',
      '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      10,
    );
    await snarkjs.powersOfTau.preparePhase2(f('pot2.ptau'), f('pot_final.ptau'));
    await snarkjs.zKey.newZKey(f('toy.r1cs'), f('pot_final.ptau'), f('toy0.zkey'));
    // A phase-2 contribution makes delta differ from gamma, so a gamma/delta mix-up in the contract would show.
    await snarkjs.zKey.contribute(f('toy0.zkey'), f('toy.zkey'), 'toy', 'more entropy');
  });
  vk = await snarkjs.zKey.exportVerificationKey(f('toy.zkey'));
  ({ proof, publicSignals } = await timed('prove', () =>
    snarkjs.groth16.fullProve({ a: '3', b: '11', k: '5' }, join(dir, 'toy_js', 'toy.wasm'), f('toy.zkey')),
  ));

  const source = await exportSolidityVerifier(f('toy.zkey'), { contractName: 'ToyVerifier' });
  const compiled = await timed('solc', () => compileVerifier(source, 'ToyVerifier'));
  verifier = await timed('deploy', () => deployVerifier(compiled.bytecode));
}, 120_000);

afterAll(async () => {
  // snarkjs never stops ffjavascript's bn128 worker threads; the shared curve lives on globalThis.
  await (globalThis as { curve_bn128?: Curve | null }).curve_bn128?.terminate();
  if (dir) await rm(dir, { recursive: true, force: true });
  console.log(
    'solidity toy timings (ms):',
    timings,
    'deploy gas:',
    verifier?.deployGas,
    'verifyProof gas:',
    validProofGas,
    '+ intrinsic',
    validProofIntrinsicGas,
  );
});

/** Both verifiers must give the same answer for the same (possibly tampered) proof. */
async function bothVerify(p: Proof, signals: string[]): Promise<[evm: boolean, snarkjs: boolean]> {
  const evm = await verifier.verify(solidityCallArguments(p, signals));
  return [evm, await snarkjs.groth16.verify(vk, signals, p)];
}

describe('Groth16 verifier exported to Solidity', () => {
  it('proves the toy statement with the expected public signals', () => {
    expect(publicSignals).toEqual(['38', '5']);
    expect(vk.IC).toHaveLength(3);
  });

  it('converts arguments exactly as snarkjs exportSolidityCallData does', async () => {
    const callData = await snarkjs.groth16.exportSolidityCallData(proof, publicSignals);
    const parsed = JSON.parse(`[${callData}]`) as unknown;
    const toBig = (v: unknown): unknown => (Array.isArray(v) ? v.map(toBig) : BigInt(v as string));
    expect(solidityCallArguments(proof, publicSignals)).toEqual(toBig(parsed));
    // Signals come from stored or received JSON: anything that is not a uint256 in decimal is refused, not coerced.
    for (const bad of ['-1', '0x26', '1e3', '', (1n << 256n).toString()]) {
      expect(() => solidityCallArguments(proof, [bad, '5'])).toThrow(ZkError);
    }
  });

  it('accepts the valid proof on chain, as snarkjs does', async () => {
    expect(await bothVerify(proof, publicSignals)).toEqual([true, true]);
    expect(await timed('call', () => verifier.verify(solidityCallArguments(proof, publicSignals)))).toBe(true);
    validProofGas = verifier.gasUsed;
    validProofIntrinsicGas = verifier.intrinsicGas;
    // Four pairings alone cost 45,000 + 4 × 34,000 gas (EIP-1108); anything much lower means the check was skipped.
    expect(validProofGas).toBeGreaterThan(181_000n);
  });

  it('rejects a changed public signal', async () => {
    expect(await bothVerify(proof, ['39', '5'])).toEqual([false, false]);
    expect(await bothVerify(proof, ['38', '6'])).toEqual([false, false]);
  });

  it('rejects a changed proof element, on the curve or off it', async () => {
    // -C is a valid curve point, so only the pairing check can catch it.
    const negC = { ...proof, pi_c: [proof.pi_c[0]!, (BN254_Q - BigInt(proof.pi_c[1]!)).toString(), '1'] };
    expect(await bothVerify(negC, publicSignals)).toEqual([false, false]);
    const offCurveA = { ...proof, pi_a: [proof.pi_a[0]!, (BigInt(proof.pi_a[1]!) + 1n).toString(), '1'] };
    expect(await bothVerify(offCurveA, publicSignals)).toEqual([false, false]);
    // Swapping B's coordinates back (the conversion snarkjs does) must break the proof.
    const swappedB = { ...proof, pi_b: proof.pi_b.map((pair) => [pair[1]!, pair[0]!]) };
    expect(await bothVerify(swappedB, publicSignals)).toEqual([false, false]);
  });

  it('rejects a public signal outside the scalar field instead of reducing it', async () => {
    const r = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
    expect(await verifier.verify(solidityCallArguments(proof, [(38n + r).toString(), '5']))).toBe(false);
  });
});
