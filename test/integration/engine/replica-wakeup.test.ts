import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VerityNode } from '../../../src/node/verity-node.js';
import { backendAvailable } from '../../support/backends.js';
import { echo, startTestNode } from '../../support/node.js';

/**
 * Two replicas on one PostgreSQL database: one starts executions and has no workers, the other has idle
 * workers that poll only every two minutes. The jobs the first queues reach the second's workers through
 * NOTIFY at once; without it every execution here would wait for a poll.
 */
describe.skipIf(!(await backendAvailable('postgres')))('replicas wake each other (postgres)', () => {
  it("runs jobs queued on one replica on another's idle workers without waiting for their poll", async () => {
    const front = await startTestNode('postgres', 'replica-wakeup', { workers: 0 });
    const dataDir = mkdtempSync(join(tmpdir(), 'verity-replica-wakeup-'));
    const back = await VerityNode.open({
      dataDir,
      databaseUrl: front.backend.databaseUrl,
      workers: 2,
      pollMs: 120_000,
    });
    await back.start();
    try {
      await new Promise((r) => setTimeout(r, 300)); // the back's LISTEN is in place
      const started = Date.now();
      const flow = { id: 'woken', steps: [echo('a'), echo('b', { depends_on: ['a'] })] };
      const runs = await Promise.all([1, 2, 3].map((n) => front.start(flow, { n })));
      const ended = await Promise.all(runs.map((r) => front.node.waitFor(r.id, 50)));
      expect(ended.map((e) => e.status)).toEqual(['completed', 'completed', 'completed']);
      // A poll would have taken two minutes; a generous bound still tells the two apart on a busy machine.
      expect(Date.now() - started).toBeLessThan(30_000);
      const backWorkers = new Set(
        (await back.store.read.listWorkers()).filter((w) => w.status === 'active').map((w) => w.id),
      );
      const results = await front.node.store.read.getStepResults(runs[0]!.id);
      expect(results.every((r) => backWorkers.has(r.workerId))).toBe(true);
    } finally {
      await back.stop(1000);
      await front.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
