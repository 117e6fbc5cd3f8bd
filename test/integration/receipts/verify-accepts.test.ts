import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { echo, sleepStep, startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { EXAMPLES, bundleOf, clone, expectRejected, expectVerified, receiptOf, runExample, verify } from './support.js';

/** What verifies: a real bundle of every example, with and without data, and of executions that did not complete. */
describe('verifyBundle accepts real bundles', () => {
  let t: TestNode;
  let trusted: string;
  const bundles = new Map<string, Bundle>();
  let failedRun: Bundle;
  let cancelledRun: Bundle;

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-accepts');
    trusted = t.node.coordinatorSigner.publicKeyPem;
    for (const name of EXAMPLES) bundles.set(name, await bundleOf(t, await runExample(t, name)));

    const failing = await t.run({
      id: 'failing',
      steps: [
        echo('a'),
        echo('b', {
          model_requirements: { name: 'builtin/fail' },
          input_mappings: { retryable: 'false' },
          depends_on: ['a'],
        }),
        echo('c', { depends_on: ['b'] }),
      ],
    });
    expect(failing.status).toBe('failed');
    failedRun = await bundleOf(t, failing.executionId);

    const started = await t.start({
      id: 'cancelling',
      steps: [echo('a'), sleepStep('b', 30_000, { depends_on: ['a'] }), echo('c', { depends_on: ['b'] })],
    });
    for (let i = 0; i < 500 && (await t.view(started.id)).steps.find((s) => s.id === 'b')?.status !== 'running'; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await t.node.engine.cancel(started.id, 'test');
    const cancelled = await t.node.waitFor(started.id);
    expect(cancelled.status).toBe('cancelled');
    cancelledRun = await bundleOf(t, started.id);
  });
  afterAll(() => t?.close());

  const get = (name: string): Bundle => {
    const bundle = bundles.get(name);
    if (!bundle) throw new Error(`no bundle of ${name}`);
    return bundle;
  };

  for (const name of EXAMPLES) {
    it(`the bundle of examples/${name} verifies at levels basic and full`, async () => {
      const bundle = get(name);
      expect(bundle.attestations.length).toBeGreaterThan(0);
      expectVerified(await verify(bundle, [trusted], 'basic'));
      const full = await verify(bundle, [trusted], 'full');
      expectVerified(full);
      // Full really checked the data: one data.step check per completed step.
      const completed = receiptOf(bundle).predicate.steps.filter((s) => s.status === 'completed');
      expect(full.checks.filter((c) => c.name.startsWith('data.step.')).map((c) => c.name)).toEqual(
        completed.map((s) => `data.step.${s.stepId}`),
      );
    });
  }

  it('the conditional example has a skipped step, and its bundle still verifies at full with the condition checked', async () => {
    const bundle = get('conditional');
    expect(receiptOf(bundle).predicate.steps.find((s) => s.stepId === 'fast_approve')?.status).toBe('skipped');
    const report = await verify(bundle, [trusted], 'full');
    expect(report.checks.find((c) => c.name === 'condition.fast_approve')).toMatchObject({ ok: true });
  });

  it('a bundle without data verifies at basic and fails at full with check data', async () => {
    const bundle = clone(get('linear'));
    delete bundle.data;
    expectVerified(await verify(bundle, [trusted], 'basic'));
    expectRejected(await verify(bundle, [trusted], 'full'), { data: /include-data/ });
  });

  it('the bundle built without includeData has no data section and fails at full', async () => {
    const bundle = await bundleOf(t, receiptOf(get('linear')).predicate.executionId, false);
    expect(bundle.data).toBeUndefined();
    expectVerified(await verify(bundle, [trusted], 'basic'));
    expectRejected(await verify(bundle, [trusted], 'full'), { data: null });
  });

  it('without trusted keys the bundle is unusable, at either level', async () => {
    for (const level of ['basic', 'full'] as const) {
      const report = await verify(get('linear'), [], level);
      expect(report.ok).toBe(false);
      expect(report.unusable).toMatch(/no trusted key/);
      expect(report.checks).toEqual([]);
    }
  });

  it('the keys inside the bundle are not trusted on their own word: trusting only a worker key fails', async () => {
    const bundle = get('linear');
    const worker = bundle.keys.find((k) => k.role === 'worker')!;
    expectRejected(await verify(bundle, [worker.publicKeyPem]), {
      'receipt.signature': /not a trusted coordinator key/,
    });
  });

  it('a JSON round trip of the bundle still verifies', async () => {
    const text = JSON.stringify(get('fan-out'));
    expectVerified(await verify(JSON.parse(text) as unknown, [trusted], 'full'));
  });

  it('a failed execution gets a bundle that verifies, with its failed and not-run steps', async () => {
    const { predicate } = receiptOf(failedRun);
    expect(predicate.status).toBe('failed');
    expect(predicate.steps.map((s) => [s.stepId, s.status])).toEqual([
      ['a', 'completed'],
      ['b', 'failed'],
      ['c', 'not_run'],
    ]);
    expect(failedRun.attestations).toHaveLength(1);
    expectVerified(await verify(failedRun, [trusted], 'basic'));
    expectVerified(await verify(failedRun, [trusted], 'full'));
  });

  it('a cancelled execution gets a bundle that verifies, with its cancelled and not-run steps', async () => {
    const { predicate } = receiptOf(cancelledRun);
    expect(predicate.status).toBe('cancelled');
    expect(predicate.steps.map((s) => [s.stepId, s.status])).toEqual([
      ['a', 'completed'],
      ['b', 'cancelled'],
      ['c', 'not_run'],
    ]);
    expectVerified(await verify(cancelledRun, [trusted], 'basic'));
    expectVerified(await verify(cancelledRun, [trusted], 'full'));
  });
});
