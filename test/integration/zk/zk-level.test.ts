import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle, ZkBundle } from '../../../src/attest/bundle.js';
import { canonicalJson } from '../../../src/attest/canonical.js';
import { IN_TOTO_PAYLOAD_TYPE, envelopePayload, signEnvelope } from '../../../src/attest/dsse.js';
import { fromUtf8 } from '../../../src/attest/bytes.js';
import {
  EXECUTION_PREDICATE_TYPE,
  STEP_PREDICATE_TYPE,
  executionPredicateSchema,
  readStatement,
  statementBytes,
  stepPredicateSchema,
} from '../../../src/attest/statement.js';
import type { Statement } from '../../../src/attest/statement.js';
import type { ZkPredicate } from '../../../src/attest/zk/statement.js';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import type { VerificationReport } from '../../../src/attest/verify/report.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { PUBLIC_SIGNALS } from '../../../src/attest/zk/circuit.js';
import { releaseCurveWorkers } from '../../../src/zk/setup/curve.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { ensureTestZkArtifacts } from '../../support/zk-artifacts.js';
import { example } from '../receipts/support.js';

/*
 * The zk level end to end on one node: an example at verification_level zk runs, its receipt carries the
 * zk values, the prover makes one proof per batch in the background, and the bundles verify at level zk;
 * then every way of tampering with them fails the check that guards it.
 */
let t: TestNode;
let trusted: string[];
let first: { executionId: string; bundle: Bundle; zkOnly: ZkBundle };
let second: { executionId: string; bundle: Bundle; zkOnly: ZkBundle };

