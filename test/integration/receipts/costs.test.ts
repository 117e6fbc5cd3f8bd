import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { countedAttestations, countedCost, workerAccount } from '../../../src/attest/counted.js';
import { COMPUTE_ACCOUNT } from '../../../src/attest/settlement/accounts.js';
import type { ExecutionPredicate, ReceiptReplica, Statement } from '../../../src/attest/statement.js';
import type { Executor, ExecutorJob } from '../../../src/executors/executor.js';
import { ExecutorRegistry } from '../../../src/executors/registry.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { nodePrincipal } from '../../../src/node/verity-node.js';
import { localWorkerClient } from '../../../src/worker/local-client.js';
import { Worker } from '../../../src/worker/worker.js';
import { BACKENDS, backendAvailable } from '../../support/backends.js';
import { echo, startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import {
  attestationDigestOf,
  attestationOf,
  bundleOf,
  expectPassed,
  expectRejected,
  expectVerified,
  failedNames,
  forgeReceipt,
  receiptOf,
  runExample,
  stepOf,
  verify,
} from './support.js';

/**
 * The receipt commits to what each counted attestation cost and whom it pays (src/attest/counted.ts), and
 * `totalCost` is their sum: the issuer writes them from what the workers attested, and the verifier's
 * `costs` check holds each one to the attestation it names, so a settlement can be recomputed offline.
 */

type Receipt = Statement<ExecutionPredicate>;

/** The attested cost of every attestation in the bundle, by digest. */
function attestedCosts(bundle: Bundle): Map<string, number> {
  return new Map(bundle.attestations.map((a) => [attestationDigestOf(a), attestationOf(a).predicate.cost]));
}

/** Serves `test/vote`: the tagged "dissenter" answers at once with an output of its own; the others echo after a while. */
class Voter implements Executor {
  readonly name = 'voter';
  readonly capabilities = { stepTypes: [], models: ['test/vote'] };
  constructor(private readonly tag: string) {}
  async run(job: ExecutorJob) {
    if (this.tag === 'dissenter') return { output: { by: this.tag } };
    await sleep(150);
    return { output: job.input };
  }
}

/** A vote of 3 replicas (quorum 2) at 100 each, one of them outvoted, then a step of 7 on the node's own workers. */
const PAID_VOTE = {
  id: 'paid-vote',
  steps: [
    {
      id: 'vote',
      step_type: 'inference',
      model_requirements: { name: 'test/vote' },
      input_mappings: { x: 'inputs.x' },
      redundancy: { replicas: 3, quorum: 2 },
      estimated_cost: 100,
      retry_policy: { max_attempts: 1 },
    },
    echo('after', { depends_on: ['vote'], input_mappings: { v: 'steps.vote.output.x' }, estimated_cost: 7 }),
  ],
};

for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`the issuer's costs (${kind})`, () => {
    let t: TestNode;
    beforeAll(async () => {
      t = await startTestNode(kind, `receipts-costs-issuer-${kind}`);
    });
    afterAll(() => t?.close());

    it("a real execution's receipt: each attested step states its attestation's cost and the node's principal, and totalCost is their sum", async () => {
      const bundle = await bundleOf(t, await runExample(t, 'linear'));
      const { predicate } = receiptOf(bundle);
      const costs = attestedCosts(bundle);
      for (const step of predicate.steps) {
        expect(step.attestationDigest).not.toBeNull();
        expect(step.cost).toBe(costs.get(step.attestationDigest!));
        expect(step.principal).toBe(nodePrincipal(t.node.coordinatorSigner.keyId));
        expect(workerAccount(step.principal!)).toBe(COMPUTE_ACCOUNT);
      }
      // The example prices its `score` step at 250: the sum is not trivially 0.
      expect(stepOf(receiptOf(bundle), 'score').cost).toBe(250);
      const sum = predicate.steps.reduce((s, x) => s + x.cost!, 0);
      expect(sum).toBeGreaterThan(0);
      expect(predicate.totalCost).toBe(sum);
      expect(countedCost(predicate)).toBe(BigInt(sum));
      const trusted = t.node.coordinatorSigner.publicKeyPem;
      const report = await verify(bundle, [trusted], 'full');
      expectVerified(report);
      expect(report.checks.find((c) => c.name === 'costs')?.message).toBe(
        `totalCost ${sum} is the sum of the attested costs of ${predicate.steps.length} counted attestations`,
      );
    });

    it('a step that did not run states no cost and no principal (null), and adds nothing', async () => {
      const bundle = await bundleOf(t, await runExample(t, 'conditional'));
      const { predicate } = receiptOf(bundle);
      const skipped = predicate.steps.filter((s) => s.status === 'skipped');
      expect(skipped.length).toBeGreaterThan(0);
      for (const step of skipped) {
        expect(step).toMatchObject({ attestationDigest: null, cost: null, principal: null });
      }
      expect(predicate.totalCost).toBe(
        predicate.steps.filter((s) => s.status === 'completed').reduce((s, x) => s + x.cost!, 0),
      );
      expectVerified(await verify(bundle, [t.node.coordinatorSigner.publicKeyPem]));
    });
  });
}

