import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../src/attest/bytes.js';
import { canonicalJson } from '../../../src/attest/canonical.js';
import { sha256Hex } from '../../../src/attest/digest.js';
import { stepLeaves, stepsRootOf } from '../../../src/attest/leaves.js';
import { leafHash, merkleRoot } from '../../../src/attest/merkle.js';
import { executionPredicateSchema, receiptStepSchema } from '../../../src/attest/statement.js';
import type { ReceiptReplica, ReceiptStep } from '../../../src/attest/statement.js';

/** Redundant steps in the receipt: the `redundancy` field of a step entry and the Merkle leaf order. */

const d = (label: string): string => sha256Hex(new TextEncoder().encode(label));

const step = (stepId: string, extra: Partial<ReceiptStep> = {}): ReceiptStep => ({
  stepId,
  status: 'completed',
  attempt: 1,
  jobId: `job-${stepId}`,
  inputDigest: d(`in-${stepId}`),
  outputDigest: d(`out-${stepId}`),
  attestationDigest: d(`att-${stepId}`),
  workerKeyId: d(`key-${stepId}`),
  ...extra,
});

const replica = (stepId: string, n: number, extra: Partial<ReceiptReplica> = {}): ReceiptReplica => ({
  replica: n,
  jobId: `job-${stepId}-${n}`,
  workerKeyId: d(`key-${stepId}-${n}`),
  principal: `principal-${n}`,
  outputDigest: d(`out-${stepId}`),
  attestationDigest: d(`att-${stepId}-${n}`),
  ...extra,
});

/** A completed redundant step whose primary is replica `primary`. */
function redundant(stepId: string, replicas: ReceiptReplica[], quorum = 2, primary = 0): ReceiptStep {
  const p = replicas.find((r) => r.replica === primary)!;
  return step(stepId, {
    jobId: p.jobId,
    workerKeyId: p.workerKeyId,
    outputDigest: p.outputDigest,
    attestationDigest: p.attestationDigest,
    redundancy: { quorum, replicas },
  });
}

/** The root as the receipt format defines it, written out independently of src/attest/leaves.ts. */
const rootOver = (digests: string[]): string => toHex(merkleRoot(digests.map((x) => leafHash(fromHex(x)))));

