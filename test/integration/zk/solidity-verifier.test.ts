import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as snarkjs from 'snarkjs';
import type { Groth16VerificationKey } from 'snarkjs';
import { readFileSync } from 'node:fs';
import { utf8 } from '../../../src/attest/bytes.js';
import { sha256Hex } from '../../../src/attest/digest.js';
import { ZkSigner } from '../../../src/zk/babyjub.js';
import { contextHash, leafMessage } from '../../../src/attest/zk/chain.js';
import { PUBLIC_SIGNALS } from '../../../src/attest/zk/circuit.js';
import { loadPoseidon } from '../../../src/zk/poseidon.js';
import { ProverPool } from '../../../src/zk/prover/prover-pool.js';
import type { ProvedBatch } from '../../../src/zk/prover/prover-pool.js';
import { RegistryTree, registryLeaf } from '../../../src/zk/registry-tree.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { exportSolidityVerifier, solidityCallArguments } from '../../../src/zk/solidity.js';
import { batchInputs } from '../../../src/zk/witness.js';
import { compileVerifier, deployVerifier } from '../../support/evm.js';
import type { EvmVerifier } from '../../support/evm.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';

/*
 * The batch circuit's verifier on chain: snarkjs's Solidity export of the test circuit's key, compiled with
 * solc and deployed in an in-process EVM, checks a real batch proof as snarkjs does, so a contract (AITBC's,
 * say) can verify Verity receipts.
 */
let evm: EvmVerifier;
let proved: ProvedBatch;
let vkey: Groth16VerificationKey;
const pool = new ProverPool(1);

beforeAll(async () => {
  const artifacts = await ensureTestZkArtifacts();
  vkey = JSON.parse(readFileSync(artifacts.paths.verificationKey, 'utf8')) as Groth16VerificationKey;
  const h = await loadPoseidon();
  const key = ZkSigner.generate();
  const executionId = 'exec-solidity';
  const workflowDigest = sha256Hex(utf8('workflow'));
  const outputDigest = sha256Hex(utf8('output'));
  const signature = await key.sign(leafMessage(h, contextHash(h, executionId, workflowDigest), 'only', outputDigest));
  const [input] = await batchInputs(h, {
    config: artifacts.config,
    executionId,
    workflowDigest,
    resultDigest: outputDigest,
    salt: 1n,
    registry: new RegistryTree(h, artifacts.config.registryDepth, [registryLeaf(h, key.publicKey)]),
    steps: [{ stepId: 'only', outputDigest, publicKey: key.publicKey, signature, registryIndex: 0 }],
  });
  proved = await pool.prove(input!, artifacts.paths.wasm, artifacts.paths.zkey);
  const source = await exportSolidityVerifier(artifacts.paths.zkey, { contractName: 'VerityBatchVerifier' });
  evm = await deployVerifier(compileVerifier(source, 'VerityBatchVerifier').bytecode);
}, 30 * 60_000);

afterAll(async () => {
  await pool.close();
  await releaseCurveWorkers();
});

describe('the Solidity verifier of the batch circuit', () => {
  it('accepts the proof snarkjs accepts', async () => {
    expect(await snarkjs.groth16.verify(vkey, proved.publicSignals, proved.proof)).toBe(true);
    expect(await evm.verify(solidityCallArguments(proved.proof, proved.publicSignals))).toBe(true);
    expect(evm.gasUsed).toBeGreaterThan(0);
  });

  it('rejects the proof with any public signal changed', async () => {
    for (const [i, name] of PUBLIC_SIGNALS.entries()) {
      const changed = [...proved.publicSignals];
      changed[i] = (BigInt(changed[i]!) + 1n).toString();
      expect(await evm.verify(solidityCallArguments(proved.proof, changed)), name).toBe(false);
    }
  });

  it('rejects a changed proof', async () => {
    const negated = {
      ...proved.proof,
      pi_a: [
        proved.proof.pi_a[0]!,
        (
          21888242871839275222246405745257275088696311157297823662689037894645226208583n - BigInt(proved.proof.pi_a[1]!)
        ).toString(),
        '1',
      ],
    };
    expect(await evm.verify(solidityCallArguments(negated, proved.publicSignals))).toBe(false);
  });
});
