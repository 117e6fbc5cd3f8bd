import { createVM } from '@ethereumjs/vm';
import type { VM } from '@ethereumjs/vm';
import { createAddressFromString, createZeroAddress } from '@ethereumjs/util';
import {
  bytesToHex,
  decodeErrorResult,
  decodeEventLog,
  decodeFunctionResult,
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  hexToBytes,
} from 'viem';
import type { Abi, Address, Hex } from 'viem';
import type { CompiledContract } from '../../src/chain/compile.js';

/**
 * An in-process EVM for the chain contracts' unit tests: calls are `evm.runCall`s (no transactions, no
 * signatures on the calls themselves, gas price 0), state persists between them, and the block timestamp is
 * whatever the test sets `now` to. Gas figures are execution gas, without the 21,000 base and calldata.
 */

type RunCallOpts = Parameters<VM['evm']['runCall']>[0];
type EvmBlock = NonNullable<RunCallOpts['block']>;

export interface EventLog {
  eventName: string;
  args: Record<string, unknown>;
}

export type CallOutcome =
  | { reverted: false; returnData: Hex; logs: { address: Address; topics: Hex[]; data: Hex }[]; gasUsed: bigint }
  | { reverted: true; errorName: string; errorArgs: readonly unknown[]; gasUsed: bigint };

export interface Contract {
  address: Address;
  abi: Abi;
}

const GAS_LIMIT = 30_000_000n;

export class InProcessChain {
  /** The block timestamp of the next calls, in Unix seconds. */
  now = 1_800_000_000n;

  private constructor(
    private readonly vm: VM,
    readonly chainId: bigint,
  ) {}

  static async create(): Promise<InProcessChain> {
    const vm = await createVM();
    return new InProcessChain(vm, vm.common.chainId());
  }

  private block(): EvmBlock {
    return {
      header: {
        number: 1n,
        coinbase: createZeroAddress(),
        timestamp: this.now,
        difficulty: 0n,
        prevRandao: new Uint8Array(32),
        gasLimit: GAS_LIMIT,
        baseFeePerGas: 0n,
        getBlobGasPrice: () => undefined,
      },
    };
  }

  async deploy(compiled: CompiledContract, args: readonly unknown[], from: Address): Promise<Contract> {
    const data = encodeDeployData({ abi: compiled.abi, bytecode: compiled.bytecode, args });
    const result = await this.vm.evm.runCall({
      caller: createAddressFromString(from),
      data: hexToBytes(data),
      gasLimit: GAS_LIMIT,
      block: this.block(),
    });
    const created = result.createdAddress;
    if (result.execResult.exceptionError || !created) {
      throw new Error(`deployment failed: ${result.execResult.exceptionError?.error ?? 'no address'}`);
    }
    return { address: getAddress(created.toString()), abi: compiled.abi };
  }

  /** Runs a function as `from`; a revert comes back decoded with the contract's ABI (its custom errors). */
  async call(contract: Contract, functionName: string, args: readonly unknown[], from: Address): Promise<CallOutcome> {
    const data = encodeFunctionData({ abi: contract.abi, functionName, args });
    const result = await this.vm.evm.runCall({
      caller: createAddressFromString(from),
      origin: createAddressFromString(from),
      to: createAddressFromString(contract.address),
      data: hexToBytes(data),
      gasLimit: GAS_LIMIT,
      block: this.block(),
    });
    const { execResult } = result;
    const returnData = bytesToHex(execResult.returnValue);
    if (execResult.exceptionError) {
      if (execResult.exceptionError.error !== 'revert' || returnData === '0x') {
        return {
          reverted: true,
          errorName: execResult.exceptionError.error,
          errorArgs: [],
          gasUsed: execResult.executionGasUsed,
        };
      }
      const decoded = decodeErrorResult({ abi: contract.abi, data: returnData });
      return {
        reverted: true,
        errorName: decoded.errorName,
        errorArgs: decoded.args ?? [],
        gasUsed: execResult.executionGasUsed,
      };
    }
    return {
      reverted: false,
      returnData,
      logs: (execResult.logs ?? []).map(([address, topics, logData]) => ({
        address: getAddress(bytesToHex(address)),
        topics: topics.map((t) => bytesToHex(t)),
        data: bytesToHex(logData),
      })),
      gasUsed: execResult.executionGasUsed,
    };
  }

  /** Like `call`, but a revert throws (with the error's name), and the return value comes decoded. */
  async send(
    contract: Contract,
    functionName: string,
    args: readonly unknown[],
    from: Address,
  ): Promise<{ result: unknown; events: EventLog[]; gasUsed: bigint }> {
    const outcome = await this.call(contract, functionName, args, from);
    if (outcome.reverted) {
      throw new Error(
        `${functionName} reverted with ${outcome.errorName}(${outcome.errorArgs.map(String).join(', ')})`,
      );
    }
    const result = decodeFunctionResult({ abi: contract.abi, functionName, data: outcome.returnData });
    // Only the contract's own events: a token's Transfer events come from the token's address.
    const events = outcome.logs
      .filter((log) => log.address === contract.address)
      .map((log) => {
        const decoded = decodeEventLog({ abi: contract.abi, data: log.data, topics: log.topics as [Hex, ...Hex[]] });
        return { eventName: decoded.eventName ?? '', args: (decoded.args ?? {}) as Record<string, unknown> };
      });
    return { result, events, gasUsed: outcome.gasUsed };
  }

  /** A view's decoded return value. */
  async read(contract: Contract, functionName: string, args: readonly unknown[] = []): Promise<unknown> {
    return (await this.send(contract, functionName, args, getAddress(`0x${'00'.repeat(20)}`))).result;
  }
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * The other valid encoding of the same ECDSA signature: s → n − s with the recovery bit flipped. It recovers
 * the same signer, which is why contracts must refuse the high-s form (EIP-2).
 */
export function malleate(signature: Hex): Hex {
  const bytes = hexToBytes(signature);
  if (bytes.length !== 65) throw new Error(`expected a 65-byte signature, got ${bytes.length}`);
  const s = BigInt(bytesToHex(bytes.subarray(32, 64)));
  const flipped = new Uint8Array(bytes);
  flipped.set(hexToBytes(`0x${(SECP256K1_N - s).toString(16).padStart(64, '0')}`), 32);
  flipped[64] = bytes[64] === 27 ? 28 : 27;
  return bytesToHex(flipped);
}