describe('stepLeaves: the leaf order of stepsRoot', () => {
  it('without redundancy: the attestation digest of each attested step, in step order (as before the field existed)', () => {
    const steps = [
      step('a'),
      step('b', {
        status: 'skipped',
        jobId: null,
        inputDigest: null,
        outputDigest: null,
        attestationDigest: null,
        workerKeyId: null,
      }),
      step('c'),
    ];
    expect(stepLeaves(steps)).toEqual([
      { stepId: 'a', replica: null, attestationDigest: d('att-a') },
      { stepId: 'c', replica: null, attestationDigest: d('att-c') },
    ]);
    expect(stepsRootOf(steps)).toBe(rootOver([d('att-a'), d('att-c')]));
  });

  it('a redundant step contributes each replica in the order listed, and its own (primary) digest is not repeated', () => {
    const replicas = [replica('vote', 0), replica('vote', 1), replica('vote', 2)];
    const steps = [step('a'), redundant('vote', replicas, 2, 1), step('z')];
    expect(steps[1]!.attestationDigest).toBe(d('att-vote-1'));
    expect(stepLeaves(steps).map((l) => [l.stepId, l.replica, l.attestationDigest])).toEqual([
      ['a', null, d('att-a')],
      ['vote', 0, d('att-vote-0')],
      ['vote', 1, d('att-vote-1')],
      ['vote', 2, d('att-vote-2')],
      ['z', null, d('att-z')],
    ]);
    expect(stepsRootOf(steps)).toBe(
      rootOver([d('att-a'), d('att-vote-0'), d('att-vote-1'), d('att-vote-2'), d('att-z')]),
    );
  });

  it('a failed redundant step (no agreement, no attestation of its own) still commits to every replica that reported', () => {
    const replicas = [replica('vote', 0), replica('vote', 2, { outputDigest: d('other') })];
    const failed = step('vote', {
      status: 'failed',
      outputDigest: null,
      attestationDigest: null,
      workerKeyId: null,
      redundancy: { quorum: 2, replicas },
    });
    expect(stepLeaves([failed]).map((l) => l.attestationDigest)).toEqual([d('att-vote-0'), d('att-vote-2')]);
  });

  it('the listed order is the leaf order: reordering replicas changes the root', () => {
    const replicas = [replica('vote', 0), replica('vote', 1), replica('vote', 2)];
    const swapped = [replicas[1]!, replicas[0]!, replicas[2]!];
    expect(stepsRootOf([redundant('vote', replicas)])).not.toBe(stepsRootOf([redundant('vote', swapped)]));
  });

  it('with no attested step the root is that of the empty tree', () => {
    expect(stepLeaves([])).toEqual([]);
    expect(stepsRootOf([])).toBe(sha256Hex(new Uint8Array(0)));
  });

  it("property: the leaves are the concatenation, in step order, of each step's replicas or its own digest", () => {
    const digest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
    const anyStep = fc.record({
      attestationDigest: fc.option(digest, { nil: null }),
      replicas: fc.option(fc.array(digest, { minLength: 1, maxLength: 5 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(anyStep, { maxLength: 8 }), (shapes) => {
        const steps = shapes.map((s, i) => ({
          stepId: `s${i}`,
          attestationDigest: s.attestationDigest,
          ...(s.replicas && {
            redundancy: { replicas: s.replicas.map((x, n) => ({ replica: n, attestationDigest: x })) },
          }),
        }));
        const expected = shapes.flatMap(
          (s) => s.replicas ?? (s.attestationDigest === null ? [] : [s.attestationDigest]),
        );
        expect(stepLeaves(steps).map((l) => l.attestationDigest)).toEqual(expected);
        expect(stepsRootOf(steps)).toBe(rootOver(expected));
      }),
    );
  });
});

describe('the redundancy field of a receipt step', () => {
  const replicas = [replica('vote', 0), replica('vote', 1), replica('vote', 2)];

  it('is optional: a step without it parses, and its canonical JSON has no redundancy key (old receipts are unchanged)', () => {
    const parsed = receiptStepSchema.parse(step('a'));
    expect('redundancy' in parsed).toBe(false);
    expect(canonicalJson(parsed)).not.toContain('redundancy');
  });

  it('parses with quorum and replicas, keeping replica order', () => {
    const parsed = receiptStepSchema.parse(redundant('vote', replicas));
    expect(parsed.redundancy).toEqual({ quorum: 2, replicas });
  });

  it('is part of the execution predicate', () => {
    const predicate = {
      executionId: 'e',
      revision: 1,
      workflow: { id: 'w', version: 1, digest: d('w') },
      clientId: 'c',
      inputDigest: d('i'),
      resultDigest: d('r'),
      status: 'completed',
      startedAt: '2026-01-01T00:00:00.000Z',
      completedAt: '2026-01-01T00:00:01.000Z',
      totalCost: 0,
      budget: 0,
      verificationLevel: 'full',
      error: null,
      steps: [redundant('vote', replicas), step('after')],
      stepsRoot: d('root'),
    };
    expect(executionPredicateSchema.parse(predicate).steps[0]!.redundancy?.replicas).toHaveLength(3);
  });

  const bad: [string, unknown][] = [
    ['no replicas', { quorum: 2, replicas: [] }],
    ['quorum 0', { quorum: 0, replicas }],
    ['a fractional quorum', { quorum: 1.5, replicas }],
    ['no quorum', { replicas }],
    ['a negative replica number', { quorum: 2, replicas: [replica('vote', -1)] }],
    ['a fractional replica number', { quorum: 2, replicas: [replica('vote', 0.5)] }],
    ['an empty job id', { quorum: 2, replicas: [replica('vote', 0, { jobId: '' })] }],
    ['a worker key id that is not hex64', { quorum: 2, replicas: [replica('vote', 0, { workerKeyId: 'ABC' })] }],
    [
      'an upper-case output digest',
      { quorum: 2, replicas: [replica('vote', 0, { outputDigest: d('x').toUpperCase() })] },
    ],
    ['a null attestation digest', { quorum: 2, replicas: [{ ...replica('vote', 0), attestationDigest: null }] }],
    [
      'a replica without its attestation digest',
      { quorum: 2, replicas: [(({ attestationDigest: _, ...rest }) => rest)(replica('vote', 0))] },
    ],
    ['an extra field in a replica', { quorum: 2, replicas: [{ ...replica('vote', 0), inputDigest: d('in') }] }],
    ['an extra field in redundancy', { quorum: 2, replicas, k: 3 }],
    ['null', null],
  ];
  for (const [what, redundancy] of bad) {
    it(`refuses ${what}`, () => {
      expect(receiptStepSchema.safeParse({ ...step('vote'), redundancy }).success).toBe(false);
    });
  }
});
