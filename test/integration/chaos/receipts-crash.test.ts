import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fromHex } from '../../../src/attest/bytes.js';
import { verifyConsistency } from '../../../src/attest/merkle.js';
import { VerityNode } from '../../../src/node/verity-node.js';
import { BACKENDS, backendAvailable, createBackend } from '../../support/backends.js';
import type { BackendFixture } from '../../support/backends.js';
import { runCli, spawnCli } from '../../support/cli.js';

const quick = 'id: quick\nsteps:\n  - { id: a, step_type: data_processing, expression: "1 + 1" }\n';
const slow = [
  'id: slow',
  'steps:',
  ...['s0', 's1', 's2', 's3'].map(
    (id, i) =>
      `  - { id: ${id}, step_type: inference, model_requirements: { name: builtin/sleep }, input_mappings: { ms: "400", n: "${i}" }${i > 0 ? `, depends_on: [s${i - 1}]` : ''} }`,
  ),
].join('\n');

/** Receipts and the transparency log survive kill -9: what was logged is never changed, only extended. */
for (const kind of BACKENDS) {
  describe.skipIf(!(await backendAvailable(kind)))(`receipts across a crash (${kind})`, () => {
    let backend: BackendFixture;
    afterEach(() => backend.cleanup());

    it('keeps every receipt and log node byte for byte, and the log after restart is consistent with the log before', async () => {
      backend = await createBackend(kind, 'rcrash');
      const quickFile = join(backend.dataDir, 'quick.yaml');
      const slowFile = join(backend.dataDir, 'slow.yaml');
      writeFileSync(quickFile, quick);
      writeFileSync(slowFile, slow);
      const first = JSON.parse((await runCli(['run', quickFile, '--json'], backend.env)).stdout) as {
        executionId: string;
      };

      const look = async () => {
        const node = await VerityNode.open({ dataDir: backend.dataDir, databaseUrl: backend.databaseUrl, workers: 0 });
        try {
          const receipts = await node.store.read.listReceipts(first.executionId);
          const size = await node.log.size();
          return {
            receipts,
            size,
            root: (await node.log.root(1)).root,
            origin: node.log.origin,
            keyId: node.coordinatorSigner.keyId,
          };
        } finally {
          await node.stop();
        }
      };
      const before = await look();
      expect(before.size).toBe(1);

      const victim = spawnCli(['run', slowFile, '--json'], backend.env);
      const node = await VerityNode.open({ dataDir: backend.dataDir, databaseUrl: backend.databaseUrl, workers: 0 });
      try {
        for (let i = 0; i < 400; i++) {
          const running = (await node.store.read.listExecutions({ status: ['running'] }))[0];
          if (running && (await node.store.read.getStepResults(running.id)).length >= 2) break;
          await new Promise((r) => setTimeout(r, 25));
        }
      } finally {
        await node.stop();
      }
      victim.kill('SIGKILL');
      expect((await victim.output).signal).toBe('SIGKILL');

      const resumed = await runCli(['resume', '--json'], backend.env);
      expect(resumed.code).toBe(0);
      const [second] = JSON.parse(resumed.stdout) as { executionId: string; status: string }[];
      expect(second!.status).toBe('completed');

      const after = await look();
      // Nothing logged before the crash changed: the same receipt, the same tree of size 1, the same log and key.
      expect(after.receipts).toEqual(before.receipts);
      expect(after.root).toEqual(before.root);
      expect(after.origin).toBe(before.origin);
      expect(after.keyId).toBe(before.keyId);
      expect(after.size).toBe(2);

      // The log grew consistently: a consistency proof from size 1 to 2 checks out.
      const reopened = await VerityNode.open({
        dataDir: backend.dataDir,
        databaseUrl: backend.databaseUrl,
        workers: 0,
      });
      try {
        const proof = await reopened.log.consistencyProof(1, 2);
        const root2 = (await reopened.log.root(2)).root;
        expect(verifyConsistency(1, 2, proof.proof.map(fromHex), before.root, root2)).toBe(true);
      } finally {
        await reopened.stop();
      }

      // Both executions' bundles verify, fully, with the coordinator key alone.
      const keyFile = join(backend.dataDir, 'coordinator.pem');
      writeFileSync(keyFile, (await runCli(['keys', 'show'], backend.env)).stdout);
      for (const executionId of [first.executionId, second!.executionId]) {
        const bundleFile = join(backend.dataDir, `${executionId}.json`);
        expect((await runCli(['receipt', executionId, '--include-data', '-o', bundleFile], backend.env)).code).toBe(0);
        const verified = await runCli(['verify', bundleFile, '--trust', keyFile, '--level', 'full'], backend.env);
        expect(verified.stdout).toMatch(/verified at level full/);
        expect(verified.code).toBe(0);
      }
    });
  });
}