describe('costs in receipts with redundancy, and tampering with them', () => {
  let t: TestNode;
  let paid: Bundle;
  let linear: Bundle;
  let trusted: string;
  let spent: number;
  const workers: Worker[] = [];
  const forger = LocalSigner.generate();

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-costs');
    trusted = t.node.coordinatorSigner.publicKeyPem;
    for (const tag of ['honest-a', 'honest-b', 'dissenter']) {
      // As a remote worker is: registered under a principal of its own, which its share is paid to.
      const worker = new Worker(
        localWorkerClient(t.node.coordinator, t.node.blobs, t.node.store, { principal: `operator-${tag}` }),
        new ExecutorRegistry([new Voter(tag)]),
        { name: `costs-${tag}`, signer: LocalSigner.generate(), concurrency: 1, pollMs: 100 },
      );
      await worker.start();
      workers.push(worker);
    }
    const run = await t.run(PAID_VOTE, { x: 'hello' });
    expect(run.status).toBe('completed');
    spent = (await t.node.store.read.getExecution(run.executionId))!.spent;
    paid = await bundleOf(t, run.executionId);
    linear = await bundleOf(t, await runExample(t, 'linear'));
  }, 60_000);
  afterAll(async () => {
    for (const worker of workers) await worker.stop(1000);
    await t?.close();
  });

  const forge = (from: Bundle, change: (s: Receipt) => void) => forgeReceipt(from, forger, trusted, (s) => change(s));
  const vote = (s: Receipt) => stepOf(s, 'vote');
  const replicas = (s: Receipt): ReceiptReplica[] => vote(s).redundancy!.replicas;
  const dissenter = (s: Receipt) => replicas(s).find((r) => r.outputDigest !== vote(s).outputDigest)!;
  const agreeing = (s: Receipt) => replicas(s).filter((r) => r.outputDigest === vote(s).outputDigest);

  describe('what the issuer states', () => {
    it('totalCost counts the agreeing replicas and the step after, not the outvoted replica the engine also paid', () => {
      const s = receiptOf(paid);
      expect(replicas(s)).toHaveLength(3);
      expect(agreeing(s)).toHaveLength(2);
      expect(replicas(s).map((r) => r.cost)).toEqual([100, 100, 100]);
      expect(stepOf(s, 'after').cost).toBe(7);
      expect(s.predicate.totalCost).toBe(2 * 100 + 7);
      // The engine's accounting holds the dissenter's 100 too: that is what totalCost no longer states.
      expect(spent).toBe(3 * 100 + 7);
      expect(countedAttestations(s.predicate).map((c) => [c.stepId, c.principal])).toEqual([
        ...agreeing(s).map((r) => ['vote', r.principal]),
        ['after', nodePrincipal(t.node.coordinatorSigner.keyId)],
      ]);
    });

    it("each replica states its attestation's cost and its registering principal; the step states its primary replica's", () => {
      const s = receiptOf(paid);
      const costs = attestedCosts(paid);
      for (const r of replicas(s)) expect(r.cost).toBe(costs.get(r.attestationDigest));
      expect(
        replicas(s)
          .map((r) => r.principal)
          .sort(),
      ).toEqual(['operator-dissenter', 'operator-honest-a', 'operator-honest-b']);
      const primary = replicas(s).find((r) => r.attestationDigest === vote(s).attestationDigest)!;
      expect(vote(s)).toMatchObject({ cost: primary.cost, principal: primary.principal });
      expect(workerAccount(primary.principal)).toBe(primary.principal);
    });

    it('the untampered receipts verify at basic and full, the costs check included', async () => {
      for (const bundle of [paid, linear]) {
        expectVerified(await verify(bundle, [trusted], 'basic'));
        const full = await verify(bundle, [trusted], 'full');
        expectVerified(full);
        expectPassed(full, ['costs']);
      }
      const control = forge(paid, () => undefined);
      expectVerified(await verify(control.bundle, control.trusted, 'full'));
    });
  });

  describe('re-signed by a trusted key: the costs check catches each change', () => {
    it("a step's cost changed (totalCost kept consistent) → costs", async () => {
      const { bundle, trusted: keys } = forge(linear, (s) => {
        stepOf(s, 'score').cost! += 1;
        s.predicate.totalCost += 1;
      });
      const report = await verify(bundle, keys, 'full');
      expectRejected(report, { costs: /step score states a cost of 251, its attestation 250/ });
      expect(failedNames(report)).toEqual(['costs']);
    });

    it('totalCost changed → costs', async () => {
      const { bundle, trusted: keys } = forge(paid, (s) => void (s.predicate.totalCost = spent));
      const report = await verify(bundle, keys);
      expectRejected(report, { costs: /totalCost is 307, but the 3 counted attestations cost 207/ });
      expect(failedNames(report)).toEqual(['costs']);
    });

    it("an agreeing replica's cost changed (totalCost kept consistent) → costs", async () => {
      const { bundle, trusted: keys } = forge(paid, (s) => {
        const r = agreeing(s).find((x) => x.attestationDigest !== vote(s).attestationDigest)!;
        r.cost = 0;
        s.predicate.totalCost -= 100;
      });
      const report = await verify(bundle, keys);
      expectRejected(report, { costs: /replica \d of step vote states a cost of 0, its attestation 100/ });
      expect(failedNames(report)).toEqual(['costs']);
    });

    it("the outvoted replica's cost changed (it is not counted, but it is still held to its attestation) → costs", async () => {
      const { bundle, trusted: keys } = forge(paid, (s) => void (dissenter(s).cost = 1));
      const report = await verify(bundle, keys);
      expectRejected(report, { costs: /replica \d of step vote states a cost of 1, its attestation 100/ });
      expect(failedNames(report)).toEqual(['costs']);
    });

    it("a redundant step's principal other than its primary replica's → costs", async () => {
      const { bundle, trusted: keys } = forge(paid, (s) => void (vote(s).principal = 'operator-dissenter'));
      const report = await verify(bundle, keys);
      expectRejected(report, { costs: /step vote states principal operator-dissenter, its primary replica/ });
      expect(failedNames(report)).toEqual(['costs']);
    });

    it('a cost or a principal removed from one step of a receipt that has them → costs (stripping some cannot pass as old)', async () => {
      const noCost = forge(linear, (s) => void delete stepOf(s, 'score').cost);
      expectRejected(await verify(noCost.bundle, noCost.trusted), {
        costs: /step score does not state the cost of its attestation/,
      });
      const nullPrincipal = forge(linear, (s) => void (stepOf(s, 'score').principal = null));
      expectRejected(await verify(nullPrincipal.bundle, nullPrincipal.trusted), {
        costs: /step score does not state the principal its cost is paid to/,
      });
      const noReplicaCost = forge(paid, (s) => void delete dissenter(s).cost);
      expectRejected(await verify(noReplicaCost.bundle, noReplicaCost.trusted), {
        costs: /replica \d of step vote does not state the cost of its attestation/,
      });
    });
  });

  describe('receipts issued before per-step costs', () => {
    /** What an old coordinator signed: no cost or principal on steps, no cost on replicas, its own totalCost. */
    const old = (from: Bundle, totalCost: number) =>
      forge(from, (s) => {
        for (const step of s.predicate.steps) {
          delete step.cost;
          delete step.principal;
          for (const r of step.redundancy?.replicas ?? []) delete r.cost;
        }
        s.predicate.totalCost = totalCost;
      });

    it('still verify, at basic and full, the costs check saying their costs are not settled', async () => {
      for (const [from, total] of [
        [paid, spent],
        [linear, 999_999],
      ] as const) {
        const { bundle, trusted: keys } = old(from, total);
        expect(receiptOf(bundle).predicate.steps.some((x) => 'cost' in x || 'principal' in x)).toBe(false);
        expectVerified(await verify(bundle, keys, 'basic'));
        const full = await verify(bundle, keys, 'full');
        expectVerified(full);
        expect(full.checks.find((c) => c.name === 'costs')?.message).toMatch(
          new RegExp(`predates per-step costs: its totalCost \\(${total}\\) .* not settled`),
        );
        expect(countedCost(receiptOf(bundle).predicate)).toBeUndefined();
      }
    });
  });
});
