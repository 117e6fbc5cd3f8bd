import { executionView } from '../engine/view.js';
import type { ExecutionView } from '../engine/view.js';
import type { VerityNode } from '../node/verity-node.js';
import type { ExecutionRecord } from '../store/records.js';
import { colorize, formatDuration, statusColor } from './format.js';
import { LiveProgress, PlainProgress, followExecution } from './progress.js';
import type { ProgressRenderer } from './progress.js';

export interface WatchFlags {
  json?: boolean;
  quiet?: boolean;
}

/**
 * Drives an execution to its end in this process, showing progress on stderr (live on a terminal, plain
 * lines otherwise), then prints the outcome on stdout: the JSON view with --json, else a summary and the
 * result. Returns the exit code: 0 completed, 1 otherwise.
 */
export async function watchToEnd(node: VerityNode, execution: ExecutionRecord, title: string, flags: WatchFlags): Promise<number> {
  const renderer = chooseRenderer(title, flags);
  const done = node.waitFor(execution.id);
  if (renderer) await followExecution(node.store, execution.id, renderer, done);
  const final = await done;
  const view = executionView(final, await node.store.read.listSteps(final.id));
  printOutcome(view, final, flags);
  return final.status === 'completed' ? 0 : 1;
}

function chooseRenderer(title: string, flags: WatchFlags): ProgressRenderer | undefined {
  if (flags.quiet) return undefined;
  if (process.stderr.isTTY) return new LiveProgress(process.stderr, title);
  // Plain progress lines are for logs; with --json a script is reading and wants stdout alone.
  return flags.json ? undefined : new PlainProgress(process.stderr);
}

export function printOutcome(view: ExecutionView, execution: ExecutionRecord, flags: WatchFlags): void {
  if (flags.json) {
    process.stdout.write(JSON.stringify(view, null, 2) + '\n');
    return;
  }
  const c = colorize(process.stdout);
  const took = formatDuration((execution.finishedAt ?? Date.now()) - execution.startedAt);
  console.log(`${statusColor(c, view.status)(view.status)}: ${view.workflowId} v${view.workflowVersion} execution ${view.executionId} in ${took}`);
  if (view.error) console.log(`error: ${view.error.code}: ${view.error.message}`);
  if (view.status === 'completed') console.log(JSON.stringify(view.result, null, 2));
  else console.log(c.dim(`see \`verity status ${view.executionId}\` and \`verity history ${view.executionId}\``));
}
