import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countedAttestations, countedCost, paidAttestations, workerAccount } from '../../../src/attest/counted.js';
import { sha256Hex } from '../../../src/attest/digest.js';
import { stepLeaves } from '../../../src/attest/leaves.js';
import { COMPUTE_ACCOUNT } from '../../../src/attest/settlement/accounts.js';
import { receiptStepSchema } from '../../../src/attest/statement.js';
import type { ReceiptReplica, ReceiptStep } from '../../../src/attest/statement.js';

/** Which attestations of a receipt are paid for, and what they cost (src/attest/counted.ts). */

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
  cost: 100,
  principal: 'node:abc',
  ...extra,
});

const unattested = (stepId: string, status: ReceiptStep['status']): ReceiptStep =>
  step(stepId, {
    status,
    jobId: null,
    outputDigest: null,
    attestationDigest: null,
    workerKeyId: null,
    cost: null,
    principal: null,
  });

const replica = (stepId: string, n: number, extra: Partial<ReceiptReplica> = {}): ReceiptReplica => ({
  replica: n,
  jobId: `job-${stepId}-${n}`,
  workerKeyId: d(`key-${stepId}-${n}`),
  principal: `operator-${n}`,
  outputDigest: d(`out-${stepId}`),
  attestationDigest: d(`att-${stepId}-${n}`),
  cost: 10 + n,
  ...extra,
});

/** A completed redundant step whose primary is replica `primary`. */
function redundant(stepId: string, replicas: ReceiptReplica[], primary = 0): ReceiptStep {
  const p = replicas.find((r) => r.replica === primary)!;
  return step(stepId, {
    jobId: p.jobId,
    workerKeyId: p.workerKeyId,
    outputDigest: p.outputDigest,
    attestationDigest: p.attestationDigest,
    cost: p.cost ?? null,
    principal: p.principal,
    redundancy: { quorum: 2, replicas },
  });
}

