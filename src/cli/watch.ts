import type { ExecutionView } from '../engine/view.js';
import type { CliBackend } from './backends/backend.js';
import { colorize, formatDuration, statusColor } from './format.js';
import { LiveProgress, PlainProgress } from './progress.js';
import type { ProgressRenderer } from './progress.js';

export interface WatchFlags {
  json?: boolean;
  quiet?: boolean;
}

/**
 * Follows an execution to its end, showing progress on stderr (live on a terminal, plain lines otherwise),
 * then prints the outcome on stdout: the JSON view with --json, else a summary and the result. Returns the
 * exit code: 0 completed, 1 otherwise.
 */
export async function watchToEnd(backend: CliBackend, executionId: string, title: string, flags: WatchFlags): Promise<number> {
  const final = await backend.follow(executionId, chooseRenderer(title, flags));
  printOutcome(final, flags);
  return final.status === 'completed' ? 0 : 1;
}

function chooseRenderer(title: string, flags: WatchFlags): ProgressRenderer | undefined {
  if (flags.quiet) return undefined;
  if (process.stderr.isTTY) return new LiveProgress(process.stderr, title);
  // Plain progress lines are for logs; with --json a script is reading and wants stdout alone.
  return flags.json ? undefined : new PlainProgress(process.stderr);
}

/** How long an execution took (so far). */
export function took(view: ExecutionView): string {
  return formatDuration((view.finishedAt === undefined ? Date.now() : Date.parse(view.finishedAt)) - Date.parse(view.createdAt));
}

export function printOutcome(view: ExecutionView, flags: WatchFlags): void {
  if (flags.json) {
    process.stdout.write(JSON.stringify(view, null, 2) + '\n');
    return;
  }
  const c = colorize(process.stdout);
  console.log(`${statusColor(c, view.status)(view.status)}: ${view.workflowId} v${view.workflowVersion} execution ${view.executionId} in ${took(view)}`);
  if (view.error) console.log(`error: ${view.error.code}: ${view.error.message}`);
  if (view.status === 'completed') console.log(JSON.stringify(view.result, null, 2));
  else console.log(c.dim(`see \`verity status ${view.executionId}\` and \`verity history ${view.executionId}\``));
}
