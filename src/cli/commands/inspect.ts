import type { Command } from 'commander';
import { EXECUTION_STATUSES } from '../../store/records.js';
import type { ExecutionStatus } from '../../store/records.js';
import { openBackend, withBackendOptions } from '../backends/open.js';
import type { BackendFlags } from '../backends/open.js';
import { CliError } from '../errors.js';
import { STEP_ICONS, colorize, formatDuration, statusColor, table } from '../format.js';
import { parseNonNegativeInt } from '../inputs.js';
import { printOutcome, took } from '../watch.js';

interface ListFlags extends BackendFlags {
  status?: string;
  workflow?: string;
  limit: string;
  json?: boolean;
}

const ms = (iso: string | undefined, otherwise: number): number => (iso === undefined ? otherwise : Date.parse(iso));

export function registerInspect(program: Command): void {
  withBackendOptions(
    program
      .command('list')
      .description('list executions, newest first (on a server: your own)')
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
    const backend = await openBackend(flags, 0);
    await backend.session(async () => {
      const executions = await backend.list({
        ...(statuses.length > 0 && { status: statuses as ExecutionStatus[] }),
        ...(flags.workflow !== undefined && { workflowId: flags.workflow }),
        limit,
      });
      if (flags.json) {
        process.stdout.write(JSON.stringify(executions, null, 2) + '\n');
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
            e.executionId,
            `${e.workflowId} v${e.workflowVersion}`,
            statusColor(c, e.status)(e.status),
            e.createdAt.replace('T', ' ').slice(0, 19),
            e.finishedAt === undefined ? '' : formatDuration(Date.parse(e.finishedAt) - Date.parse(e.createdAt)),
          ]),
        ]),
      );
    });
  });

  withBackendOptions(
    program
      .command('status')
      .description('show an execution: its steps, attempts, times and result')
      .argument('<execution>', 'execution id (or, locally, a unique prefix)')
      .option('--json', 'print the same JSON object as `run --json`'),
  ).action(async (id: string, flags: BackendFlags & { json?: boolean }) => {
    const backend = await openBackend(flags, 0);
    await backend.session(async () => {
      const view = await backend.status(await backend.resolveId(id));
      if (flags.json) {
        printOutcome(view, { json: true });
        return;
      }
      const c = colorize(process.stdout);
      const now = Date.now();
      console.log(
        `${c.bold(`${view.workflowId} v${view.workflowVersion}`)}  execution ${view.executionId}  ${statusColor(c, view.status)(view.status)}`,
      );
      console.log(
        c.dim(
          `started ${view.createdAt}${view.finishedAt ? `, ended ${view.finishedAt}` : ''} (${took(view)}); spent ${view.spent}${view.budget > 0 ? ` of ${view.budget}` : ''} micro-units; workflow digest ${view.workflowDigest}`,
        ),
      );
      console.log(
        table(
          view.steps.map((s) => [
            `  ${statusColor(c, s.status)(STEP_ICONS[s.status])} ${s.id}`,
            statusColor(c, s.status)(s.status),
            s.attempts === 0 ? '' : `${s.attempts} attempt${s.attempts === 1 ? '' : 's'}`,
            s.startedAt === undefined ? '' : formatDuration(ms(s.finishedAt, now) - Date.parse(s.startedAt)),
            s.error ? c.red(`${s.error.code}: ${s.error.message}`) : s.skipReason ? c.dim(s.skipReason) : '',
          ]),
        ),
      );
      if (view.error) console.log(c.red(`error: ${view.error.code}: ${view.error.message}`));
      if (view.zk) {
        const { zk } = view;
        const line = `zk proofs (${zk.circuit}): ${zk.status}, ${zk.batchesDone} of ${zk.batchesTotal} batches${zk.error ? `: ${zk.error.message}` : ''}`;
        console.log(zk.status === 'failed' ? c.red(line) : zk.status === 'completed' ? c.green(line) : line);
      }
      if (view.status === 'completed') console.log(`result:\n${JSON.stringify(view.result, null, 2)}`);
    });
  });

  withBackendOptions(
    program
      .command('history')
      .description("an execution's events: everything that happened to it, in order")
      .argument('<execution>', 'execution id (or, locally, a unique prefix)')
      .option('--json', 'print the events as a JSON array'),
  ).action(async (id: string, flags: BackendFlags & { json?: boolean }) => {
    const backend = await openBackend(flags, 0);
    await backend.session(async () => {
      const events = await backend.history(await backend.resolveId(id));
      if (flags.json) {
        process.stdout.write(JSON.stringify(events, null, 2) + '\n');
        return;
      }
      const start = events[0] === undefined ? 0 : Date.parse(events[0].at);
      console.log(
        table([
          ['SEQ', 'TIME', 'EVENT', 'STEP', 'ATTEMPT', 'BY', 'DETAILS'],
          ...events.map((e) => [
            String(e.seq),
            `+${formatDuration(Date.parse(e.at) - start)}`,
            e.type,
            e.stepId ?? '',
            e.attempt === undefined ? '' : String(e.attempt),
            e.actor,
            e.data ? JSON.stringify(e.data) : '',
          ]),
        ]),
      );
    });
  });
}
