import type { Command } from 'commander';
import type { VerityNode } from '../../node/verity-node.js';
import type { ExecutionRecord } from '../../store/records.js';
import { openBackend, withBackendOptions } from '../backends/open.js';
import type { BackendFlags } from '../backends/open.js';
import { localRunOptions, openNode, withStoreOptions } from '../context.js';
import type { StoreFlags } from '../context.js';
import { formatDuration } from '../format.js';
import { parseNonNegativeInt } from '../inputs.js';
import { interruptible } from '../signals.js';
import { watchToEnd } from '../watch.js';
import type { WatchFlags } from '../watch.js';

export function registerControl(program: Command): void {
  withBackendOptions(
    program
      .command('cancel')
      .description('cancel a running execution; its running steps are stopped')
      .argument('<execution>', 'execution id (or, locally, a unique prefix)'),
  ).action(async (id: string, flags: BackendFlags) => {
    const backend = await openBackend(flags, 0);
    await backend.session(async () => {
      const execution = await backend.cancel(await backend.resolveId(id));
      console.log(`cancelled ${execution.executionId}`);
    });
  });

  withBackendOptions(
    program
      .command('retry')
      .description(
        'resume a failed, cancelled, timed-out or over-budget execution from the steps that did not complete',
      )
      .argument('<execution>', 'execution id (or, locally, a unique prefix)')
      .option('--budget <micro-units>', 'a new budget for the execution')
      .option('--no-wait', 'only re-queue it; a server (or `verity resume`) runs it')
      .option('--json', 'print the outcome as one JSON object on stdout')
      .option('-q, --quiet', 'no progress output')
      .option('--workers <n>', 'job slots of the in-process worker (local)', '16'),
  ).action(
    async (id: string, flags: BackendFlags & WatchFlags & { budget?: string; wait: boolean; workers: string }) => {
      const workers = flags.wait && !flags.server ? parseNonNegativeInt('--workers', flags.workers) : 0;
      const budget = flags.budget === undefined ? undefined : parseNonNegativeInt('--budget', flags.budget);
      const backend = await openBackend(flags, workers);
      await backend.session(async () => {
        const execution = await backend.retry(await backend.resolveId(id), budget === undefined ? {} : { budget });
        if (!flags.wait) {
          console.log(`retrying ${execution.executionId}`);
          return;
        }
        if (!flags.json && !flags.quiet) console.error(`execution ${execution.executionId} retried`);
        process.exitCode = await watchToEnd(
          backend,
          execution.executionId,
          `${execution.workflowId} v${execution.workflowVersion}`,
          flags,
        );
      });
    },
  );

  withStoreOptions(
    program
      .command('resume')
      .description('continue every unfinished execution in the local store, to the end')
      .option('--json', 'print a JSON array of the outcomes')
      .option('--workers <n>', 'job slots of the in-process worker', '16'),
  ).action(async (flags: StoreFlags & { json?: boolean; workers: string }) => {
    const workers = parseNonNegativeInt('--workers', flags.workers);
    const node = await openNode(flags, workers, console.error, localRunOptions(flags));
    await interruptible(node, async () => {
      await node.start();
      const unfinished = [];
      for (const execution of await node.unfinished()) {
        // Waiting for a step no worker here can serve would wait forever; say so and leave it for a server.
        const blocked = workers > 0 ? await unservableSteps(node, execution) : [];
        if (blocked.length === 0) unfinished.push(execution);
        else console.error(`skipping ${execution.id}: no executor here serves ${blocked.join(', ')}`);
      }
      if (unfinished.length === 0) {
        if (flags.json) process.stdout.write('[]\n');
        else console.log('nothing to resume');
        return;
      }
      if (!flags.json) console.error(`resuming ${unfinished.length} execution${unfinished.length === 1 ? '' : 's'}`);
      const outcomes = await Promise.all(
        unfinished.map(async (execution) => {
          const final = await node.waitFor(execution.id);
          if (!flags.json) {
            const took = formatDuration((final.finishedAt ?? Date.now()) - final.startedAt);
            console.log(
              `${final.status}: ${final.workflowId} v${final.workflowVersion} execution ${final.id} (${took})`,
            );
          }
          return { executionId: final.id, workflowId: final.workflowId, status: final.status };
        }),
      );
      if (flags.json) process.stdout.write(JSON.stringify(outcomes, null, 2) + '\n');
      process.exitCode = outcomes.every((o) => o.status === 'completed') ? 0 : 1;
    });
  });
}

async function unservableSteps(node: VerityNode, execution: ExecutionRecord): Promise<string[]> {
  const workflow = await node.store.read.getWorkflow(execution.workflowDigest);
  if (!workflow) return [];
  const open = new Set(
    (await node.store.read.listSteps(execution.id))
      .filter((s) => s.status !== 'completed' && s.status !== 'skipped')
      .map((s) => s.stepId),
  );
  return workflow.definition.steps
    .filter((s) => open.has(s.id) && !node.registry.canServe(s.step_type, s.model_requirements?.name))
    .map((s) => `${s.id} (${s.model_requirements ? `model ${s.model_requirements.name}` : s.step_type})`);
}
