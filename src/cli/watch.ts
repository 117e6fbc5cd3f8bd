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
export async function watchToEnd(
  backend: CliBackend,
  executionId: string,
  title: string,
  flags: WatchFlags,
): Promise<number> {
  let final = await backend.follow(executionId, chooseRenderer(title, flags));
  if (final.zk) final = await waitForProofs(backend, final, flags);
  printOutcome(final, flags);
  return final.status === 'completed' && final.zk?.status !== 'failed' ? 0 : 1;
}

/**
 * At verification level zk the proofs come after the result, made in the background by the node (this
 * process, for a local run: leaving early would stop them until the next start). Waits for them, showing
 * how many batches are proven.
 */
async function waitForProofs(backend: CliBackend, view: ExecutionView, flags: WatchFlags): Promise<ExecutionView> {
  let shown = -1;
  while (view.zk && (view.zk.status === 'pending' || view.zk.status === 'proving')) {
    if (!flags.quiet && !flags.json && view.zk.batchesDone !== shown) {
      shown = view.zk.batchesDone;
      console.error(`proving (${view.zk.circuit}): ${view.zk.batchesDone} of ${view.zk.batchesTotal} batches`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
    view = await backend.status(view.executionId);
  }
  return view;
}

function chooseRenderer(title: string, flags: WatchFlags): ProgressRenderer | undefined {
  if (flags.quiet) return undefined;
  if (process.stderr.isTTY) return new LiveProgress(process.stderr, title);
  // Plain progress lines are for logs; with --json a script is reading and wants stdout alone.
  return flags.json ? undefined : new PlainProgress(process.stderr);
}

/** How long an execution took (so far). */
export function took(view: ExecutionView): string {
  return formatDuration(
    (view.finishedAt === undefined ? Date.now() : Date.parse(view.finishedAt)) - Date.parse(view.createdAt),
  );
}

export function printOutcome(view: ExecutionView, flags: WatchFlags): void {
  if (flags.json) {
    process.stdout.write(JSON.stringify(view, null, 2) + '\n');
    return;
  }
  const c = colorize(process.stdout);
  console.log(
    `${statusColor(c, view.status)(view.status)}: ${view.workflowId} v${view.workflowVersion} execution ${view.executionId} in ${took(view)}`,
  );
  if (view.error) console.log(`error: ${view.error.code}: ${view.error.message}`);
  if (view.zk?.status === 'completed')
    console.log(
      `zk proofs: ${view.zk.batchesTotal} of ${view.zk.circuit} (\`verity receipt ${view.executionId} --zk-only\`)`,
    );
  if (view.zk?.status === 'failed') console.log(`zk proving failed: ${view.zk.error?.message ?? 'no reason recorded'}`);
  if (view.status === 'completed') console.log(JSON.stringify(view.result, null, 2));
  else console.log(c.dim(`see \`verity status ${view.executionId}\` and \`verity history ${view.executionId}\``));
}
