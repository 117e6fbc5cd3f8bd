import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64 } from '../../../src/attest/bytes.js';
import { BUNDLE_MEDIA_TYPE } from '../../../src/attest/bundle.js';
import type { Bundle, BundleSettlement } from '../../../src/attest/bundle.js';
import { formatCheckpoint, signNote } from '../../../src/attest/checkpoint.js';
import { sha256 } from '../../../src/attest/digest.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../../src/attest/dsse.js';
import { leafHash } from '../../../src/attest/merkle.js';
import type { SettlementPredicate } from '../../../src/attest/settlement/statement.js';
import { creditPrincipal } from '../../../src/ledger/operations.js';
import { echo, startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { listWorkflow, marketBundle } from '../../support/market.js';
import { clone, decode, expectVerified, failedNames, resign, verify } from './support.js';

/**
 * Settlement statements changed and RE-SIGNED with the coordinator's own (trusted) key, each with a fresh
 * one-leaf log signed by that key too: signatures and inclusion pass, so only the money rules behind them
 * can catch the change, and each must be caught by exactly the rule that names it. Bundles from real runs
 * through listings: a completed per_execution run, a completed per_usage run, and a failed run retried
 * once (two revisions).
 */
describe('tampering with settlement statements', () => {
  let t: TestNode;
  let trusted: string;
  let fixed: Bundle;
  let usage: Bundle;
  let retried: Bundle;

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'tamper-settlement');
    trusted = t.node.coordinatorSigner.publicKeyPem;
    await creditPrincipal(t.node.store, { principal: 'bob', amount: 100_000 });
    const cost = (id: string, c: number, extra: Record<string, unknown> = {}) =>
      echo(id, { input_mappings: { cost: String(c) }, ...extra });

    const perExecution = await listWorkflow(t, [cost('a', 120), cost('b', 80, { depends_on: ['a'] })]);
    const perUsage = await listWorkflow(t, [cost('a', 300)], {
      pricing: { model: 'per_usage', markup_bps: 2_000, max_price: 5_000 },
    });
    const failing = await listWorkflow(t, [
      cost('a', 100),
      echo('b', { depends_on: ['a'], model_requirements: { name: 'builtin/fail' }, retry_policy: { max_attempts: 1 } }),
    ]);
    const runs = [await perExecution.run('bob'), await perUsage.run('bob'), await failing.run('bob')];
    for (const r of runs) await t.node.waitFor(r.id, 50);
    await t.node.engine.retry(runs[2]!.id, 'client:bob');
    await t.node.waitFor(runs[2]!.id, 50);
    fixed = await marketBundle(t, runs[0]!.id);
    usage = await marketBundle(t, runs[1]!.id);
    retried = await marketBundle(t, runs[2]!.id);
    expect(retried.settlements).toHaveLength(2);
  });
  afterAll(() => t?.close());

  /** A settlement part re-signed by the coordinator after `change`, in a one-leaf log of its own. */
  function forge(part: BundleSettlement, change: (p: SettlementPredicate) => void): BundleSettlement {
    const statement = decode<SettlementPredicate>(part.statement);
    change(statement.predicate);
    const signer = t.node.coordinatorSigner;
    const envelope = resign(IN_TOTO_PAYLOAD_TYPE, statement, signer);
    const root = leafHash(sha256(fromBase64(envelope.payload)));
    const body = formatCheckpoint({ origin: part.tlog.origin, size: 1, rootHash: root, extensions: [] });
    return {
      statement: envelope,
      tlog: {
        origin: part.tlog.origin,
        logIndex: 0,
        treeSize: 1,
        inclusionProof: [],
        checkpoint: signNote(body, part.tlog.origin, signer.publicKey, (m) => signer.sign(m)),
      },
    };
  }

  /** The bundle with its settlement at `index` (default: the latest) forged by `change`. */
  function tampered(bundle: Bundle, change: (p: SettlementPredicate) => void, index = -1): Bundle {
    const copy = clone(bundle);
    const at = index < 0 ? copy.settlements!.length + index : index;
    copy.settlements![at] = forge(copy.settlements![at]!, change);
    return copy;
  }

  async function expectOnly(bundle: Bundle, names: string[], patterns: Record<string, RegExp> = {}) {
    const report = await verify(bundle, [trusted]);
    expect(report.unusable).toBeUndefined();
    expect(failedNames(report).sort()).toEqual([...names].sort());
    for (const [name, pattern] of Object.entries(patterns))
      expect(report.checks.find((c) => c.name === name)?.message).toMatch(pattern);
    expect(report.ok).toBe(false);
    return report;
  }

  it('the untampered bundles verify, and so does a statement re-signed unchanged (the forging is not the failure)', async () => {
    for (const bundle of [fixed, usage, retried]) expectVerified(await verify(bundle, [trusted]));
    expectVerified(
      await verify(
        tampered(fixed, () => undefined),
        [trusted],
      ),
    );
    expectVerified(
      await verify(
        tampered(retried, () => undefined, 0),
        [trusted],
      ),
    );
  });

  it("another buyer named → execution (not the receipt's client) and amounts (the total still charges the real one)", async () => {
    await expectOnly(
      tampered(fixed, (p) => void (p.buyer = 'mallory')),
      ['settlement.1.execution', 'settlement.1.amounts'],
      {
        'settlement.1.execution': /charges mallory, but the receipt's client is bob/,
        'settlement.1.amounts': /total .*bob.*recomputed .*mallory/,
      },
    );
  });

  it('another buyer named everywhere (buyer, total, postings: every amount consistent) → execution', async () => {
    const rename = (p: SettlementPredicate) => {
      p.buyer = 'mallory';
      for (const list of [p.total, p.postings])
        for (const posting of list) if (posting.account === 'bob') posting.account = 'mallory';
    };
    await expectOnly(tampered(fixed, rename), ['settlement.1.execution'], {
      'settlement.1.execution': /charges mallory, but the receipt's client is bob/,
    });
  });

  it('another execution price E → amounts', async () => {
    await expectOnly(
      tampered(fixed, (p) => void (p.terms.executionPrice += 100)),
      ['settlement.1.amounts'],
      { 'settlement.1.amounts': /price 1000, the terms give 1100/ },
    );
  });

  it('another markup on a per_usage run → amounts', async () => {
    expect(decode<SettlementPredicate>(usage.settlements![0]!.statement).predicate.price).toBe(360);
    await expectOnly(
      tampered(usage, (p) => void (p.terms.markupBps = 5_000)),
      ['settlement.1.amounts'],
      { 'settlement.1.amounts': /price 360, the terms give 450/ },
    );
  });

  it('includedRun flipped (a subscription run inside its quota is free) → amounts', async () => {
    await expectOnly(
      tampered(fixed, (p) => void (p.includedRun = true)),
      ['settlement.1.amounts'],
      { 'settlement.1.amounts': /price 1000, the terms give 0|give no settlement/ },
    );
  });

  it('outcome flipped from completed to failed (the buyer not charged, as if it failed) → outcome', async () => {
    await expectOnly(
      tampered(fixed, (p) => void (p.outcome = 'failed')),
      ['settlement.1.outcome'],
      { 'settlement.1.outcome': /outcome failed, but a completed receipt settles as completed/ },
    );
  });

  it('the two revisions swapped → the order, the postings each makes, and the receipt the latest names', async () => {
    const copy = clone(retried);
    copy.settlements!.reverse();
    await expectOnly(copy, ['settlement.1.postings', 'settlement.2.execution', 'settlement.2.receipt'], {
      'settlement.2.execution': /revision 1 does not come after revision 2/,
    });
  });

  it("another execution's statement (genuine, logged) → execution and receipt", async () => {
    const copy = clone(fixed);
    copy.settlements = clone(usage.settlements!);
    await expectOnly(copy, ['settlement.1.execution', 'settlement.1.receipt'], {
      'settlement.1.execution': /not this bundle's/,
    });
  });

  it('the first of two revisions dropped → postings (the second posted only a difference)', async () => {
    const copy = clone(retried);
    copy.settlements = copy.settlements!.slice(1);
    await expectOnly(copy, ['settlement.1.postings']);
  });

  it('the latest of two revisions dropped → receipt (the remaining one settles an earlier revision)', async () => {
    const copy = clone(retried);
    copy.settlements = copy.settlements!.slice(0, 1);
    await expectOnly(copy, ['settlement.1.receipt'], { 'settlement.1.receipt': /names receipt revision 1/ });
  });

  it('settlements under the version 1 media type, or a version 2 bundle without them → unusable', async () => {
    const v1 = { ...clone(fixed), mediaType: BUNDLE_MEDIA_TYPE };
    const stripped = clone(fixed) as Partial<Bundle>;
    delete stripped.settlements;
    for (const bundle of [v1, stripped]) {
      const report = await verify(bundle, [trusted]);
      expect(report.ok).toBe(false);
      expect(report.checks).toEqual([]);
      expect(report.unusable).toMatch(/settlements come with media type application\/vnd\.verity\.bundle\.v2\+json/);
    }
  });
});
