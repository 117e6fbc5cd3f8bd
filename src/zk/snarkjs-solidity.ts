import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The slice of snarkjs that the Solidity export needs, typed here so this part does not depend on a shared
 * `declare module 'snarkjs'` (snarkjs ships no types).
 */
export interface SnarkjsSolidity {
  zKey: {
    exportSolidityVerifier(zkeyName: string, templates: Readonly<Record<string, string>>, logger?: unknown): Promise<string>;
  };
  groth16: {
    exportSolidityCallData(proof: unknown, publicSignals: readonly unknown[]): Promise<string>;
  };
}

// A specifier held in a variable keeps TypeScript from asking for a declaration of the untyped package.
const SNARKJS: string = 'snarkjs';

export async function loadSnarkjsSolidity(): Promise<SnarkjsSolidity> {
  return (await import(SNARKJS)) as SnarkjsSolidity;
}

let groth16Template: string | undefined;

/**
 * The Groth16 verifier template that ships with the installed snarkjs, so the contract always matches the
 * prover's conventions. snarkjs's `exports` hides package.json and templates/, so walk up from the entry
 * point that Node resolves to the package root.
 */
export function snarkjsGroth16Template(): string {
  if (groth16Template !== undefined) return groth16Template;
  let dir = dirname(createRequire(import.meta.url).resolve(SNARKJS));
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
