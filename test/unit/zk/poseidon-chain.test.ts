import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../src/attest/digest.js';
import { utf8 } from '../../../src/attest/bytes.js';
import {
  chainNext,
  chainStart,
  contextHash,
  executionCommitment,
  leafMessage,
  stepIdsCommitment,
  stepIdsNext,
} from '../../../src/attest/zk/chain.js';
import { FIELD_MODULUS, digestFields, parseField, textFields } from '../../../src/attest/zk/fields.js';
import { loadVerifierPoseidon } from '../../../src/attest/zk/poseidon.js';
import { loadPoseidon } from '../../../src/zk/poseidon.js';

describe('Poseidon (circomlibjs, BN254)', () => {
  it('matches the known-answer values circomlib publishes', async () => {
    const h = await loadPoseidon();
    // From circomlibjs's own tests (test/poseidon.js): the reference values of the circom implementation.
    expect(h([1n, 2n])).toBe(0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189an);
    expect(h([1n, 2n, 3n, 4n])).toBe(0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465n);
  });
});

describe('field encodings', () => {
  it('splits a digest into two 128-bit halves, losing nothing', () => {
    const digest = sha256Hex(utf8('verity'));
    const [hi, lo] = digestFields(digest);
    expect(hi < 2n ** 128n && lo < 2n ** 128n).toBe(true);
    expect(((hi << 128n) | lo).toString(16).padStart(64, '0')).toBe(digest);
  });

  it('refuses what is not a digest instead of truncating it', () => {
    expect(() => digestFields('abc')).toThrow(/64 lowercase hex/);
    expect(() => digestFields('A'.repeat(64))).toThrow(/64 lowercase hex/);
  });

  it('encodes identifiers by the SHA-256 of their UTF-8', () => {
    expect(textFields('step-1')).toEqual(digestFields(sha256Hex(utf8('step-1'))));
  });

  it('parses decimal field elements and refuses anything at or above the modulus', () => {
    expect(parseField('42', 'x')).toBe(42n);
    expect(() => parseField(FIELD_MODULUS.toString(), 'x')).toThrow(/below the field modulus/);
    expect(() => parseField('0x10', 'x')).toThrow(/decimal string/);
    expect(() => parseField('007', 'x')).toThrow(/decimal string/);
    expect(() => parseField(5, 'x')).toThrow(/x must be a decimal string/);
  });
});

describe('the commitment chain', () => {
  const wf = sha256Hex(utf8('workflow'));
  const steps = [
    { stepId: 'ocr', outputDigest: sha256Hex(utf8('a')) },
    { stepId: 'extract', outputDigest: sha256Hex(utf8('b')) },
  ];

  it('is the chain of leaves from the salted start, in order', async () => {
    const h = await loadPoseidon();
    const context = contextHash(h, 'exec-1', wf);
    let c = chainStart(h, context, 99n);
    for (const s of steps) c = chainNext(h, c, leafMessage(h, context, s.stepId, s.outputDigest));
    expect(executionCommitment(h, 'exec-1', wf, 99n, steps)).toBe(c);
  });

  it('changes with the salt, the order, an output, the execution and the workflow', async () => {
    const h = await loadPoseidon();
    const base = executionCommitment(h, 'exec-1', wf, 99n, steps);
    expect(executionCommitment(h, 'exec-1', wf, 100n, steps)).not.toBe(base);
    expect(executionCommitment(h, 'exec-1', wf, 99n, [...steps].reverse())).not.toBe(base);
    expect(
      executionCommitment(h, 'exec-1', wf, 99n, [steps[0]!, { ...steps[1]!, outputDigest: sha256Hex(utf8('c')) }]),
    ).not.toBe(base);
    expect(executionCommitment(h, 'exec-2', wf, 99n, steps)).not.toBe(base);
    expect(executionCommitment(h, 'exec-1', sha256Hex(utf8('other')), 99n, steps)).not.toBe(base);
  });

  it('commits to step ids in order, starting from zero', async () => {
    const h = await loadPoseidon();
    expect(stepIdsCommitment(h, [])).toBe(0n);
    expect(stepIdsCommitment(h, ['a', 'b'])).toBe(stepIdsNext(h, stepIdsNext(h, 0n, 'a'), 'b'));
    expect(stepIdsCommitment(h, ['b', 'a'])).not.toBe(stepIdsCommitment(h, ['a', 'b']));
  });
});

describe("the verifier's Poseidon (poseidon-lite)", () => {
  it('is circomlibjs Poseidon, on the arity the verifier uses', async () => {
    const [wasm, lite] = await Promise.all([loadPoseidon(), loadVerifierPoseidon()]);
    for (const inputs of [
      [0n, 0n, 0n],
      [1n, 2n, 3n],
      [FIELD_MODULUS - 1n, 12345678901234567890n, 2n ** 128n - 1n],
    ])
      expect(lite(inputs)).toBe(wasm(inputs));
    expect(stepIdsCommitment(lite, ['ocr', 'extract', 'report'])).toBe(
      stepIdsCommitment(wasm, ['ocr', 'extract', 'report']),
    );
    expect(() => lite([1n, 2n])).toThrow(/3 inputs/);
  });
});
