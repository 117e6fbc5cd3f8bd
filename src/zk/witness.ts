import type { ZkConfig } from '../attest/zk/circuit.js';
import type { PUBLIC_SIGNALS } from '../attest/zk/circuit.js';
import { ZkError } from '../attest/zk/errors.js';
import { decimal, digestFields, textFields } from '../attest/zk/fields.js';
import type { PoseidonHash } from '../attest/zk/poseidon.js';
import type { ZkPublicKey, ZkSignature } from './babyjub.js';
import { ZkSigner, verifyZkSignature } from './babyjub.js';
import { chainNext, chainStart, contextHash, leafMessage, stepIdsNext } from '../attest/zk/chain.js';
import { registryLeaf } from './registry-tree.js';
import type { RegistryTree } from './registry-tree.js';

/** One completed step as the prover sees it: private data that never leaves the prover. */
export interface ProvenStep {
  stepId: string;
  outputDigest: string;
  publicKey: ZkPublicKey;
  signature: ZkSignature;
  /** The signer's leaf in the registry tree. */
  registryIndex: number;
  /** The signature was checked already (src/zk/zk-leaves.ts, off the main thread): not again here. */
  verified?: boolean;
}

export interface ExecutionWitness {
  config: ZkConfig;
  executionId: string;
  workflowDigest: string;
  resultDigest: string;
  salt: bigint;
  registry: RegistryTree;
  /** Every completed step, in the workflow's order. */
  steps: readonly ProvenStep[];
}

/** The circuit's input for one batch: signal name → decimal string (or arrays of them). */
export type BatchInput = Record<string, string | string[] | string[][]>;

/** A key nobody registers, whose signatures fill inactive slots: the circuit computes them but checks nothing. */
const PADDING_KEY = new Uint8Array(32).fill(7);

/**
 * Splits an execution into batches of `batchSize` steps and computes each batch's circuit input. Checks
 * everything the circuit will, first, so a bad step fails here with a message that names it rather than
 * as an unsatisfied constraint deep inside witness generation.
 */
export async function batchInputs(h: PoseidonHash, witness: ExecutionWitness): Promise<BatchInput[]> {
  const { config, registry, steps } = witness;
  if (registry.depth !== config.registryDepth)
    throw new ZkError(
      'not_provable',
      `the registry tree has depth ${registry.depth}; the circuit expects ${config.registryDepth}`,
    );
  if (steps.length === 0) throw new ZkError('not_provable', 'no completed step: there is nothing to prove');
  const last = steps[steps.length - 1]!;
  if (last.outputDigest !== witness.resultDigest) {
    throw new ZkError(
      'not_provable',
      `the result digest is not the last completed step's (${last.stepId}) output digest: the proof binds the result to that output`,
    );
  }
  const context = contextHash(h, witness.executionId, witness.workflowDigest);
  // Each step's leaf, once: checked against its signature here, chained below.
  const leaves = new Map<ProvenStep, bigint>();
  for (const step of steps) {
    if (registry.leaf(step.registryIndex) !== registryLeaf(h, step.publicKey)) {
      throw new ZkError(
        'unregistered_key',
        `step ${step.stepId}: its signer's key is not registry leaf ${step.registryIndex}`,
      );
    }
    const message = leafMessage(h, context, step.stepId, step.outputDigest);
    if (!step.verified && !(await verifyZkSignature(step.publicKey, message, step.signature))) {
      throw new ZkError(
        'invalid_signature',
        `step ${step.stepId}: the Baby Jubjub signature does not verify over its leaf`,
      );
    }
    leaves.set(step, message);
  }
  const padding = ZkSigner.fromPrivateKey(PADDING_KEY);
  const padMessage = leafMessage(h, context, '', '0'.repeat(64));
  const padSignature = await padding.sign(padMessage);

  const [execHi, execLo] = textFields(witness.executionId);
  const [wfHi, wfLo] = digestFields(witness.workflowDigest);
  const [resultHi, resultLo] = digestFields(witness.resultDigest);
  const zeros = (n: number) => Array.from({ length: n }, () => '0');
  const inputs: BatchInput[] = [];
  let c = chainStart(h, context, witness.salt);
  let s = 0n;
  for (let start = 0; start < steps.length; start += config.batchSize) {
    const batch = steps.slice(start, start + config.batchSize);
    const cPrev = c;
    const sPrev = s;
    const slot = {
      active: [] as string[],
      stepHi: [] as string[],
      stepLo: [] as string[],
      outHi: [] as string[],
      outLo: [] as string[],
      Ax: [] as string[],
      Ay: [] as string[],
      S: [] as string[],
      R8x: [] as string[],
      R8y: [] as string[],
      siblings: [] as string[][],
      pathBits: [] as string[][],
    };
    for (let i = 0; i < config.batchSize; i++) {
      const step = batch[i];
      if (step) {
        const [stepHi, stepLo] = textFields(step.stepId);
        const [outHi, outLo] = digestFields(step.outputDigest);
        const path = registry.path(step.registryIndex);
        slot.active.push('1');
        slot.stepHi.push(decimal(stepHi));
        slot.stepLo.push(decimal(stepLo));
        slot.outHi.push(decimal(outHi));
        slot.outLo.push(decimal(outLo));
        slot.Ax.push(step.publicKey.x);
        slot.Ay.push(step.publicKey.y);
        slot.S.push(step.signature.s);
        slot.R8x.push(step.signature.r8x);
        slot.R8y.push(step.signature.r8y);
        slot.siblings.push(path.siblings.map(decimal));
        slot.pathBits.push(path.pathBits.map(String));
        c = chainNext(h, c, leaves.get(step)!);
        s = stepIdsNext(h, s, step.stepId);
      } else {
        slot.active.push('0');
        for (const k of ['stepHi', 'stepLo', 'outHi', 'outLo'] as const) slot[k].push('0');
        slot.Ax.push(padding.publicKey.x);
        slot.Ay.push(padding.publicKey.y);
        slot.S.push(padSignature.s);
        slot.R8x.push(padSignature.r8x);
        slot.R8y.push(padSignature.r8y);
        slot.siblings.push(zeros(config.registryDepth));
        slot.pathBits.push(zeros(config.registryDepth));
      }
    }
    const isFinal = start + config.batchSize >= steps.length;
    const publics: Record<(typeof PUBLIC_SIGNALS)[number], string> = {
      first: start === 0 ? '1' : '0',
      final: isFinal ? '1' : '0',
      cPrev: decimal(cPrev),
      cNext: decimal(c),
      sPrev: decimal(sPrev),
      sNext: decimal(s),
      execHi: decimal(execHi),
      execLo: decimal(execLo),
      wfHi: decimal(wfHi),
      wfLo: decimal(wfLo),
      registryRoot: decimal(registry.root),
      resultHi: decimal(resultHi),
      resultLo: decimal(resultLo),
    };
    inputs.push({ ...publics, salt: decimal(witness.salt), ...slot });
  }
  return inputs;
}
