import { createVM } from '@ethereumjs/vm';
import { keccak_256 } from '@noble/hashes/sha3.js';
import solc from 'solc';
import type { SolidityCallArguments } from '../../src/zk/solidity.js';

export interface CompiledContract {
  bytecode: Uint8Array;
  abi: unknown[];
  /** Function signature to 4-byte selector (hex), as solc reports it. */
  methodIdentifiers: Record<string, string>;
}

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; methodIdentifiers: Record<string, string> } }>
  >;
}

/**
 * Compile one contract with the solc npm package. The EVM version is pinned to the hardfork that
 * `createVM()` runs by default (Prague), so solc never emits an opcode the in-process EVM lacks.
 */
export function compileVerifier(source: string, contractName = 'Groth16Verifier'): CompiledContract {
  const input = {
    language: 'Solidity',
    sources: { 'Verifier.sol': { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'prague',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.methodIdentifiers'] } },
    },
  };
  const compile = solc.compile as (input: string) => string;
  const output = JSON.parse(compile(JSON.stringify(input))) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  const contract = output.contracts?.['Verifier.sol']?.[contractName];
  if (!contract) throw new Error(`solc produced no contract named ${contractName}`);
  return {
    bytecode: Buffer.from(contract.evm.bytecode.object, 'hex'),
    abi: contract.abi,
    methodIdentifiers: contract.evm.methodIdentifiers,
  };
}

/** The canonical signature of snarkjs's Groth16 `verifyProof` for a circuit with `n` public signals. */
export function verifyProofSignature(n: number): string {
  return `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[${n}])`;
}

/** Every argument is a fixed-size uint array, so the ABI encoding is just the selector and the words in order. */
export function encodeVerifyProof(args: SolidityCallArguments): Uint8Array {
  const [pA, [b0, b1], pC, pub] = args;
  const words = [...pA, ...b0, ...b1, ...pC, ...pub];
  const data = new Uint8Array(4 + 32 * words.length);
  data.set(keccak_256(new TextEncoder().encode(verifyProofSignature(pub.length))).subarray(0, 4));
  words.forEach((word, i) => data.set(Buffer.from(word.toString(16).padStart(64, '0'), 'hex'), 4 + 32 * i));
  return data;
}

export interface EvmVerifier {
  /** What the contract's `verifyProof` returns; throws if the call reverts or runs out of gas. */
  verify(args: SolidityCallArguments): Promise<boolean>;
  /** Execution gas of the last `verify` call (without the 21,000 base and calldata a transaction adds). */
  readonly gasUsed: bigint;
  /** Base and calldata gas a transaction carrying the last call would add (pre-EIP-7623 pricing). */
  readonly intrinsicGas: bigint;
  /** Execution gas of the deployment. */
  readonly deployGas: bigint;
}

function calldataGas(data: Uint8Array): bigint {
  let gas = 21_000n;
  for (const byte of data) gas += byte === 0 ? 4n : 16n;
  return gas;
}

/** Deploy creation bytecode in a fresh in-process EVM (default hardfork, so the BN254 precompiles 0x06–0x08 are live). */
export async function deployVerifier(bytecode: Uint8Array): Promise<EvmVerifier> {
  const vm = await createVM();
  const created = await vm.evm.runCall({ data: bytecode, gasLimit: 30_000_000n });
  const to = created.createdAddress;
  if (created.execResult.exceptionError || !to) {
    throw new Error(`deployment failed: ${created.execResult.exceptionError?.error ?? 'no address'}`);
  }
  let gasUsed = 0n;
  let intrinsicGas = 0n;
  return {
    deployGas: created.execResult.executionGasUsed,
    get gasUsed() {
      return gasUsed;
    },
    get intrinsicGas() {
      return intrinsicGas;
    },
    async verify(args) {
      const data = encodeVerifyProof(args);
      const result = await vm.evm.runCall({ to, data, gasLimit: 30_000_000n });
      if (result.execResult.exceptionError)
        throw new Error(`verifyProof reverted: ${result.execResult.exceptionError.error}`);
      gasUsed = result.execResult.executionGasUsed;
      intrinsicGas = calldataGas(data);
      const ret = result.execResult.returnValue;
      if (ret.length !== 32 || ret.subarray(0, 31).some((b) => b !== 0) || (ret[31] ?? 2) > 1) {
        throw new Error(`verifyProof returned ${Buffer.from(ret).toString('hex')}, not an ABI bool`);
      }
      return ret[31] === 1;
    },
  };
}
