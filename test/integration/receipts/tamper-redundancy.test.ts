import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { stepLeaves, stepsRootOf } from '../../../src/attest/leaves.js';
import type { ExecutionPredicate, ReceiptReplica, Statement } from '../../../src/attest/statement.js';
import { defaultExecutors } from '../../../src/executors/defaults.js';
import type { Executor, ExecutorJob } from '../../../src/executors/executor.js';
import { ExecutorRegistry } from '../../../src/executors/registry.js';
import { LocalSigner } from '../../../src/keys/local-signer.js';
import { localWorkerClient } from '../../../src/worker/local-client.js';
import { Worker } from '../../../src/worker/worker.js';
import { echo, startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import {
  attestationDigestOf,
  attestationOf,
  bundleOf,
  clone,
  encode,
  expectPassed,
  expectRejected,
  expectStoppedAtSignature,
  expectVerified,
  failedNames,
  flipHex,
  forgeReceipt,
  receiptOf,
  resign,
  stepOf,
  verify,
} from './support.js';

/**
 * Redundant steps in receipts and bundles, over real executions on three workers with keys of their own:
 * the receipt lists every replica of the step's final attempt, the Merkle root commits to each replica's
 * attestation, basic ties each replica to its signed attestation, and full requires the workflow's quorum
 * of distinct principals (stated by the coordinator for each replica) to agree on the step's output.
 */

const WORKFLOW = {
  id: 'redundant-vote',
  steps: [
    {
      id: 'vote',
      step_type: 'inference',
      model_requirements: { name: 'builtin/echo' },
      input_mappings: { x: 'inputs.x' },
      redundancy: { replicas: 3, quorum: 2 },
    },
    echo('after', { depends_on: ['vote'], input_mappings: { v: 'steps.vote.output.x' } }),
  ],
};

/**
 * Serves `test/vote`: echoes its input after `delayMs`, except in `mode` "dissent" (input.mode) where the
 * worker tagged "dissenter" answers at once with an output of its own, and in "split" where every worker
 * does.
 */
class Voter implements Executor {
  readonly name = 'voter';
  readonly capabilities = { stepTypes: [], models: ['test/vote'] };
  constructor(private readonly tag: string) {}
  async run(job: ExecutorJob) {
    const mode = (job.input as { mode?: string }).mode;
    if (mode === 'split' || (mode === 'dissent' && this.tag === 'dissenter')) return { output: { by: this.tag } };
    await sleep(150);
    return { output: job.input };
  }
}

const voteFlow = (id: string, mode: 'dissent' | 'split') => ({
  id,
  steps: [
    {
      id: 'vote',
      step_type: 'inference',
      model_requirements: { name: 'test/vote' },
      input_mappings: { x: 'inputs.x', mode: `"${mode}"` },
      redundancy: { replicas: 3, quorum: 2 },
      retry_policy: { max_attempts: 1 },
    },
    echo('after', { depends_on: ['vote'], input_mappings: { v: 'steps.vote.output.x' } }),
  ],
});

type Receipt = Statement<ExecutionPredicate>;
const vote = (s: Receipt) => stepOf(s, 'vote');
const replicasOf = (s: Receipt): ReceiptReplica[] => {
  const redundancy = vote(s).redundancy;
  if (!redundancy) throw new Error('the vote step carries no redundancy');
  return redundancy.replicas;
};
/** The index in `bundle.attestations` of the attestation with this digest. */
const envelopeIndex = (bundle: Bundle, digest: string): number => {
  const index = bundle.attestations.findIndex((a) => attestationDigestOf(a) === digest);
  if (index < 0) throw new Error(`no attestation ${digest} in the bundle`);
  return index;
};
/** Drops the worker keys the (changed) receipt no longer names, so that `keys` is not what catches a change. */
const pruneKeys = (s: Receipt, b: Bundle) => {
  const named = new Set(
    s.predicate.steps.flatMap((x) => [x.workerKeyId, ...(x.redundancy?.replicas.map((r) => r.workerKeyId) ?? [])]),
  );
  b.keys = b.keys.filter((k) => k.role === 'coordinator' || named.has(k.keyid));
};

describe('redundant steps in receipts', () => {
  let t: TestNode;
  let fixture: Bundle;
  let dissent: Bundle;
  let split: Bundle;
  let trusted: string;
  const workers: Worker[] = [];
  const forger = LocalSigner.generate();

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-tamper-redundancy', { workers: 0 });
    trusted = t.node.coordinatorSigner.publicKeyPem;
    for (const tag of ['honest-a', 'honest-b', 'dissenter']) {
      // Each worker speaks for a principal of its own: a quorum counts principals, not keys.
      const worker = new Worker(
        localWorkerClient(t.node.coordinator, t.node.blobs, t.node.store, { principal: `operator-${tag}` }),
        new ExecutorRegistry([new Voter(tag), ...defaultExecutors()]),
        {
          name: `receipts-${tag}`,
          signer: LocalSigner.generate(),
          concurrency: 1,
          pollMs: 100,
          onError: (error, context) =>
            process.stderr.write(`worker error: ${String(error)} ${JSON.stringify(context)}\n`),
        },
      );
      await worker.start();
      workers.push(worker);
    }
    const run = await t.run(WORKFLOW, { x: 'hello' });
    expect(run.status).toBe('completed');
    fixture = await bundleOf(t, run.executionId);
    const outvoted = await t.run(voteFlow('redundant-dissent', 'dissent'), { x: 'hello' });
    expect(outvoted.status).toBe('completed');
    dissent = await bundleOf(t, outvoted.executionId);
    const mismatch = await t.run(voteFlow('redundant-split', 'split'), { x: 'hello' });
    expect(mismatch.status).toBe('failed');
    split = await bundleOf(t, mismatch.executionId);
  }, 60_000);
  afterAll(async () => {
    for (const worker of workers) await worker.stop(1000);
    await t?.close();
  });

  /** Re-signs the receipt after `change` (see forgeReceipt); with `root`, recomputes stepsRoot in the new leaf order. */
  const forge = (change: (s: Receipt, b: Bundle) => void, options: { root?: boolean; from?: Bundle } = {}) =>
    forgeReceipt(options.from ?? fixture, forger, trusted, (s, b) => {
      change(s, b);
      if (options.root) s.predicate.stepsRoot = stepsRootOf(s.predicate.steps);
    });

  describe('what an honest execution gives', () => {
    it('the receipt lists the replicas of the final attempt, on distinct workers, the step being its lowest agreeing replica', () => {
      const s = receiptOf(fixture);
      const step = vote(s);
      const replicas = replicasOf(s);
      expect(step.redundancy?.quorum).toBe(2);
      // The engine cancels the third replica once two agree, unless it reported first.
      expect(replicas.length).toBeGreaterThanOrEqual(2);
      expect(replicas.length).toBeLessThanOrEqual(3);
      expect(replicas.map((r) => r.replica)).toEqual([...replicas.map((r) => r.replica)].sort((a, b) => a - b));
      expect(new Set(replicas.map((r) => r.workerKeyId)).size).toBe(replicas.length);
      expect(new Set(replicas.map((r) => r.outputDigest))).toEqual(new Set([step.outputDigest]));
      const primary = replicas[0]!;
      expect({
        attestationDigest: step.attestationDigest,
        jobId: step.jobId,
        workerKeyId: step.workerKeyId,
        outputDigest: step.outputDigest,
      }).toEqual({
        attestationDigest: primary.attestationDigest,
        jobId: primary.jobId,
        workerKeyId: primary.workerKeyId,
        outputDigest: primary.outputDigest,
      });
      expect(stepOf(s, 'after').redundancy).toBeUndefined();
      expect('redundancy' in stepOf(s, 'after')).toBe(false);
    });

    it('stepsRoot and the bundle follow the leaf order: each replica of vote, then after; every replica key is in the bundle', () => {
      const s = receiptOf(fixture);
      const leaves = stepLeaves(s.predicate.steps);
      expect(leaves.map((l) => [l.stepId, l.replica])).toEqual([
        ...replicasOf(s).map((r) => ['vote', r.replica]),
        ['after', null],
      ]);
      expect(s.predicate.stepsRoot).toBe(stepsRootOf(s.predicate.steps));
      expect(fixture.attestations.map(attestationDigestOf)).toEqual(leaves.map((l) => l.attestationDigest));
      fixture.attestations.forEach((a, i) => {
        const p = attestationOf(a).predicate;
        expect([p.stepId, p.attempt]).toEqual([leaves[i]!.stepId, stepOf(s, leaves[i]!.stepId).attempt]);
      });
      const workerKeys = fixture.keys.filter((k) => k.role === 'worker').map((k) => k.keyid);
      for (const r of replicasOf(s)) expect(workerKeys).toContain(r.workerKeyId);
      expect(fixture.data?.steps.vote?.output).toEqual({ x: 'hello' });
    });

    it('verifies at basic and full, with a check per replica, the primary, and the quorum', async () => {
      const replicas = replicasOf(receiptOf(fixture));
      expectVerified(await verify(fixture, [trusted], 'basic'));
      const full = await verify(fixture, [trusted], 'full');
      expectVerified(full);
      expectPassed(full, [
        'attestation.vote',
        'redundancy.primary.vote',
        'redundancy.vote',
        ...replicas.map((r) => `redundancy.replica.vote.${r.replica}`),
      ]);
      const n = replicas.length;
      expect(full.checks.find((c) => c.name === 'redundancy.vote')?.message).toBe(
        `${n} of ${n} replicas: ${n} distinct principals agree; quorum 2`,
      );
      expect(full.checks.some((c) => c.name === 'redundancy.after')).toBe(false);
    });

    it("an outvoted replica is listed and committed to; the step is the agreeing replicas' and verifies at full", async () => {
      const s = receiptOf(dissent);
      const replicas = replicasOf(s);
      expect(replicas).toHaveLength(3);
      const agreeing = replicas.filter((r) => r.outputDigest === vote(s).outputDigest);
      expect(agreeing).toHaveLength(2);
      expect(vote(s).attestationDigest).toBe(agreeing[0]!.attestationDigest);
      expect(dissent.attestations).toHaveLength(4);
      const full = await verify(dissent, [trusted], 'full');
      expectVerified(full);
      expect(full.checks.find((c) => c.name === 'redundancy.vote')?.message).toBe(
        '2 of 3 replicas: 2 distinct principals agree; quorum 2',
      );
    });

    it('replicas that cannot agree fail the step (redundancy_mismatch), and that receipt still commits to each and verifies', async () => {
      const s = receiptOf(split);
      expect(s.predicate.status).toBe('failed');
      expect(s.predicate.error?.code).toBe('redundancy_mismatch');
      expect(vote(s)).toMatchObject({ status: 'failed', attestationDigest: null, outputDigest: null });
      expect(replicasOf(s)).toHaveLength(3);
      expect(new Set(replicasOf(s).map((r) => r.outputDigest)).size).toBe(3);
      expect(split.attestations.map(attestationDigestOf)).toEqual(replicasOf(s).map((r) => r.attestationDigest));
      expectVerified(await verify(split, [trusted], 'basic'));
      const full = await verify(split, [trusted], 'full');
      expectVerified(full);
      expect(full.checks.find((c) => c.name === 'redundancy.vote')?.message).toBe(
        'failed with 3 of 3 replicas reported',
      );
    });

    it('control: re-signing an unchanged receipt verifies at full (so each failure below is the change)', async () => {
      const { bundle, trusted: keys } = forge(() => undefined);
      expectVerified(await verify(bundle, keys, 'full'));
    });
  });

  describe('a replica changed in the receipt (re-signed by a trusted key)', () => {
    it("a non-primary replica's outputDigest → redundancy.replica.<id>.<n>", async () => {
      const last = replicasOf(receiptOf(fixture)).at(-1)!;
      const { bundle, trusted: keys } = forge(
        (s) => void (replicasOf(s).at(-1)!.outputDigest = flipHex(last.outputDigest)),
      );
      const report = await verify(bundle, keys);
      expectRejected(report, {
        [`redundancy.replica.vote.${last.replica}`]: /outputDigest is "[0-9a-f]{64}", expected/,
      });
      expect(failedNames(report)).toEqual([`redundancy.replica.vote.${last.replica}`]);
    });

    it("the primary replica's outputDigest → redundancy.replica.<id>.<n> and redundancy.primary.<id>", async () => {
      const first = replicasOf(receiptOf(fixture))[0]!;
      const { bundle, trusted: keys } = forge(
        (s) => void (replicasOf(s)[0]!.outputDigest = flipHex(first.outputDigest)),
      );
      expectRejected(await verify(bundle, keys), {
        [`redundancy.replica.vote.${first.replica}`]: /outputDigest/,
        'redundancy.primary.vote': /the step's output digest is/,
      });
    });

    it("a replica's attestationDigest → attestations, redundancy.replica.<id>.<n> and steps.root", async () => {
      const last = replicasOf(receiptOf(fixture)).at(-1)!;
      const { bundle, trusted: keys } = forge(
        (s) => void (replicasOf(s).at(-1)!.attestationDigest = flipHex(last.attestationDigest)),
      );
      expectRejected(await verify(bundle, keys), {
        attestations: /in its order/,
        [`redundancy.replica.vote.${last.replica}`]: /no attestation with digest/,
        'steps.root': /attestation digests give/,
      });
    });

    it("a replica's attestationDigest with the root recomputed → attestations and redundancy.replica.<id>.<n>", async () => {
      const last = replicasOf(receiptOf(fixture)).at(-1)!;
      const { bundle, trusted: keys } = forge(
        (s) => void (replicasOf(s).at(-1)!.attestationDigest = flipHex(last.attestationDigest)),
        { root: true },
      );
      const report = await verify(bundle, keys);
      expectRejected(report, {
        attestations: null,
        [`redundancy.replica.vote.${last.replica}`]: /no attestation with digest/,
      });
      expectPassed(report, ['steps.root']);
    });

    it("the primary's attestationDigest in the replica list (and the step's, root recomputed) → redundancy.replica, attestation.<id>", async () => {
      const first = replicasOf(receiptOf(fixture))[0]!;
      const { bundle, trusted: keys } = forge(
        (s) => {
          replicasOf(s)[0]!.attestationDigest = flipHex(first.attestationDigest);
          vote(s).attestationDigest = replicasOf(s)[0]!.attestationDigest;
        },
        { root: true },
      );
      const report = await verify(bundle, keys);
      expectRejected(report, {
        [`redundancy.replica.vote.${first.replica}`]: /no attestation with digest/,
        'attestation.vote': /no attestation with digest/,
      });
      expectPassed(report, ['redundancy.primary.vote']);
    });

    it("a replica's workerKeyId → a key the bundle lacks: redundancy.replica.<id>.<n> (and keys: its real key is unused)", async () => {
      const last = replicasOf(receiptOf(fixture)).at(-1)!;
      const other = LocalSigner.generate();
      const { bundle, trusted: keys } = forge((s) => void (replicasOf(s).at(-1)!.workerKeyId = other.keyId));
      expectRejected(await verify(bundle, keys), {
        [`redundancy.replica.vote.${last.replica}`]: /the bundle has no key .* for the worker that ran replica/,
      });
    });

    it("a replica's workerKeyId → another replica's key (in the bundle): redundancy.replica.<id>.<n>", async () => {
      const replicas = replicasOf(receiptOf(fixture));
      const last = replicas.at(-1)!;
      const { bundle, trusted: keys } = forge((s, b) => {
        replicasOf(s).at(-1)!.workerKeyId = replicas[0]!.workerKeyId;
        pruneKeys(s, b);
      });
      const report = await verify(bundle, keys);
      expectRejected(report, {
        [`redundancy.replica.vote.${last.replica}`]: new RegExp(
          `signed by keyid ${last.workerKeyId}, expected ${replicas[0]!.workerKeyId}`,
        ),
      });
      expectPassed(report, ['keys', 'attestations', 'steps.root']);
    });

    it("a replica's jobId → redundancy.replica.<id>.<n>", async () => {
      const last = replicasOf(receiptOf(fixture)).at(-1)!;
      const { bundle, trusted: keys } = forge((s) => void (replicasOf(s).at(-1)!.jobId = 'another-job'));
      const report = await verify(bundle, keys);
      expectRejected(report, {
        [`redundancy.replica.vote.${last.replica}`]: /jobId is "[^"]+", expected "another-job"/,
      });
      expect(failedNames(report)).toEqual([`redundancy.replica.vote.${last.replica}`]);
    });

    it("a replica's jobId set to another replica's → redundancy.replica.<id>.<n> and receipt.steps (one job twice)", async () => {
      const replicas = replicasOf(receiptOf(fixture));
      const { bundle, trusted: keys } = forge((s) => void (replicasOf(s).at(-1)!.jobId = replicas[0]!.jobId));
      expectRejected(await verify(bundle, keys), {
        [`redundancy.replica.vote.${replicas.at(-1)!.replica}`]: /jobId/,
        'receipt.steps': /repeats job/,
      });
    });

    it('the step attempt changed → every replica and the step attestation name another attempt', async () => {
      const replicas = replicasOf(receiptOf(fixture));
      const { bundle, trusted: keys } = forge((s) => void (vote(s).attempt = 2));
      expectRejected(await verify(bundle, keys), {
        'attestation.vote': /attempt/,
        ...Object.fromEntries(
          replicas.map((r) => [`redundancy.replica.vote.${r.replica}`, /attempt is 1, expected 2/]),
        ),
      });
    });

    it("the step's attestation is none of its replicas' (leaves unchanged) → redundancy.primary.<id>, attestation.<id>", async () => {
      const { bundle, trusted: keys } = forge(
        (s) => void (vote(s).attestationDigest = flipHex(vote(s).attestationDigest!)),
      );
      const report = await verify(bundle, keys);
      expectRejected(report, {
        'redundancy.primary.vote': /is not one of its \d replicas'/,
        'attestation.vote': /no attestation with digest/,
      });
      expectPassed(report, ['attestations', 'steps.root']);
    });

    it("the step's job and worker key point to another replica than its attestation → redundancy.primary.<id>", async () => {
      const replicas = replicasOf(receiptOf(fixture));
      const { bundle, trusted: keys } = forge((s) =>
        Object.assign(vote(s), { jobId: replicas[1]!.jobId, workerKeyId: replicas[1]!.workerKeyId }),
      );
      expectRejected(await verify(bundle, keys), {
        'redundancy.primary.vote': /the step's job is .*; the step's worker key is/,
        'attestation.vote': /jobId/,
      });
    });

    it('replicas listed out of replica order (bundle and root to match) → receipt.steps', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          const replicas = replicasOf(s);
          const [i, j] = [
            envelopeIndex(b, replicas[0]!.attestationDigest),
            envelopeIndex(b, replicas[1]!.attestationDigest),
          ];
          [replicas[0], replicas[1]] = [replicas[1]!, replicas[0]!];
          [b.attestations[i], b.attestations[j]] = [b.attestations[j]!, b.attestations[i]!];
        },
        { root: true },
      );
      const report = await verify(bundle, keys);
      expectRejected(report, { 'receipt.steps': /not in replica order/ });
      expectPassed(report, ['attestations', 'steps.root']);
    });
  });

  describe('the replica attestations in the bundle', () => {
    it('one removed → attestations, redundancy.replica.<id>.<n>', async () => {
      const last = replicasOf(receiptOf(fixture)).at(-1)!;
      const bundle = clone(fixture);
      bundle.attestations.splice(envelopeIndex(bundle, last.attestationDigest), 1);
      expectRejected(await verify(bundle, [trusted]), {
        attestations: /are not those the receipt commits to/,
        [`redundancy.replica.vote.${last.replica}`]: /no attestation with digest/,
      });
    });

    it('two reordered → attestations', async () => {
      const bundle = clone(fixture);
      [bundle.attestations[0], bundle.attestations[1]] = [bundle.attestations[1]!, bundle.attestations[0]!];
      const report = await verify(bundle, [trusted]);
      expectRejected(report, { attestations: /in its order/ });
      expect(failedNames(report)).toEqual(['attestations']);
    });

    it('a replica attestation moved after the next step → attestations', async () => {
      const bundle = clone(fixture);
      bundle.attestations.push(bundle.attestations.shift()!);
      expectRejected(await verify(bundle, [trusted]), { attestations: /in its order/ });
    });

    it("a replica's worker key removed → keys, redundancy.replica.<id>.<n>", async () => {
      const last = replicasOf(receiptOf(fixture)).at(-1)!;
      const bundle = clone(fixture);
      bundle.keys = bundle.keys.filter((k) => k.keyid !== last.workerKeyId);
      expectRejected(await verify(bundle, [trusted]), {
        keys: /which the receipt uses, is not in the bundle/,
        [`redundancy.replica.vote.${last.replica}`]: /has no key/,
      });
    });
  });

  describe('the principals the coordinator states', () => {
    it('each replica names the principal its worker was registered under, as the coordinator recorded it', () => {
      const replicas = replicasOf(receiptOf(dissent));
      expect(replicas.map((r) => r.principal).sort()).toEqual([
        'operator-dissenter',
        'operator-honest-a',
        'operator-honest-b',
      ]);
    });

    it("a replica's principal changed without re-signing → the receipt signature fails, and nothing past it is checked", async () => {
      const bundle = clone(fixture);
      const statement = receiptOf(bundle);
      replicasOf(statement)[0]!.principal = 'operator-someone-else';
      bundle.receipt.payload = encode(statement);
      expectStoppedAtSignature(await verify(bundle, [trusted], 'full'), /does not verify/);
    });

    it('two agreeing replicas stated as one principal (every key and signature valid) do not make quorum 2: basic passes, full → redundancy.<id>', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          const replicas = replicasOf(s);
          // Keep two agreeing replicas, both from one principal.
          for (const dropped of replicas.splice(2))
            b.attestations.splice(envelopeIndex(b, dropped.attestationDigest), 1);
          for (const r of replicas) r.principal = 'operator-sybil';
          // A consistent forgery: the step's principal is its primary replica's (the costs check compares them).
          vote(s).principal = 'operator-sybil';
          pruneKeys(s, b);
        },
        { root: true },
      );
      expect(new Set(replicasOf(receiptOf(bundle)).map((r) => r.workerKeyId)).size).toBe(2);
      expectVerified(await verify(bundle, keys, 'basic'));
      const report = await verify(bundle, keys, 'full');
      expectRejected(report, { 'redundancy.vote': /only 2 of 2 replicas: 1 distinct principal agree; quorum 2/ });
      expect(failedNames(report)).toEqual(['redundancy.vote']);
    });

    it('control: the same two replicas stated as two principals verify at full', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          const replicas = replicasOf(s);
          for (const dropped of replicas.splice(2))
            b.attestations.splice(envelopeIndex(b, dropped.attestationDigest), 1);
          pruneKeys(s, b);
        },
        { root: true },
      );
      const full = await verify(bundle, keys, 'full');
      expectVerified(full);
      expect(full.checks.find((c) => c.name === 'redundancy.vote')?.message).toBe(
        '2 of 2 replicas: 2 distinct principals agree; quorum 2',
      );
    });
  });

  describe('the quorum (full)', () => {
    it('the outvoted replica dropped with its attestation, root recomputed, the quorum still met → verifies (at most k replicas are listed)', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          const replicas = replicasOf(s);
          const [dropped] = replicas.splice(
            replicas.findIndex((r) => r.outputDigest !== vote(s).outputDigest),
            1,
          );
          b.attestations.splice(envelopeIndex(b, dropped!.attestationDigest), 1);
          pruneKeys(s, b);
        },
        { root: true, from: dissent },
      );
      expectVerified(await verify(bundle, keys, 'full'));
    });

    it('replicas dropped until fewer than the quorum agree: basic passes, full → redundancy.<id>', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          const replicas = replicasOf(s);
          for (const dropped of replicas.splice(1))
            b.attestations.splice(envelopeIndex(b, dropped.attestationDigest), 1);
          pruneKeys(s, b);
        },
        { root: true },
      );
      expectVerified(await verify(bundle, keys, 'basic'));
      const report = await verify(bundle, keys, 'full');
      expectRejected(report, { 'redundancy.vote': /only 1 of 1 replicas: 1 distinct principal agree; quorum 2/ });
      expect(failedNames(report)).toEqual(['redundancy.vote']);
    });

    it('the agreeing replica dropped from the outvoted execution: basic passes, full → redundancy.<id> (1 of 2 agree)', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          const replicas = replicasOf(s);
          const index = replicas.findIndex(
            (r) => r.outputDigest === vote(s).outputDigest && r.attestationDigest !== vote(s).attestationDigest,
          );
          const [dropped] = replicas.splice(index, 1);
          b.attestations.splice(envelopeIndex(b, dropped!.attestationDigest), 1);
          pruneKeys(s, b);
        },
        { root: true, from: dissent },
      );
      expectVerified(await verify(bundle, keys, 'basic'));
      expectRejected(await verify(bundle, keys, 'full'), {
        'redundancy.vote': /only 1 of 2 replicas: 1 distinct principal agree; quorum 2/,
      });
    });

    it("every replica's workerKeyId set to the first's (one worker counted thrice) → the replicas (basic) and redundancy.<id> (full)", async () => {
      const replicas = replicasOf(receiptOf(fixture));
      const { bundle, trusted: keys } = forge((s, b) => {
        for (const r of replicasOf(s)) r.workerKeyId = replicas[0]!.workerKeyId;
        pruneKeys(s, b);
      });
      const n = replicas.length;
      expectRejected(await verify(bundle, keys, 'full'), {
        [`redundancy.replica.vote.${replicas[1]!.replica}`]: /signed by keyid/,
        'redundancy.vote': new RegExp(
          `only ${n} of ${n} replicas: ${n} distinct principals on 1 distinct worker key agree; quorum 2`,
        ),
      });
    });

    it('one worker key signing every replica (a colluding worker, every signature valid): basic passes, full → redundancy.<id>', async () => {
      const sybil = LocalSigner.generate();
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          for (const r of replicasOf(s)) {
            const index = envelopeIndex(b, r.attestationDigest);
            const statement = attestationOf(b.attestations[index]!);
            statement.predicate.workerKeyId = sybil.keyId;
            const envelope = resign(b.attestations[index]!.payloadType, statement, sybil);
            b.attestations[index] = envelope;
            Object.assign(r, { workerKeyId: sybil.keyId, attestationDigest: attestationDigestOf(envelope) });
          }
          Object.assign(vote(s), { workerKeyId: sybil.keyId, attestationDigest: replicasOf(s)[0]!.attestationDigest });
          pruneKeys(s, b);
          b.keys.push({ keyid: sybil.keyId, role: 'worker', publicKeyPem: sybil.publicKeyPem });
        },
        { root: true },
      );
      const n = replicasOf(receiptOf(fixture)).length;
      expectVerified(await verify(bundle, keys, 'basic'));
      const report = await verify(bundle, keys, 'full');
      expectRejected(report, {
        'redundancy.vote': new RegExp(
          `only ${n} of ${n} replicas: ${n} distinct principals on 1 distinct worker key agree; quorum 2`,
        ),
      });
      expect(failedNames(report)).toEqual(['redundancy.vote']);
    });

    it('the quorum in the receipt lowered to 1 → redundancy.<id>', async () => {
      const { bundle, trusted: keys } = forge((s) => void (vote(s).redundancy!.quorum = 1));
      expectVerified(await verify(bundle, keys, 'basic'));
      expectRejected(await verify(bundle, keys, 'full'), {
        'redundancy.vote': /the receipt says quorum 1, the workflow 2/,
      });
    });

    it("a replica renumbered outside the workflow's replicas → redundancy.<id>", async () => {
      const { bundle, trusted: keys } = forge((s) => void (replicasOf(s).at(-1)!.replica = 7));
      expectVerified(await verify(bundle, keys, 'basic'));
      expectRejected(await verify(bundle, keys, 'full'), { 'redundancy.vote': /replica numbers 7 are out of range/ });
    });

    it('more replicas listed than the workflow runs → redundancy.<id>', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          // The outvoted execution lists all 3; a fourth, copied from the after step, with its attestation.
          const after = stepOf(s, 'after');
          replicasOf(s).push({
            replica: 3,
            jobId: after.jobId!,
            workerKeyId: after.workerKeyId!,
            principal: 'operator-extra',
            outputDigest: after.outputDigest!,
            attestationDigest: after.attestationDigest!,
          });
          b.attestations.splice(3, 0, clone(b.attestations[3]!));
        },
        { root: true, from: dissent },
      );
      expectRejected(await verify(bundle, keys, 'full'), {
        'redundancy.vote': /lists 4 replicas, the workflow runs 3/,
      });
    });
  });

  describe('the field itself (full)', () => {
    it('removed from the redundant step (nothing else changed) → attestations, steps.root (basic) and redundancy.<id> (full)', async () => {
      const { bundle, trusted: keys } = forge((s) => void delete vote(s).redundancy);
      expectRejected(await verify(bundle, keys, 'basic'), { attestations: null, 'steps.root': null });
      expectRejected(await verify(bundle, keys, 'full'), {
        'redundancy.vote': /asks for 2 of 3 replicas to agree, but the receipt lists none/,
      });
    });

    it('removed, with the bundle, keys and root made to match a step that ran once: basic passes, full → redundancy.<id>', async () => {
      const { bundle, trusted: keys } = forge(
        (s, b) => {
          const keep = vote(s).attestationDigest!;
          for (const r of replicasOf(s))
            if (r.attestationDigest !== keep) b.attestations.splice(envelopeIndex(b, r.attestationDigest), 1);
          delete vote(s).redundancy;
          pruneKeys(s, b);
        },
        { root: true },
      );
      expectVerified(await verify(bundle, keys, 'basic'));
      const report = await verify(bundle, keys, 'full');
      expectRejected(report, { 'redundancy.vote': /receipt lists none/ });
      expect(failedNames(report)).toEqual(['redundancy.vote']);
    });

    it('added to a step the workflow runs once (one replica, its own attestation: leaves unchanged) → basic passes, full → redundancy.<id>', async () => {
      const { bundle, trusted: keys } = forge((s) => {
        const after = stepOf(s, 'after');
        after.redundancy = {
          quorum: 1,
          replicas: [
            {
              replica: 0,
              jobId: after.jobId!,
              workerKeyId: after.workerKeyId!,
              principal: after.principal!,
              outputDigest: after.outputDigest!,
              attestationDigest: after.attestationDigest!,
              cost: after.cost!,
            },
          ],
        };
      });
      const basic = await verify(bundle, keys, 'basic');
      expectVerified(basic);
      expectPassed(basic, ['redundancy.replica.after.0', 'redundancy.primary.after', 'steps.root']);
      const report = await verify(bundle, keys, 'full');
      expectRejected(report, {
        'redundancy.after': /the workflow runs step after once, but the receipt lists 1 replicas/,
      });
      expect(failedNames(report)).toEqual(['redundancy.after']);
    });
  });
});
