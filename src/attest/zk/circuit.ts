import { ZkError } from './errors.js';

/**
 * The shape of the batch circuit: how many steps one proof covers and how deep the worker registry's
 * Merkle tree is (2^depth registered keys at most). Each configuration is its own circuit with its own
 * ceremony and verification key; `circuitId` names it everywhere (directories, receipts, bundles).
 */
export interface ZkConfig {
  batchSize: number;
  registryDepth: number;
}

/** Production default: 8 steps per proof and a registry of up to 1,024 worker keys (62,211 constraints, 2^16 powers of tau). */
export const DEFAULT_ZK_CONFIG: ZkConfig = { batchSize: 8, registryDepth: 10 };

/** The smallest configuration that still exercises every constraint: what CI sets up (6,334 constraints, 2^13). */
export const TEST_ZK_CONFIG: ZkConfig = { batchSize: 1, registryDepth: 2 };

export const MAX_BATCH_SIZE = 32;
export const MAX_REGISTRY_DEPTH = 20;

export function checkZkConfig(config: ZkConfig): ZkConfig {
  const { batchSize, registryDepth } = config;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new ZkError('invalid_config', `batch size must be an integer from 1 to ${MAX_BATCH_SIZE}, not ${batchSize}`);
  }
  if (!Number.isInteger(registryDepth) || registryDepth < 1 || registryDepth > MAX_REGISTRY_DEPTH) {
    throw new ZkError(
      'invalid_config',
      `registry depth must be an integer from 1 to ${MAX_REGISTRY_DEPTH}, not ${registryDepth}`,
    );
  }
  return config;
}

export function circuitId(config: ZkConfig): string {
  return `verity-batch-v1-b${config.batchSize}-d${config.registryDepth}`;
}

const ID_PATTERN = /^verity-batch-v1-b(\d+)-d(\d+)$/;

export function configOfCircuitId(id: string): ZkConfig {
  const match = ID_PATTERN.exec(id);
  if (!match) throw new ZkError('invalid_config', `"${id}" is not a Verity circuit id (verity-batch-v1-b<B>-d<DEPTH>)`);
  return checkZkConfig({ batchSize: Number(match[1]), registryDepth: Number(match[2]) });
}

/** The names of the public signals, in the order snarkjs lists them; circuits/verity_batch.circom declares them. */
export const PUBLIC_SIGNALS = [
  'first',
  'final',
  'cPrev',
  'cNext',
  'sPrev',
  'sNext',
  'execHi',
  'execLo',
  'wfHi',
  'wfLo',
  'registryRoot',
  'resultHi',
  'resultLo',
] as const;
