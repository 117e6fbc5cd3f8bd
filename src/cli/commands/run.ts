import type { Command } from 'commander';
import type { VerityNode } from '../../node/verity-node.js';
import { loadWorkflowFile } from '../../workflow/load.js';
import type { WorkflowDefinition } from '../../workflow/types.js';
import { openNode, withStoreOptions } from '../context.js';
import type { StoreFlags } from '../context.js';
import { CliError } from '../errors.js';
import { parseNonNegativeInt, readInputOption } from '../inputs.js';
import { interruptible } from '../signals.js';
import { watchToEnd } from '../watch.js';
import type { WatchFlags } from '../watch.js';

interface RunFlags extends StoreFlags, WatchFlags {
  input?: string;
  workers: string;
  budget?: string;
  idempotencyKey?: string;
}

export function registerRun(program: Command): void {
  withStoreOptions(
    program
      .command('run')
      .description('run a workflow to the end on this machine, with live progress')
      .argument('<file>', 'workflow definition (YAML or JSON)')
      .option('-i, --input <json>', 'the inputs: inline JSON, or @file (JSON or YAML)')
      .option('--json', 'print the outcome as one JSON object on stdout')
      .option('-q, --quiet', 'no progress output')
      .option('--workers <n>', 'job slots of the in-process worker', '16')
      .option('--budget <micro-units>', "override the workflow's max_cost_budget")
      .option('--idempotency-key <key>', 'the same key returns the same execution instead of starting another'),
  ).action(async (file: string, flags: RunFlags) => {
    const loaded = await loadWorkflowFile(file);
    const inputs = readInputOption(flags.input);
    const workers = parseNonNegativeInt('--workers', flags.workers);
    const budget = flags.budget === undefined ? undefined : parseNonNegativeInt('--budget', flags.budget);
    const node = await openNode(flags, workers, (line) => console.error(line));
    await interruptible(node, async () => {
      if (workers > 0) checkServable(node, loaded.definition);
      await node.start();
      const workflow = await node.engine.registerWorkflow(loaded.definition, loaded.digest);
      const execution = await node.engine.start({
        workflow,
        inputs,
        clientId: 'local',
        ...(flags.idempotencyKey !== undefined && { idempotencyKey: flags.idempotencyKey }),
        ...(budget !== undefined && { budget }),
      });
      if (!flags.json && !flags.quiet) console.error(`execution ${execution.id} started (${loaded.definition.id} v${loaded.definition.version})`);
      process.exitCode = await watchToEnd(node, execution, `${loaded.definition.id} v${loaded.definition.version}`, flags);
    });
  });
}

/** Fails early, with the step and model named, when no executor here could ever run a step. */
function checkServable(node: VerityNode, definition: WorkflowDefinition): void {
  const missing = definition.steps.filter((s) => !node.registry.canServe(s.step_type, s.model_requirements?.name));
  if (missing.length === 0) return;
  const { models } = node.registry.capabilities;
  const list = missing.map((s) => `${s.id} (${s.model_requirements ? `model ${s.model_requirements.name}` : s.step_type})`).join(', ');
  throw new CliError('usage', `no executor on this machine serves: ${list}; models here: ${models.join(', ')}`);
}
