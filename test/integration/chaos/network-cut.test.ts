import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveChildren, startServer, startWorker } from '../../../bench/soak/processes.js';
import type { Child } from '../../../bench/soak/processes.js';
import { VerityClient } from '../../../src/sdk/client.js';
import { openStore } from '../../../src/store/open-store.js';
import type { Store } from '../../../src/store/store.js';
import { createNetnsLink, netnsUnavailable } from '../../support/netns.js';
import type { NetnsLink } from '../../support/netns.js';
import { until } from '../../support/chaos.js';

/**
 * A real network cut: a `verity worker` in a network namespace reaches `verity serve` over a veth pair (the
 * only addresses used are the pair's, in 10.213.0.0/16, and loopback). The link is taken down while the
 * worker runs a job: its lease runs out, a worker on the host takes the job as a new attempt and completes
 * the execution, and when the link comes back the cut-off worker's result, sent late, is refused and
 * changes nothing. Needs root for `ip netns`; skipped, with the reason, where that is not permitted.
 */
const unavailable = netnsUnavailable();

describe.skipIf(unavailable !== undefined)(
  `network cut between a worker and its server${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let link: NetnsLink | undefined;
    let store: Store | undefined;
    const dirs: string[] = [];
    const children: Child[] = [];
    afterAll(async () => {
      link?.up();
      await Promise.all(children.map((c) => c.kill9()));
      for (const child of liveChildren) child.kill('SIGKILL');
      await store?.close();
      link?.remove();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it('expires the cut-off worker’s lease, lets another finish the job, and refuses the stale result', async () => {
      link = createNetnsLink('cut');
      const root = mkdtempSync(join(tmpdir(), 'verity-netcut-'));
      dirs.push(root);
      const server = await startServer({
        dataDir: join(root, 'server'),
        port: 0,
        leaseMs: 2000,
        host: link.hostAddress,
      });
      children.push(server.child);
      const admin = new VerityClient({ server: server.url, apiKey: server.adminKey });
      const client = new VerityClient({
        server: server.url,
        apiKey: (await admin.createKey('cut-client', 'publisher')).token,
      });
      await client.publishWorkflow({
        id: 'cut-sleep',
        steps: [
          {
            id: 'slow',
            step_type: 'inference',
            model_requirements: { name: 'builtin/sleep' },
            input_mappings: { ms: '4000', v: 'inputs.v' },
            retry_policy: { max_attempts: 3, initial_backoff_ms: 50 },
          },
        ],
        outputs: { v: 'steps.slow.output.v' },
      });

      // The worker behind the link, alone at first, so the job is its.
      const cutOff = await startWorker({
        name: 'behind-the-link',
        url: server.url,
        apiKey: (await admin.createKey('cut-ns', 'worker')).token,
        dataDir: join(root, 'ns-worker'),
        concurrency: 1,
        capabilities: ['builtin/sleep'],
        debug: true,
        wrap: link.wrap,
      });
      children.push(cutOff.child);
      const { executionId } = await client.execute('cut-sleep', { inputs: { v: 42 } });
      await until(
        async () => {
          const view = await client.status(executionId);
          return view.steps.find((s) => s.id === 'slow')?.status === 'running' ? true : undefined;
        },
        30_000,
        'the job to run behind the link',
      );

      link.down();
      const host = await startWorker({
        name: 'on-the-host',
        url: server.url,
        apiKey: (await admin.createKey('cut-host', 'worker')).token,
        dataDir: join(root, 'host-worker'),
        concurrency: 1,
        capabilities: ['builtin/sleep'],
      });
      children.push(host.child);
      const final = await until(
        async () => {
          const view = await client.status(executionId);
          return view.status === 'running' ? undefined : view;
        },
        60_000,
        'the execution to end',
      );
      expect(final).toMatchObject({ status: 'completed', result: { v: 42 } });

      // The link comes back: the cut-off worker's report, held up all this time, arrives and is refused.
      link.up();
      await until(
        () => Promise.resolve(/refused the report/.test(cutOff.child.stderr()) ? true : undefined),
        90_000,
        'the cut-off worker to hear its result refused',
      );
      expect(cutOff.child.stderr()).toMatch(/the server refused the report: (expired|stale_attempt|not_assigned)/);

      store = await openStore({ dataDir: join(root, 'server'), databaseUrl: undefined });
      const jobs = await store.read.listJobs(executionId);
      expect(jobs.map((j) => [j.attempt, j.status, j.workerId])).toEqual([
        [1, 'expired', cutOff.workerId],
        [2, 'completed', host.workerId],
      ]);
      const results = await store.read.getStepResults(executionId);
      expect(results.map((r) => [r.stepId, r.attempt, r.workerId])).toEqual([['slow', 2, host.workerId]]);
      expect((await store.read.getExecution(executionId))!.result).toEqual({ v: 42 });
    }, 240_000);
  },
);
