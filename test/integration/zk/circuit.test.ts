import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as snarkjs from 'snarkjs';
import type { Groth16VerificationKey } from 'snarkjs';
import { readFileSync } from 'node:fs';
import { utf8 } from '../../../src/attest/bytes.js';
import { sha256Hex } from '../../../src/attest/digest.js';
import { ZkSigner } from '../../../src/zk/babyjub.js';
import { contextHash, executionCommitment, leafMessage, stepIdsCommitment } from '../../../src/attest/zk/chain.js';
import { PUBLIC_SIGNALS } from '../../../src/attest/zk/circuit.js';
import { decimal } from '../../../src/attest/zk/fields.js';
import type { PoseidonHash } from '../../../src/attest/zk/poseidon.js';
import { loadPoseidon } from '../../../src/zk/poseidon.js';
import { ProverPool } from '../../../src/zk/prover/prover-pool.js';
import { RegistryTree, registryLeaf } from '../../../src/zk/registry-tree.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { batchInputs } from '../../../src/zk/witness.js';
import type { BatchInput, ExecutionWitness, ProvenStep } from '../../../src/zk/witness.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';
import type { TestZkArtifacts } from '../../support/zk-artifacts.js';

/*
 * The batch circuit itself (the test configuration: one step per proof, a registry of depth 2), driven
 * with inputs built here, including ones the prover's own checks would refuse: the constraints must
 * refuse them too.
 */
let artifacts: TestZkArtifacts;
let h: PoseidonHash;
let vkey: Groth16VerificationKey;
const pool = new ProverPool(2);
const executionId = 'exec-circuit-test';
const workflowDigest = sha256Hex(utf8('a workflow'));
const outputs = ['first', 'second', 'third'].map((s) => sha256Hex(utf8(s)));
let keys: ZkSigner[];
let registry: RegistryTree;
let witness: ExecutionWitness;

beforeAll(async () => {
  artifacts = await ensureTestZkArtifacts();
  vkey = JSON.parse(readFileSync(artifacts.paths.verificationKey, 'utf8')) as Groth16VerificationKey;
  h = await loadPoseidon();
  keys = [1, 2, 3].map(() => ZkSigner.generate());
  registry = new RegistryTree(
    h,
    artifacts.config.registryDepth,
    keys.slice(0, 2).map((k) => registryLeaf(h, k.publicKey)),
  );
  witness = {
    config: artifacts.config,
    executionId,
    workflowDigest,
    resultDigest: outputs[2]!,
    salt: 424242n,
    registry,
    steps: await Promise.all(outputs.map((out, i) => signedStep(`step-${i}`, out, keys[i % 2]!, i % 2))),
  };
}, 30 * 60_000);

afterAll(async () => {
  await pool.close();
  await releaseCurveWorkers();
});

async function signedStep(
  stepId: string,
  outputDigest: string,
  key: ZkSigner,
  registryIndex: number,
): Promise<ProvenStep> {
  const message = leafMessage(h, contextHash(h, executionId, workflowDigest), stepId, outputDigest);
  return { stepId, outputDigest, publicKey: key.publicKey, signature: await key.sign(message), registryIndex };
}

/** Witness generation alone: the constraints hold, or it throws. */
async function satisfies(input: BatchInput): Promise<boolean> {
  try {
    await snarkjs.wtns.calculate(input, artifacts.paths.wasm, { type: 'mem' });
    return true;
  } catch {
    return false;
  }
}

const at = (name: (typeof PUBLIC_SIGNALS)[number]) => PUBLIC_SIGNALS.indexOf(name);

