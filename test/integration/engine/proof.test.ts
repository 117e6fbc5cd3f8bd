import { describe, expect, it } from 'vitest';
import { verifyBundle } from '../../../src/attest/verify/verify-bundle.js';
import { buildBundle } from '../../../src/receipts/bundle.js';
import { echo, useTestNode } from '../../support/node.js';
import { sandbox } from '../../support/evaluator.js';

describe('attestation policy', () => {
  describe('a node that attests (the default)', () => {
    const t = useTestNode('sqlite', 'attested');

    it('gives workflows that do not ask for verification a receipt all the same', async () => {
      const view = await t.run(
        {
          id: 'unverified',
          requires_verification: false,
          steps: [echo('a'), echo('b', { requires_proof: true, depends_on: ['a'] })],
        },
        { x: 1 },
      );
      expect(view.status).toBe('completed');
      const bundle = await buildBundle(t.node.store, t.node.log, view.executionId, { includeData: true });
      const report = await verifyBundle(JSON.parse(JSON.stringify(bundle)), {
        trustedKeys: [t.node.coordinatorSigner.publicKeyPem],
        level: 'full',
        evaluator: sandbox(),
      });
      expect(report.ok).toBe(true);
    });
  });

  describe('a node that does not attest (benchmarks only)', () => {
    const t = useTestNode('sqlite', 'unattested', { attest: false });

    it('runs steps without attestations and issues no receipt', async () => {
      const view = await t.run({ id: 'plain', steps: [echo('a')] }, { x: 1 });
      expect(view.status).toBe('completed');
      const [result] = await t.node.store.read.getStepResults(view.executionId);
      expect(result!.attestation).toBeUndefined();
      expect(await t.node.store.read.listReceipts(view.executionId)).toEqual([]);
    });

    it('still fails a requires_proof step that comes back without an attestation', async () => {
      const view = await t.run(
        { id: 'proof', steps: [echo('a'), echo('b', { requires_proof: true, depends_on: ['a'] })] },
        { x: 1 },
      );
      expect(view.status).toBe('failed');
      expect(view.error).toMatchObject({ code: 'attestation_required', stepId: 'b' });
      expect(view.steps.map((s) => s.status)).toEqual(['completed', 'failed']);
    });
  });
});
