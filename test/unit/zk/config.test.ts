import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ZK_CONFIG,
  MAX_BATCH_SIZE,
  MAX_REGISTRY_DEPTH,
  PUBLIC_SIGNALS,
  TEST_ZK_CONFIG,
  checkZkConfig,
  circuitId,
  configOfCircuitId,
} from '../../../src/attest/zk/circuit.js';
import { artifactPaths } from '../../../src/zk/config.js';
import { ZkError } from '../../../src/attest/zk/errors.js';
import { requiredPower } from '../../../src/zk/setup/binfile.js';
import { mainComponent } from '../../../src/zk/setup/compile.js';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return error instanceof ZkError ? error.code : 'not a ZkError';
  }
};

describe('zk config', () => {
  it('accepts the default, the test configuration and the bounds', () => {
    for (const config of [
      DEFAULT_ZK_CONFIG,
      TEST_ZK_CONFIG,
      { batchSize: 1, registryDepth: 1 },
      { batchSize: MAX_BATCH_SIZE, registryDepth: MAX_REGISTRY_DEPTH },
    ]) {
      expect(checkZkConfig(config)).toEqual(config);
    }
  });

  it('refuses sizes out of range or not integers, saying which', () => {
    for (const [config, word] of [
      [{ batchSize: 0, registryDepth: 10 }, 'batch size'],
      [{ batchSize: MAX_BATCH_SIZE + 1, registryDepth: 10 }, 'batch size'],
      [{ batchSize: 1.5, registryDepth: 10 }, 'batch size'],
      [{ batchSize: Number.NaN, registryDepth: 10 }, 'batch size'],
      [{ batchSize: 8, registryDepth: 0 }, 'registry depth'],
      [{ batchSize: 8, registryDepth: MAX_REGISTRY_DEPTH + 1 }, 'registry depth'],
    ] as const) {
      expect(codeOf(() => checkZkConfig(config))).toBe('invalid_config');
      expect(() => checkZkConfig(config)).toThrow(word);
    }
  });

  it('names circuits and reads the names back', () => {
    expect(circuitId(DEFAULT_ZK_CONFIG)).toBe('verity-batch-v1-b8-d10');
    expect(circuitId(TEST_ZK_CONFIG)).toBe('verity-batch-v1-b1-d2');
    for (const config of [DEFAULT_ZK_CONFIG, TEST_ZK_CONFIG, { batchSize: 32, registryDepth: 20 }]) {
      expect(configOfCircuitId(circuitId(config))).toEqual(config);
    }
  });

  it('refuses ids that are not Verity circuit ids or name an impossible configuration', () => {
    for (const id of [
      '',
      'verity-batch-v2-b1-d2',
      'verity-batch-v1-b1',
      'verity-batch-v1-bx-d2',
      ' verity-batch-v1-b1-d2',
      'verity-batch-v1-b0-d2',
      'verity-batch-v1-b1-d99',
    ]) {
      expect(
        codeOf(() => configOfCircuitId(id)),
        id,
      ).toBe('invalid_config');
    }
  });

  it('puts every artifact of a configuration in its own directory', () => {
    const paths = artifactPaths('/zk', TEST_ZK_CONFIG);
    const dir = join('/zk', 'verity-batch-v1-b1-d2');
    expect(paths).toEqual({
      dir,
      main: join(dir, 'circuit.circom'),
      r1cs: join(dir, 'circuit.r1cs'),
      wasm: join(dir, 'circuit_js', 'circuit.wasm'),
      zkey: join(dir, 'circuit_final.zkey'),
      verificationKey: join(dir, 'verification_key.json'),
      transcript: join(dir, 'transcript.json'),
    });
    expect(artifactPaths('/zk', DEFAULT_ZK_CONFIG).dir).not.toBe(dir);
  });

  it('generates the main component with the public signals in order', () => {
    const main = mainComponent({ batchSize: 8, registryDepth: 10 });
    expect(main).toContain('include "verity_batch.circom";');
    expect(main).toContain(`component main {public [${PUBLIC_SIGNALS.join(', ')}]} = VerityBatch(8, 10);`);
    expect(PUBLIC_SIGNALS).toHaveLength(13);
  });

  it('sizes the powers of tau like snarkjs: constraints + public signals + 1, at least 2^8', () => {
    const header = (nConstraints: number, nPubInputs = 13) => ({
      prime: 0n,
      nWires: 0,
      nOutputs: 0,
      nPubInputs,
      nPrvInputs: 0,
      nConstraints,
    });
    expect(requiredPower(header(13050))).toBe(14);
    expect(requiredPower(header(127_600))).toBe(17);
    expect(requiredPower(header(1, 1))).toBe(8);
    expect(requiredPower(header(16384 - 14))).toBe(14);
    expect(requiredPower(header(16384 - 13))).toBe(15);
  });
});
