import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadWorkflowFile } from '../../workflow/load.js';
import type { RunTarget } from '../backends/backend.js';
import { openBackend, withBackendOptions } from '../backends/open.js';
import type { BackendFlags } from '../backends/open.js';
import { CliError } from '../errors.js';
import { parseNonNegativeInt, readInputOption } from '../inputs.js';
import { watchToEnd } from '../watch.js';
import type { WatchFlags } from '../watch.js';

interface RunFlags extends BackendFlags, WatchFlags {
  input?: string;
  workers: string;
  budget?: string;
  idempotencyKey?: string;
  wait: boolean;
}

export function registerRun(program: Command): void {
  withBackendOptions(
    program
      .command('run')
      .description('run a workflow to the end, with live progress: here, or on a server with --server')
      .argument(
        '<workflow>',
        'workflow definition file (YAML or JSON); with --server, also a published workflow: ID (its latest version) or ID@VERSION',
      )
      .option('-i, --input <json>', 'the inputs: inline JSON, or @file (JSON or YAML)')
      .option('--json', 'print the outcome as one JSON object on stdout')
      .option('-q, --quiet', 'no progress output')
      .option('--workers <n>', 'job slots of the in-process worker (local runs)', '16')
      .option(
        '--models-config <file>',
        'hosted models the in-process worker serves: an OpenAI-compatible server (local runs; see examples/llm-summary), and the URLs builtin/http steps may call (docs/http-steps.md)',
      )
      .option('--budget <micro-units>', "override the workflow's max_cost_budget")
      .option('--idempotency-key <key>', 'the same key returns the same execution instead of starting another')
      .option('--no-wait', 'with --server: print the execution id and return; it runs on the server'),
  ).action(async (workflow: string, flags: RunFlags) => {
    const inputs = readInputOption(flags.input);
    const workers = flags.server ? 0 : parseNonNegativeInt('--workers', flags.workers);
    const budget = flags.budget === undefined ? undefined : parseNonNegativeInt('--budget', flags.budget);
    let target: RunTarget;
    if (existsSync(workflow) || !flags.server) {
      // Read and validate here first: a bad definition is reported with its lines, before anything is sent.
      target = { loaded: await loadWorkflowFile(workflow) };
    } else {
      const [, workflowId, version] = /^(.+?)(?:@(\d+))?$/.exec(workflow)!;
      target = {
        workflowId: workflowId!,
        ...(version !== undefined && { version: parseNonNegativeInt('version', version) }),
      };
    }
    if (!flags.server && !flags.wait)
      throw new CliError('usage', '--no-wait needs --server: a local run lives in this process');
    const backend = await openBackend(flags, workers);
    await backend.session(async () => {
      const execution = await backend.start(target, {
        inputs,
        ...(budget !== undefined && { budget }),
        ...(flags.idempotencyKey !== undefined && { idempotencyKey: flags.idempotencyKey }),
      });
      const title = `${execution.workflowId} v${execution.workflowVersion}`;
      if (!flags.wait) {
        if (flags.json) process.stdout.write(JSON.stringify(execution, null, 2) + '\n');
        else console.log(execution.executionId);
        return;
      }
      if (!flags.json && !flags.quiet)
        console.error(
          `execution ${execution.executionId} started (${title}${flags.server ? ` on ${backend.where}` : ''})`,
        );
      process.exitCode = await watchToEnd(backend, execution.executionId, title, flags);
    });
  });
}
