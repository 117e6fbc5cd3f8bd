import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Abi, Hex } from 'viem';
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

function solidityFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sol'))
    .sort();
}

/** Compiles every `*.sol` in `dir` in one solc run; throws ChainError('compile_failed') with solc's messages. */
export function compileContracts(dir: string = CONTRACTS_DIR): Map<string, CompiledContract> {
  const files = solidityFiles(dir);
  const sources = Object.fromEntries(files.map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
  return compileSources(sources, dir);
}

/**
 * Compiles one generated source, such as the Groth16 verifier `exportSolidityVerifier` writes, with the
 * settings of Verity's own contracts; returns its contract `name`.
 */
export function compileSource(source: string, name: string): CompiledContract {
  const contract = compileSources({ [`${name}.sol`]: source }, `${name}.sol`).get(name);
  if (!contract)
    throw new ChainError('unknown_contract', `the source has no contract named ${name}`, { context: { name } });
  return contract;
}

/** One solc run over `sources` (file name to text); only the files' own contracts come back. */
function compileSources(files: Record<string, string>, what: string): Map<string, CompiledContract> {
  const sources = Object.fromEntries(Object.entries(files).map(([name, content]) => [name, { content }]));
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: OPTIMIZER_RUNS },
      evmVersion: EVM_VERSION,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const solc = require('solc') as Solc;
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) {
    throw new ChainError(
      'compile_failed',
      `solc could not compile ${what}:\n${errors.map((e) => e.formattedMessage).join('\n')}`,
      {
        context: { what },
      },
    );
  }
  const contracts = new Map<string, CompiledContract>();
  // Only the contracts of our own files: the imported OpenZeppelin ones are compiled into them.
  for (const file of Object.keys(files)) {
    for (const [name, contract] of Object.entries(output.contracts?.[file] ?? {})) {
      contracts.set(name, { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` });
    }
  }
  return contracts;
}

/** What `npm run build` writes (scripts/build-contracts.ts): the contracts compiled, and what from. */
export interface ContractArtifacts {
  /** SHA-256 over the names and texts of `contracts/*.sol`: artifacts of other sources are not used. */
  sourcesDigest: string;
  solcVersion: string;
  contracts: Record<string, CompiledContract>;
}

/** Where the build puts them: dist/contracts/, beside dist/chain/ where this module is built. */
export const ARTIFACTS_FILE = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'contracts',
  'verity-contracts.json',
);

export function sourcesDigest(dir: string = CONTRACTS_DIR): string {
  const hash = createHash('sha256').update(`solc ${solcVersion()}\0${EVM_VERSION}\0${OPTIMIZER_RUNS}`);
  for (const name of solidityFiles(dir)) hash.update(`\0${name}\0`).update(readFileSync(join(dir, name)));
  return hash.digest('hex');
}

/** The installed solc-js's version, from its package (loading solc itself takes ~0.4 s, so it is loaded only to compile). */
export function solcVersion(): string {
  return (require('solc/package.json') as { version: string }).version;
}

interface Solc {
  compile(input: string, callbacks: { import: typeof findImport }): string;
}

export function contractArtifacts(dir: string = CONTRACTS_DIR): ContractArtifacts {
  return {
    sourcesDigest: sourcesDigest(dir),
    solcVersion: solcVersion(),
    contracts: Object.fromEntries(compileContracts(dir)),
  };
}

/**
 * The build's artifacts, if they were made from the sources here now: a `verity chain` command then starts
 * in a fraction of a second instead of compiling for seconds. Anything else (run from source, sources
 * edited since the build, a file that does not parse) compiles.
 */
function builtContracts(): Map<string, CompiledContract> | undefined {
  let artifacts: ContractArtifacts;
  try {
    artifacts = JSON.parse(readFileSync(ARTIFACTS_FILE, 'utf8')) as ContractArtifacts;
  } catch {
    return undefined;
  }
  if (artifacts.sourcesDigest !== sourcesDigest()) return undefined;
  return new Map(Object.entries(artifacts.contracts));
}

let cached: Map<string, CompiledContract> | undefined;

/** A contract of `contracts/`: the build's artifacts, else compiled once per process (solc-js takes seconds). */
export function verityContract(name: 'VerityToken' | 'VeritySettlement'): CompiledContract {
  cached ??= builtContracts() ?? compileContracts();
  const contract = cached.get(name);
  if (!contract)
    throw new ChainError('unknown_contract', `contracts/ has no contract named ${name}`, { context: { name } });
  return contract;
}
