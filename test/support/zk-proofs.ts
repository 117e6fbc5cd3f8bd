import { utf8 } from '../../src/attest/bytes.js';
import { sha256Hex } from '../../src/attest/digest.js';
import { contextHash, leafMessage } from '../../src/attest/zk/chain.js';
import type { BatchProof } from '../../src/attest/zk/proof.js';
import { ZkSigner } from '../../src/zk/babyjub.js';
import { loadPoseidon } from '../../src/zk/poseidon.js';
import { ProverPool } from '../../src/zk/prover/prover-pool.js';
import { RegistryTree, registryLeaf } from '../../src/zk/registry-tree.js';
import { releaseCurveWorkers } from '../../src/zk/setup/curve.js';
import { exportSolidityVerifier } from '../../src/zk/solidity.js';
import { batchInputs } from '../../src/zk/witness.js';
import { ensureTestZkArtifacts } from './zk-artifacts.js';

/** A real execution's batch proofs under the test ceremony (batch size 1: one batch per step). */
export interface ProvenExecution {
  executionId: string;
  workflowDigest: string;
  resultDigest: string;
  /** The registry tree's root the proofs are under (what the coordinator accepts on chain). */
  registryRoot: bigint;
  proofs: BatchProof[];
}

export interface TestProver {
  /** The Solidity source of the test circuit's Groth16 verifier (`verity zk export-solidity`). */
  verifierSource: string;
  /** A fresh worker key, alone in a registry of its own (so each execution has its own registry root). */
  prove(executionId: string, stepCount: number, workflowDigest?: string): Promise<ProvenExecution>;
  close(): Promise<void>;
}

/**
 * Proves executions the way the coordinator does (src/zk/witness.ts, the prover pool): every step's output is
 * signed by the execution's worker key, the last step's output is the result.
 */
export async function testProver(): Promise<TestProver> {
  const artifacts = await ensureTestZkArtifacts();
  const h = await loadPoseidon();
  const pool = new ProverPool(1);
  return {
    verifierSource: await exportSolidityVerifier(artifacts.paths.zkey),
    async prove(executionId, stepCount, workflowDigest = sha256Hex(utf8(`workflow of ${executionId}`))) {
      const key = ZkSigner.generate();
      const registry = new RegistryTree(h, artifacts.config.registryDepth, [registryLeaf(h, key.publicKey)]);
      const context = contextHash(h, executionId, workflowDigest);
      const steps = [];
      for (let i = 0; i < stepCount; i++) {
        const stepId = `step-${i}`;
        const outputDigest = sha256Hex(utf8(`output ${i} of ${executionId}`));
        const signature = await key.sign(leafMessage(h, context, stepId, outputDigest));
        steps.push({ stepId, outputDigest, publicKey: key.publicKey, signature, registryIndex: 0 });
      }
      const resultDigest = steps[steps.length - 1]!.outputDigest;
      const inputs = await batchInputs(h, {
        config: artifacts.config,
        executionId,
        workflowDigest,
        resultDigest,
        salt: 7n,
        registry,
        steps,
      });
      const proofs: BatchProof[] = [];
      for (const [batch, input] of inputs.entries()) {
        const proved = await pool.prove(input, artifacts.paths.wasm, artifacts.paths.zkey);
        proofs.push({ batch, proof: proved.proof, publicSignals: proved.publicSignals });
      }
      return { executionId, workflowDigest, resultDigest, registryRoot: registry.root, proofs };
    },
    async close() {
      await pool.close();
      await releaseCurveWorkers();
    },
  };
}
