import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describeError } from '../errors.js';
import { ZkError } from '../attest/zk/errors.js';

export interface ExportSolidityVerifierOptions {
  /** Name of the generated contract. Default: `Groth16Verifier`, the name snarkjs's template uses. */
  contractName?: string;
}

const TEMPLATE_CONTRACT = /\bcontract Groth16Verifier\b/;
const SOLIDITY_IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Solidity source of a contract whose `verifyProof(uint[2], uint[2][2], uint[2], uint[N])` accepts exactly
 * the proofs that the zkey's verification key accepts. snarkjs renders it from its own template, so the
 * point encodings agree with `solidityCallArguments`.
 */
export async function exportSolidityVerifier(
  zkeyPath: string,
  options: ExportSolidityVerifierOptions = {},
): Promise<string> {
  const contractName = options.contractName ?? 'Groth16Verifier';
  if (!SOLIDITY_IDENTIFIER.test(contractName)) {
    throw new ZkError('invalid_config', `"${contractName}" is not a Solidity identifier; use letters, digits, _ or $`);
  }
  let source: string;
  try {
    const snarkjs = await import('snarkjs');
    source = await snarkjs.zKey.exportSolidityVerifier(zkeyPath, { groth16: snarkjsGroth16Template() });
  } catch (error) {
    throw new ZkError(
      'invalid_key',
      `could not export a Solidity verifier from ${zkeyPath}: ${describeError(error)}; check that it is a Groth16 zkey (verity zk setup writes one)`,
      {
        cause: error,
        context: { zkeyPath },
      },
    );
  }
  // Plonk and fflonk keys come back from other templates; only Groth16 matches the calling convention here.
  if (!TEMPLATE_CONTRACT.test(source)) {
    throw new ZkError(
      'invalid_key',
      `${zkeyPath} did not produce a Groth16 verifier; only Groth16 zkeys are supported`,
      { context: { zkeyPath } },
    );
  }
  return source.replace(TEMPLATE_CONTRACT, `contract ${contractName}`);
}

/** A Groth16 proof as snarkjs writes it: decimal strings, G1 points projective `[x, y, 1]`, G2 coordinates `[c0, c1]`. */
export interface Groth16ProofJson {
  pi_a: readonly (string | bigint)[];
  pi_b: readonly (readonly (string | bigint)[])[];
  pi_c: readonly (string | bigint)[];
}

export type UintPair = readonly [bigint, bigint];

/** The arguments of `verifyProof`, in order: `[pA, pB, pC, pubSignals]`. */
export type SolidityCallArguments = readonly [
  pA: UintPair,
  pB: readonly [UintPair, UintPair],
  pC: UintPair,
  pubSignals: readonly bigint[],
];

const UINT256_LIMIT = 1n << 256n;

function uint256(value: string | bigint | undefined, where: string): bigint {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'string' && /^[0-9]{1,78}$/.test(value)) n = BigInt(value);
  if (n === undefined || n < 0n || n >= UINT256_LIMIT) {
    throw new ZkError(
      'invalid_proof',
      `${where} must be an unsigned 256-bit integer in decimal, not ${String(value)}`,
      { context: { where } },
    );
  }
  return n;
}

/**
 * Convert a snarkjs proof and its public signals to `verifyProof` arguments. Works for any number of public
 * signals. The precompile wants G2 coordinates as `(c1, c0)`, so each pair of pi_b is swapped, exactly as
 * snarkjs's `groth16.exportSolidityCallData` does.
 */
export function solidityCallArguments(
  proof: Groth16ProofJson,
  publicSignals: readonly (string | bigint)[],
): SolidityCallArguments {
  const g1 = (point: readonly (string | bigint)[], name: string): UintPair => [
    uint256(point[0], `${name}[0]`),
    uint256(point[1], `${name}[1]`),
  ];
  const g2 = (row: number): UintPair => {
    const pair = proof.pi_b[row] ?? [];
    return [uint256(pair[1], `pi_b[${row}][1]`), uint256(pair[0], `pi_b[${row}][0]`)];
  };
  return [
    g1(proof.pi_a, 'pi_a'),
    [g2(0), g2(1)],
    g1(proof.pi_c, 'pi_c'),
    publicSignals.map((s, i) => uint256(s, `publicSignals[${i}]`)),
  ];
}

let groth16Template: string | undefined;

/**
 * The Groth16 verifier template that ships with the installed snarkjs, so the contract always matches the
 * prover's conventions. snarkjs's `exports` hides package.json and templates/, so walk up from the entry
 * point that Node resolves to the package root.
 */
export function snarkjsGroth16Template(): string {
  if (groth16Template !== undefined) return groth16Template;
  let dir = dirname(createRequire(import.meta.url).resolve('snarkjs'));
  for (;;) {
    const candidate = join(dir, 'templates', 'verifier_groth16.sol.ejs');
    if (existsSync(candidate)) return (groth16Template = readFileSync(candidate, 'utf8'));
    const parent = dirname(dir);
    if (parent === dir || existsSync(join(dir, 'package.json'))) {
      throw new Error(`snarkjs's templates/verifier_groth16.sol.ejs was not found above ${dir}; reinstall snarkjs`);
    }
    dir = parent;
  }
}