async function runProven(inputs: unknown): Promise<{ executionId: string; bundle: Bundle; zkOnly: ZkBundle }> {
  const { definition } = example('private-report');
  const view = await t.run(definition, inputs);
  expect(view.status).toBe('completed');
  const executionId = view.executionId;
  for (let i = 0; i < 600; i++) {
    const record = await t.node.store.read.getZkProof(executionId);
    if (record?.status === 'completed') break;
    if (record?.status === 'failed') throw new Error(`proving failed: ${record.error?.message}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    executionId,
    bundle: (await t.node.bundle(executionId)) as Bundle,
    zkOnly: (await t.node.bundle(executionId, { zkOnly: true })) as ZkBundle,
  };
}

beforeAll(async () => {
  const artifacts = await ensureTestZkArtifacts();
  t = await startTestNode('sqlite', 'zk-level', { zkDir: artifacts.zkDir, zkConfig: artifacts.config, provers: 2 });
  trusted = [t.node.coordinatorSigner.publicKeyPem];
  first = await runProven(example('private-report').input);
  second = await runProven({ title: 'Other', text: 'a different text entirely, with other words' });
}, 30 * 60_000);

afterAll(async () => {
  await t?.close();
  await releaseCurveWorkers();
});

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
const verify = (bundle: unknown, options: { level?: 'basic' | 'full' | 'zk'; zkVerificationKeys?: unknown[] } = {}) =>
  verifyBundle(bundle, {
    trustedKeys: trusted,
    level: options.level ?? 'zk',
    ...(options.zkVerificationKeys && { zkVerificationKeys: options.zkVerificationKeys }),
  });
const failedNames = (report: VerificationReport) => report.checks.filter((c) => !c.ok).map((c) => c.name);
const at = (name: (typeof PUBLIC_SIGNALS)[number]) => PUBLIC_SIGNALS.indexOf(name);

function expectVerified(report: VerificationReport): void {
  expect(report.unusable).toBeUndefined();
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.ok).toBe(true);
}

/** Re-signs a changed zk statement with the real coordinator key: what a lying coordinator could do. */
function resign(zk: { statement: Bundle['receipt'] }, change: (p: ZkPredicate) => void): void {
  const statement = JSON.parse(fromUtf8(envelopePayload(zk.statement))) as Statement<ZkPredicate>;
  change(statement.predicate);
  zk.statement = signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement), t.node.coordinatorSigner);
}

describe('an execution at verification level zk', () => {
  it('gets a receipt with zk values and one proof per step (batch size 1), made in the background', async () => {
    const receipt = readStatement(first.bundle.receipt, EXECUTION_PREDICATE_TYPE, executionPredicateSchema).predicate;
    expect(receipt.verificationLevel).toBe('zk');
    expect(receipt.zk).toMatchObject({ circuit: 'verity-batch-v1-b1-d2', batchSize: 1, registryDepth: 2 });
    expect(first.zkOnly.zk.proofs).toHaveLength(5);
    const view = await t.view(first.executionId);
    expect(view.status).toBe('completed');
    const events = (await t.node.store.read.listEvents(first.executionId, 0, 1000)).map((e) => e.type);
    expect(events).toEqual(expect.arrayContaining(['receipt.issued', 'zk.pending', 'zk.proving', 'zk.proved']));
    // Each step's leaf was signed by its worker apart from the attestation, and checked off the step path.
    const leaves = await t.node.store.read.listZkLeaves(first.executionId);
    expect(leaves.map((l) => l.status)).toEqual(Array(5).fill('valid'));
    for (const attestation of first.bundle.attestations) {
      expect(readStatement(attestation, STEP_PREDICATE_TYPE, stepPredicateSchema).predicate.zk).toBeUndefined();
    }
  });

  it('its full bundle verifies at levels basic and zk', async () => {
    expectVerified(await verify(first.bundle, { level: 'basic' }));
    const report = await verify(first.bundle);
    expectVerified(report);
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['zk.statement.signature', 'zk.receipt', 'zk.steps', 'zk.batches', 'zk.batch.4.proof']),
    );
  });

  it('its zk-only bundle verifies at level zk and reveals no step digest or worker key', async () => {
    expectVerified(await verify(first.zkOnly));
    const text = JSON.stringify(first.zkOnly);
    const receipt = readStatement(first.bundle.receipt, EXECUTION_PREDICATE_TYPE, executionPredicateSchema).predicate;
    for (const step of receipt.steps) {
      for (const secret of [step.inputDigest, step.outputDigest, step.attestationDigest, step.workerKeyId])
        expect(text).not.toContain(secret!);
    }
    for (const leaf of await t.node.store.read.listZkLeaves(first.executionId)) {
      expect(text).not.toContain(leaf.keyX);
      expect(text).not.toContain(leaf.s);
    }
    expect(text).not.toContain(receipt.inputDigest);
    const record = await t.node.store.read.getZkProof(first.executionId);
    expect(text).not.toContain(record!.salt);
  });

  it('a zk-only bundle cannot be verified at basic or full: it has no receipt', async () => {
    const report = await verify(first.zkOnly, { level: 'basic' });
    expect(report.ok).toBe(false);
    expect(report.unusable).toMatch(/--level zk/);
  });

  it('verifies under a pinned verification key, and not under another', async () => {
    expectVerified(await verify(first.zkOnly, { zkVerificationKeys: [first.zkOnly.zk.verificationKey] }));
    const other = clone(first.zkOnly.zk.verificationKey) as { IC: string[][] };
    other.IC[1]![0] = '1';
    expect(failedNames(await verify(first.zkOnly, { zkVerificationKeys: [other] }))).toContain('zk.verification_key');
  });
});

describe('tampering with zk proofs', () => {
  it('a changed public signal fails', async () => {
    const bundle = clone(first.zkOnly);
    bundle.zk.proofs[2]!.publicSignals[at('registryRoot')] = '12345';
    expect(failedNames(await verify(bundle))).toEqual(
      expect.arrayContaining(['zk.batch.2.signals', 'zk.batch.2.proof']),
    );
  });

  it('a changed chain value, consistent across batches, fails the proofs', async () => {
    const bundle = clone(first.zkOnly);
    bundle.zk.proofs[1]!.publicSignals[at('cNext')] = '777';
    bundle.zk.proofs[2]!.publicSignals[at('cPrev')] = '777';
    expect(failedNames(await verify(bundle)).sort()).toEqual(['zk.batch.1.proof', 'zk.batch.2.proof']);
  });

  it('a changed proof element fails', async () => {
    const bundle = clone(first.zkOnly);
    bundle.zk.proofs[0]!.proof.pi_c = clone(second.zkOnly.zk.proofs[0]!.proof.pi_c);
    expect(failedNames(await verify(bundle))).toEqual(['zk.batch.0.proof']);
  });

  it("another execution's proofs fail against this statement", async () => {
    const bundle = clone(first.zkOnly);
    bundle.zk.proofs = clone(second.zkOnly.zk.proofs);
    const failed = failedNames(await verify(bundle));
    for (let i = 0; i < 5; i++) expect(failed).toContain(`zk.batch.${i}.signals`);
  });

  it('proofs of reordered steps fail', async () => {
    const bundle = clone(first.zkOnly);
    const [a, b] = [bundle.zk.proofs[1]!, bundle.zk.proofs[2]!];
    bundle.zk.proofs[1] = { ...b, batch: 1 };
    bundle.zk.proofs[2] = { ...a, batch: 2 };
    expect(failedNames(await verify(bundle))).toEqual(
      expect.arrayContaining(['zk.batch.1.signals', 'zk.batch.2.signals']),
    );
  });

  it('a missing step (a dropped batch) fails', async () => {
    const bundle = clone(first.zkOnly);
    bundle.zk.proofs.splice(3, 1);
    expect(failedNames(await verify(bundle))).toContain('zk.batches');
  });

  it('a statement claiming other steps fails, even re-signed by the coordinator', async () => {
    const reordered = clone(first.zkOnly);
    resign(reordered.zk, (p) => p.steps.reverse());
    expect(failedNames(await verify(reordered))).toContain('zk.steps');
    const fewer = clone(first.zkOnly);
    resign(fewer.zk, (p) => {
      p.steps.pop();
    });
    expect(failedNames(await verify(fewer))).toEqual(expect.arrayContaining(['zk.steps']));
  });

  it('a statement with another commitment, result or registry root fails, even re-signed', async () => {
    for (const change of [
      (p: ZkPredicate) => (p.zk.commitment = '1'),
      (p: ZkPredicate) => (p.zk.registryRoot = '2'),
      (p: ZkPredicate) => (p.resultDigest = second.zkOnly.zk.statement ? 'a'.repeat(64) : ''),
      (p: ZkPredicate) => (p.executionId = second.executionId),
    ]) {
      const bundle = clone(first.zkOnly);
      resign(bundle.zk, change);
      expect((await verify(bundle)).ok).toBe(false);
    }
  });

  it('a statement signed by an untrusted key fails', async () => {
    const bundle = clone(first.zkOnly);
    const statement = JSON.parse(fromUtf8(envelopePayload(bundle.zk.statement))) as Statement<ZkPredicate>;
    bundle.zk.statement = signEnvelope(IN_TOTO_PAYLOAD_TYPE, statementBytes(statement), LocalSigner.generate());
    expect(failedNames(await verify(bundle))).toEqual(['zk.statement.signature']);
  });

  it('a zk part from another execution fails against this receipt', async () => {
    const bundle = clone(first.bundle);
    bundle.zk = clone(second.bundle.zk);
    expect(failedNames(await verify(bundle))).toContain('zk.receipt');
  });

  it('the verification key must be the one the statement names', async () => {
    const bundle = clone(first.zkOnly);
    (bundle.zk.verificationKey as { IC: string[][] }).IC[0]![0] = '5';
    expect(failedNames(await verify(bundle))).toContain('zk.verification_key');
  });

  it('the log entry must be the receipt the statement names', async () => {
    const bundle = clone(first.zkOnly);
    bundle.tlog = clone(second.zkOnly.tlog);
    expect(failedNames(await verify(bundle))).toContain('tlog.inclusion');
  });
});

it('the canonical zk statement is what was signed', () => {
  const payload = fromUtf8(envelopePayload(first.zkOnly.zk.statement));
  expect(canonicalJson(JSON.parse(payload))).toBe(payload);
});
