import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bundle } from '../../../src/attest/bundle.js';
import { startTestNode } from '../../support/node.js';
import type { TestNode } from '../../support/node.js';
import { bundleOf, clone, expectPassed, expectRejected, expectVerified, runExample, verify } from './support.js';

interface StepDefinition {
  id: string;
  expression?: string;
  input_mappings?: Record<string, string>;
}

type Data = NonNullable<Bundle['data']>;

/**
 * The data section (level full), changed without touching a signature: every change must be caught by
 * the digest the receipt or an attestation signed, or by replaying the workflow on the data.
 */
describe('tampering with the data (level full)', () => {
  let t: TestNode;
  let trusted: string;
  let linear: Bundle;
  let conditional: Bundle;

  beforeAll(async () => {
    t = await startTestNode('sqlite', 'receipts-tamper-data');
    trusted = t.node.coordinatorSigner.publicKeyPem;
    linear = await bundleOf(t, await runExample(t, 'linear'));
    conditional = await bundleOf(t, await runExample(t, 'conditional'));
  });
  afterAll(() => t?.close());

  const tampered = (change: (data: Data, steps: StepDefinition[]) => void, from = linear): Bundle => {
    const bundle = clone(from);
    const data = bundle.data!;
    change(data, data.workflow.steps as StepDefinition[]);
    return bundle;
  };
  const full = (bundle: Bundle) => verify(bundle, [trusted], 'full');
  const stepData = (data: Data, id: string) => {
    const step = data.steps[id];
    if (!step) throw new Error(`no data for step ${id}`);
    return step;
  };

  it('the untampered fixtures verify at full, and every tamper below still verifies at basic', async () => {
    expectVerified(await full(linear));
    expectVerified(await full(conditional));
    expectVerified(
      await verify(
        tampered((d) => (d.inputs = { text: 'something else' })),
        [trusted],
        'basic',
      ),
    );
  });

  it("the workflow definition: a step's expression → data.workflow", async () => {
    const report = await full(tampered((_, steps) => (steps[0]!.expression = '$uppercase(text)')));
    expectRejected(report, { 'data.workflow': /the definition hashes to [0-9a-f]{64}, the receipt names/ });
  });

  it("the workflow definition: a step's input mapping → data.workflow", async () => {
    expectRejected(await full(tampered((_, steps) => (steps[1]!.input_mappings = { text: 'inputs.text' }))), {
      'data.workflow': null,
    });
  });

  it('the workflow definition: the outputs mapping → data.workflow', async () => {
    const report = await full(
      tampered((d) => {
        const outputs = d.workflow.outputs as Record<string, string>;
        expect(outputs.words).toBe('steps.count.output.words');
        outputs.words = 'steps.count.output.distinct';
      }),
    );
    expectRejected(report, { 'data.workflow': null });
  });

  it('the workflow definition: a step removed, or the id changed → data.workflow', async () => {
    expectRejected(
      await full(tampered((d) => (d.workflow.steps = (d.workflow.steps as StepDefinition[]).slice(0, 4)))),
      { 'data.workflow': null },
    );
    expectRejected(await full(tampered((d) => (d.workflow.id = 'text-reporT'))), { 'data.workflow': null });
  });

  it("the inputs → data.inputs, and the first step's lineage", async () => {
    const report = await full(tampered((d) => ((d.inputs as { text: string }).text += '!')));
    expectRejected(report, {
      'data.inputs': /the inputs hash to [0-9a-f]{64}, the receipt says/,
      'lineage.normalize': /attested input digest/,
    });
    expectPassed(report, ['data.workflow', 'data.step.normalize']);
  });

  it("a step's input → data.step.<id>", async () => {
    const report = await full(tampered((d) => ((stepData(d, 'tokenize').input as { text: string }).text += ' more')));
    expectRejected(report, { 'data.step.tokenize': /its input hashes to [0-9a-f]{64}, attested/ });
    expectPassed(report, ['lineage.tokenize', 'data.step.count']);
  });

  it("a step's output (digests left alone) → data.step.<id> and the downstream lineage", async () => {
    const report = await full(tampered((d) => (stepData(d, 'normalize').output = 'Verity runs nothing.')));
    expectRejected(report, {
      'data.step.normalize': /its output hashes to [0-9a-f]{64}, attested/,
      'lineage.tokenize': /attested input digest is/,
    });
    expect(report.checks.find((c) => c.name === 'data.step.normalize')!.message).not.toMatch(/its input/);
  });

  it("the last step's output → data.step.<id> and data.result", async () => {
    const report = await full(tampered((d) => (stepData(d, 'report').output = 'Untitled: 0 words')));
    expectRejected(report, { 'data.step.report': /its output hashes/, 'data.result': /the receipt names/ });
  });

  it("a step's output and the downstream input changed consistently → data.step of both, and lineage", async () => {
    const report = await full(
      tampered((d) => {
        stepData(d, 'normalize').output = 'Verity runs nothing.';
        stepData(d, 'tokenize').input = { text: 'Verity runs nothing.' };
      }),
    );
    expectRejected(report, {
      'data.step.normalize': /its output hashes/,
      'data.step.tokenize': /its input hashes/,
      'lineage.tokenize': /attested input digest/,
    });
  });

  it('the data of a completed step removed → data.step.<id>', async () => {
    const report = await full(tampered((d) => delete d.steps.count));
    expectRejected(report, { 'data.step.count': /no input and output for completed step count/ });
  });

  it('data added for a skipped step → data.steps', async () => {
    const report = await full(
      tampered(
        (d) => (d.steps.fast_approve = { input: { amount: 1250 }, output: 'approved automatically: 1250' }),
        conditional,
      ),
    );
    expectRejected(report, { 'data.steps': /did not complete: fast_approve/ });
  });

  it("a step's output changed in the conditional example → data.step and the condition re-evaluated downstream", async () => {
    const report = await full(tampered((d) => (stepData(d, 'classify').output = 'small'), conditional));
    expectRejected(report, {
      'data.step.classify': /its output hashes/,
      'condition.manual_review': /the step is completed, but its when condition is false/,
      'condition.fast_approve': /the step is skipped, but its when condition is true/,
      'data.result': null,
    });
  });
});