describe('the batch circuit', () => {
  it('proves a valid execution; the proofs verify, chain, and end at the commitment computed outside', async () => {
    const inputs = await batchInputs(h, witness);
    expect(inputs).toHaveLength(3);
    const proofs = await Promise.all(
      inputs.map((input) => pool.prove(input, artifacts.paths.wasm, artifacts.paths.zkey)),
    );
    for (const p of proofs) expect(await snarkjs.groth16.verify(vkey, p.publicSignals, p.proof)).toBe(true);
    // The circuit's Poseidon is circomlibjs's: the chain it computes is the one computed here.
    expect(proofs.at(-1)!.publicSignals[at('cNext')]).toBe(
      decimal(executionCommitment(h, executionId, workflowDigest, 424242n, witness.steps)),
    );
    expect(proofs.at(-1)!.publicSignals[at('sNext')]).toBe(
      decimal(stepIdsCommitment(h, ['step-0', 'step-1', 'step-2'])),
    );
    expect(proofs[1]!.publicSignals[at('cPrev')]).toBe(proofs[0]!.publicSignals[at('cNext')]);
    expect(proofs.map((p) => p.publicSignals[at('first')])).toEqual(['1', '0', '0']);
    expect(proofs.map((p) => p.publicSignals[at('final')])).toEqual(['0', '0', '1']);
  });

  it('a proof does not verify with any public signal changed', async () => {
    const [input] = await batchInputs(h, witness);
    const { proof, publicSignals } = await pool.prove(input!, artifacts.paths.wasm, artifacts.paths.zkey);
    for (const name of PUBLIC_SIGNALS) {
      const changed = [...publicSignals];
      changed[at(name)] = (BigInt(changed[at(name)]!) + 1n).toString();
      expect(await snarkjs.groth16.verify(vkey, changed, proof), name).toBe(false);
    }
  });

  it('a step signed by an unregistered key cannot produce a witness', async () => {
    // keys[2] is not in the registry; give it a path and a valid signature over the leaf all the same.
    const stranger = await signedStep('step-0', outputs[0]!, keys[2]!, 0);
    await expect(batchInputs(h, { ...witness, steps: [stranger, ...witness.steps.slice(1)] })).rejects.toThrow(
      /not registry leaf 0/,
    );
    const [honest] = await batchInputs(h, witness);
    const forged = {
      ...honest!,
      Ax: [stranger.publicKey.x],
      Ay: [stranger.publicKey.y],
      S: [stranger.signature.s],
      R8x: [stranger.signature.r8x],
      R8y: [stranger.signature.r8y],
    };
    expect(await satisfies(honest!)).toBe(true);
    expect(await satisfies(forged)).toBe(false);
  });

  it('a signature over another output, step or execution cannot produce a witness', async () => {
    const [honest] = await batchInputs(h, witness);
    const other = await signedStep('step-0', outputs[1]!, keys[0]!, 0);
    expect(
      await satisfies({ ...honest!, S: [other.signature.s], R8x: [other.signature.r8x], R8y: [other.signature.r8y] }),
    ).toBe(false);
    expect(await satisfies({ ...honest!, outHi: ['1'] })).toBe(false);
    expect(await satisfies({ ...honest!, stepLo: ['2'] })).toBe(false);
    expect(await satisfies({ ...honest!, execLo: ['3'] })).toBe(false);
    expect(await satisfies({ ...honest!, wfHi: ['4'] })).toBe(false);
  });

  it('the registry root, the chain ends and the flags are constrained', async () => {
    const inputs = await batchInputs(h, witness);
    const first = inputs[0]!;
    const last = inputs[2]!;
    expect(await satisfies({ ...first, registryRoot: '5' })).toBe(false);
    expect(await satisfies({ ...first, cNext: '6' })).toBe(false);
    expect(await satisfies({ ...first, sNext: '7' })).toBe(false);
    // The first batch starts at the salted start value; a later batch cannot claim to be first.
    expect(await satisfies({ ...first, salt: '8' })).toBe(false);
    expect(await satisfies({ ...inputs[1]!, first: '1' })).toBe(false);
    expect(await satisfies({ ...first, first: '2' })).toBe(false);
    // The final batch's last output is the result; another batch is not final unless its output is.
    expect(await satisfies({ ...last, resultLo: '9' })).toBe(false);
    expect(await satisfies({ ...first, final: '1' })).toBe(false);
    expect(await satisfies({ ...last, pathBits: [['2', '0']] })).toBe(false);
  });

  it('the prover refuses a result that is not the last output, and a bad signature, naming the step', async () => {
    await expect(batchInputs(h, { ...witness, resultDigest: outputs[0]! })).rejects.toThrow(
      /last completed step's \(step-2\) output/,
    );
    const bad = { ...witness.steps[1]!, signature: { ...witness.steps[1]!.signature, s: '1' } };
    await expect(batchInputs(h, { ...witness, steps: [witness.steps[0]!, bad, witness.steps[2]!] })).rejects.toThrow(
      /step step-1: the Baby Jubjub signature does not verify/,
    );
  });
});