describe('countedAttestations', () => {
  it("a step that ran once counts its one attestation, with the receipt's cost and principal; steps without one count nothing", () => {
    const steps = [step('a', { cost: 7 }), unattested('b', 'skipped'), step('c', { principal: 'acme', cost: 0 })];
    expect(countedAttestations({ steps })).toEqual([
      { stepId: 'a', replica: null, attestationDigest: d('att-a'), cost: 7, principal: 'node:abc' },
      { stepId: 'c', replica: null, attestationDigest: d('att-c'), cost: 0, principal: 'acme' },
    ]);
    expect(countedCost({ steps })).toBe(7n);
  });

  it('a redundant step counts its agreeing replicas, not the disagreeing one, and not its own entry a second time', () => {
    const replicas = [replica('vote', 0), replica('vote', 1, { outputDigest: d('dissent') }), replica('vote', 2)];
    const steps = [step('a', { cost: 1000 }), redundant('vote', replicas, 2), step('z', { cost: 5 })];
    expect(countedAttestations({ steps })).toEqual([
      { stepId: 'a', replica: null, attestationDigest: d('att-a'), cost: 1000, principal: 'node:abc' },
      { stepId: 'vote', replica: 0, attestationDigest: d('att-vote-0'), cost: 10, principal: 'operator-0' },
      { stepId: 'vote', replica: 2, attestationDigest: d('att-vote-2'), cost: 12, principal: 'operator-2' },
      { stepId: 'z', replica: null, attestationDigest: d('att-z'), cost: 5, principal: 'node:abc' },
    ]);
    // The dissenter's 11 is attested and committed to (a leaf), but not paid.
    expect(stepLeaves(steps)).toHaveLength(5);
    expect(countedCost({ steps })).toBe(1000n + 10n + 12n + 5n);
  });

  it('a failed redundant step (no quorum, no output) counts none of its replicas', () => {
    const replicas = [replica('vote', 0), replica('vote', 1, { outputDigest: d('other') })];
    const failed = step('vote', {
      status: 'failed',
      outputDigest: null,
      attestationDigest: null,
      workerKeyId: null,
      cost: null,
      principal: null,
      redundancy: { quorum: 2, replicas },
    });
    expect(countedAttestations({ steps: [failed] })).toEqual([]);
    expect(countedCost({ steps: [failed] })).toBe(0n);
  });

  it('a receipt from before per-step costs: counted with null costs and principals, and no known sum', () => {
    const old = step('a');
    delete old.cost;
    delete old.principal;
    const oldReplicas = [replica('vote', 0), replica('vote', 1)].map(({ cost: _, ...r }) => r);
    const steps = [old, redundant('vote', oldReplicas)];
    expect(countedAttestations({ steps }).map((c) => [c.stepId, c.replica, c.cost, c.principal])).toEqual([
      ['a', null, null, null],
      ['vote', 0, null, 'operator-0'],
      ['vote', 1, null, 'operator-1'],
    ]);
    expect(countedCost({ steps })).toBeUndefined();
    expect(paidAttestations({ steps })).toBeUndefined();
    // One counted attestation without its cost is enough for the sum to be unknown, and nothing to be paid.
    expect(countedCost({ steps: [step('x'), old] })).toBeUndefined();
    expect(paidAttestations({ steps: [step('x'), old] })).toBeUndefined();
    // Nor is anything paid to nobody: a cost without its principal.
    expect(paidAttestations({ steps: [step('x'), step('y', { principal: null })] })).toBeUndefined();
  });

  it('paidAttestations: the counted attestations of a receipt that commits to every cost and principal', () => {
    const replicas = [replica('vote', 0), replica('vote', 1, { outputDigest: d('dissent') }), replica('vote', 2)];
    const steps = [redundant('vote', replicas), step('z', { cost: 5 }), unattested('s', 'skipped')];
    expect(paidAttestations({ steps })).toEqual(countedAttestations({ steps }));
    expect(paidAttestations({ steps })?.map((p) => [p.principal, p.cost])).toEqual([
      ['operator-0', 10],
      ['operator-2', 12],
      ['node:abc', 5],
    ]);
    expect(paidAttestations({ steps: [unattested('s', 'skipped')] })).toEqual([]);
  });

  it('sums past 2^53 exactly (BigInt)', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const steps = [step('a', { cost: max }), step('b', { cost: max })];
    expect(countedCost({ steps })).toBe(2n * BigInt(max));
  });

  it('property: the counted attestations are the leaves minus the replicas that disagree with their step, and the sum is theirs', () => {
    const anyStep = fc.record({
      kind: fc.constantFrom('once', 'redundant', 'none'),
      cost: fc.nat({ max: 1_000_000 }),
      replicas: fc.array(fc.record({ agrees: fc.boolean(), cost: fc.nat({ max: 1_000_000 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
    });
    fc.assert(
      fc.property(fc.array(anyStep, { maxLength: 6 }), (shapes) => {
        const steps = shapes.map((s, i): ReceiptStep => {
          const id = `s${i}`;
          if (s.kind === 'none') return unattested(id, 'skipped');
          if (s.kind === 'once') return step(id, { cost: s.cost });
          // The primary agrees by construction; the others as drawn.
          const replicas = s.replicas.map((r, n) =>
            replica(id, n, { cost: r.cost, ...(n > 0 && !r.agrees && { outputDigest: d(`dissent-${id}-${n}`) }) }),
          );
          return redundant(id, replicas);
        });
        const expected = shapes.flatMap((s, i) => {
          if (s.kind === 'none') return [];
          if (s.kind === 'once') return [{ stepId: `s${i}`, cost: s.cost }];
          return s.replicas.flatMap((r, n) => (n === 0 || r.agrees ? [{ stepId: `s${i}`, cost: r.cost }] : []));
        });
        const counted = countedAttestations({ steps });
        expect(counted.map((c) => ({ stepId: c.stepId, cost: c.cost }))).toEqual(expected);
        expect(countedCost({ steps })).toBe(expected.reduce((sum, c) => sum + BigInt(c.cost), 0n));
        // Every counted attestation is a leaf, in leaf order.
        const leaves = stepLeaves(steps).map((l) => l.attestationDigest);
        const positions = counted.map((c) => leaves.indexOf(c.attestationDigest));
        expect(positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!))).toBe(true);
      }),
    );
  });
});

describe('workerAccount', () => {
  it("an API key principal is paid itself; a node's in-process workers (node:…) and any other ':' name pay sys:compute", () => {
    expect(workerAccount('acme')).toBe('acme');
    expect(workerAccount('operator-honest-a')).toBe('operator-honest-a');
    expect(workerAccount('node:0123456789abcdef')).toBe(COMPUTE_ACCOUNT);
    expect(workerAccount('node:local')).toBe(COMPUTE_ACCOUNT);
    expect(workerAccount('worker:w-1')).toBe(COMPUTE_ACCOUNT);
  });
});

describe('the cost and principal fields of a receipt step', () => {
  it('are optional, so receipts issued before them still parse, and have no such keys', () => {
    const old = step('a');
    delete old.cost;
    delete old.principal;
    const parsed = receiptStepSchema.parse(old);
    expect('cost' in parsed || 'principal' in parsed).toBe(false);
    const oldReplica = (({ cost: _, ...r }) => r)(replica('vote', 0));
    expect(receiptStepSchema.parse(redundant('vote', [oldReplica])).redundancy?.replicas[0]).toEqual(oldReplica);
  });

  it('take an integer cost and a principal, or null for a step without an attestation', () => {
    expect(receiptStepSchema.parse(step('a', { cost: 0, principal: 'acme' }))).toMatchObject({
      cost: 0,
      principal: 'acme',
    });
    expect(receiptStepSchema.parse(unattested('b', 'skipped'))).toMatchObject({ cost: null, principal: null });
  });

  const bad: [string, Partial<ReceiptStep> | ((s: ReceiptStep) => unknown)][] = [
    ['a negative cost', { cost: -1 }],
    ['a fractional cost', { cost: 1.5 }],
    ['a cost past 2^53 − 1', { cost: Number.MAX_SAFE_INTEGER + 1 }],
    ['a string cost', (s) => ({ ...s, cost: '100' })],
    ['an empty principal', { principal: '' }],
    ['a principal over 200 characters', { principal: 'p'.repeat(201) }],
    ['a negative replica cost', (s) => redundant(s.stepId, [replica(s.stepId, 0, { cost: -5 })])],
    ['a null replica cost', (s) => redundant(s.stepId, [{ ...replica(s.stepId, 0), cost: null as unknown as number }])],
  ];
  for (const [what, change] of bad) {
    it(`refuses ${what}`, () => {
      const base = step('a');
      const value = typeof change === 'function' ? change(base) : { ...base, ...change };
      expect(receiptStepSchema.safeParse(value).success).toBe(false);
    });
  }
});
