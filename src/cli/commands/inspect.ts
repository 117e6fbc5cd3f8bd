import type { Command } from 'commander';
import { executionView } from '../../engine/view.js';
import { EXECUTION_STATUSES } from '../../store/records.js';
import type { ExecutionStatus } from '../../store/records.js';
import { openNode, withStoreOptions } from '../context.js';
import type { StoreFlags } from '../context.js';
import { CliError } from '../errors.js';
import { STEP_ICONS, colorize, formatDuration, statusColor, table } from '../format.js';
import { parseNonNegativeInt } from '../inputs.js';
import { printOutcome } from '../watch.js';

interface ListFlags extends StoreFlags {
  status?: string;
  workflow?: string;
  limit: string;
  json?: boolean;
}

export function registerInspect(program: Command): void {
  withStoreOptions(
    program
      .command('list')
      .description('list executions, newest first')
      .option('--status <status,...>', `only these statuses (${EXECUTION_STATUSES.join(', ')})`)
      .option('--workflow <id>', 'only executions of this workflow')
      .option('--limit <n>', 'at most this many', '50')
      .option('--json', 'print a JSON array'),
  ).action(async (flags: ListFlags) => {
    const statuses = flags.status?.split(',').map((s) => s.trim()) ?? [];
    for (const s of statuses) {
      if (!EXECUTION_STATUSES.includes(s as ExecutionStatus)) {
        throw new CliError('usage', `--status: unknown status "${s}"; use ${EXECUTION_STATUSES.join(', ')}`);
      }
    }
    const limit = parseNonNegativeInt('--limit', flags.limit);
    const node = await openNode(flags, 0, console.error);
    try {
      const executions = await node.store.read.listExecutions({
        ...(statuses.length > 0 && { status: statuses as ExecutionStatus[] }),
        ...(flags.workflow !== undefined && { workflowId: flags.workflow }),
        limit,
      });
      if (flags.json) {
        const rows = executions.map((e) => ({ executionId: e.id, workflowId: e.workflowId, status: e.status, createdAt: new Date(e.createdAt).toISOString() }));
        process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      if (executions.length === 0) {
        console.log('no executions');
        return;
      }
      const c = colorize(process.stdout);
      console.log(
        table([
          ['EXECUTION', 'WORKFLOW', 'STATUS', 'CREATED', 'TOOK'],
          ...executions.map((e) => [
            e.id,
            `${e.workflowId} v${e.workflowVersion}`,
            statusColor(c, e.status)(e.status),
            new Date(e.createdAt).toISOString().replace('T', ' ').slice(0, 19),
            e.finishedAt === undefined ? '' : formatDuration(e.finishedAt - e.startedAt),
          ]),
        ]),
      );
    } finally {
      await node.stop();
    }
  });

  withStoreOptions(
    program
      .command('status')
      .description("show an execution: its steps, attempts, times and result")
      .argument('<execution>', 'execution id (or a unique prefix)')
      .option('--json', 'print the same JSON object as `run --json`'),
  ).action(async (id: string, flags: StoreFlags & { json?: boolean }) => {
    const node = await openNode(flags, 0, console.error);
    try {
      const execution = (await node.store.read.getExecution(await node.engine.resolveExecutionId(id)))!;
      const steps = await node.store.read.listSteps(execution.id);
      const view = executionView(execution, steps);
      if (flags.json) {
        printOutcome(view, execution, { json: true });
        return;
      }
      const c = colorize(process.stdout);
      console.log(`${c.bold(`${view.workflowId} v${view.workflowVersion}`)}  execution ${view.executionId}  ${statusColor(c, view.status)(view.status)}`);
      const end = execution.finishedAt ?? Date.now();
      console.log(
        c.dim(
          `started ${view.createdAt}${view.finishedAt ? `, ended ${view.finishedAt}` : ''} (${formatDuration(end - execution.startedAt)}); spent ${view.spent}${view.budget > 0 ? ` of ${view.budget}` : ''} micro-units; workflow digest ${view.workflowDigest}`,
        ),
      );
      console.log(
        table(
          steps.map((s) => [
            `  ${statusColor(c, s.status)(STEP_ICONS[s.status])} ${s.stepId}`,
            statusColor(c, s.status)(s.status),
            s.attempts === 0 ? '' : `${s.attempts} attempt${s.attempts === 1 ? '' : 's'}`,
            s.startedAt === undefined ? '' : formatDuration((s.finishedAt ?? Date.now()) - s.startedAt),
            s.error ? c.red(`${s.error.code}: ${s.error.message}`) : s.skipReason ? c.dim(s.skipReason) : '',
          ]),
        ),
      );
      if (view.error) console.log(c.red(`error: ${view.error.code}: ${view.error.message}`));
      if (view.status === 'completed') console.log(`result:\n${JSON.stringify(view.result, null, 2)}`);
      process.exitCode = 0;
    } finally {
      await node.stop();
    }
  });

  withStoreOptions(
    program
      .command('history')
      .description("an execution's events: everything that happened to it, in order")
      .argument('<execution>', 'execution id (or a unique prefix)')
      .option('--json', 'print the events as a JSON array'),
  ).action(async (id: string, flags: StoreFlags & { json?: boolean }) => {
    const node = await openNode(flags, 0, console.error);
    try {
      const executionId = await node.engine.resolveExecutionId(id);
      const events = [];
      for (let after = 0; ; ) {
        const page = await node.store.read.listEvents(executionId, after, 1000);
        events.push(...page);
        if (page.length < 1000) break;
        after = page.at(-1)!.seq;
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify(events.map((e) => ({ ...e, at: new Date(e.at).toISOString() })), null, 2) + '\n');
        return;
      }
      const start = events[0]?.at ?? 0;
      console.log(
        table([
          ['SEQ', 'TIME', 'EVENT', 'STEP', 'ATTEMPT', 'BY', 'DETAILS'],
          ...events.map((e) => [
            String(e.seq),
            `+${formatDuration(e.at - start)}`,
            e.type,
            e.stepId ?? '',
            e.attempt === undefined ? '' : String(e.attempt),
            e.actor,
            e.data ? JSON.stringify(e.data) : '',
          ]),
        ]),
      );
    } finally {
      await node.stop();
    }
  });
}
