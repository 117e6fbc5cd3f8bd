import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Abi, Hex } from 'viem';
import solc from 'solc';
import { ChainError } from './errors.js';

/** The contracts' sources: `contracts/` at the repository root (src/chain/ and dist/chain/ are both two levels down). */
export const CONTRACTS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'contracts');

/**
 * Pinned so that a deployed contract's bytecode depends only on its source and the solc version: Prague is
 * what `@ethereumjs/vm`'s `createVM` runs by default and what current chains run.
 */
export const EVM_VERSION = 'prague';
const OPTIMIZER_RUNS = 200;

export interface CompiledContract {
  abi: Abi;
  /** Creation bytecode (deploy it with the constructor's arguments appended). */
  bytecode: Hex;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
}

const require = createRequire(import.meta.url);

/** solc's import callback: `@openzeppelin/contracts/...` (and any other package path) from node_modules. */
function findImport(path: string): { contents: string } | { error: string } {
  try {
    return { contents: readFileSync(require.resolve(path), 'utf8') };
  } catch {
    return { error: `${path} is not a file of an installed package (npm install it)` };
  }
}

/** Compiles every `*.sol` in `dir` in one solc run; throws ChainError('compile_failed') with solc's messages. */
export function compileContracts(dir: string = CONTRACTS_DIR): Map<string, CompiledContract> {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.sol'))
    .sort();
  const sources = Object.fromEntries(files.map((name) => [name, { content: readFileSync(join(dir, name), 'utf8') }]));
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      evmVersion: EVM_VERSION,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const compile = solc.compile as (input: string, callbacks: { import: typeof findImport }) => string;
  const output = JSON.parse(compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new ChainError(
      'compile_failed',
      `solc could not compile ${dir}:\n${errors.map((e) => e.formattedMessage).join('\n')}`,
      {
        context: { dir },
      },
    );
  }
  const contracts = new Map<string, CompiledContract>();
  // Only the contracts of our own files: the imported OpenZeppelin ones are compiled into them.
  for (const file of files) {
    for (const [name, contract] of Object.entries(output.contracts?.[file] ?? {})) {
      contracts.set(name, { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` });
    }
  }
  return contracts;
}

let cached: Map<string, CompiledContract> | undefined;

/** A contract of `contracts/`, compiled once per process (solc-js takes seconds). */
export function verityContract(name: 'VerityToken' | 'VeritySettlement'): CompiledContract {
  cached ??= compileContracts();
  const contract = cached.get(name);
  if (!contract)
    throw new ChainError('unknown_contract', `contracts/ has no contract named ${name}`, { context: { name } });
  return contract;
}
