import type { EventView, ExecutionView, StepSummary } from '../engine/view.js';
import { STEP_ICONS, colorize, formatDuration, shortId, statusColor } from './format.js';

/**
 * What a renderer is shown: the execution as the API shows it and the events since the previous snapshot.
 * A local run and a run on a server produce the same snapshots, so they look the same.
 */
export interface Snapshot {
  execution: ExecutionView;
  /** Events since the previous snapshot. */
  events: EventView[];
  now: number;
}

export interface ProgressRenderer {
  render(snapshot: Snapshot): void;
  finish(snapshot: Snapshot): void;
}

const ms = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

/** A live view that redraws in place: one line per step, or a summary when the terminal is too short. */
export class LiveProgress implements ProgressRenderer {
  private drawn = 0;
  private frame = 0;
  private readonly colors;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly title: string,
  ) {
    this.colors = colorize(stream);
  }

  render(snapshot: Snapshot): void {
    this.frame++;
    const lines = this.lines(snapshot);
    const columns = this.stream.columns || 100;
    let out = this.drawn > 0 ? `\x1b[${this.drawn}A\r\x1b[J` : '';
    out += lines.map((line) => truncate(line, columns)).join('\n') + '\n';
    this.stream.write(out);
    this.drawn = lines.length;
  }

  finish(snapshot: Snapshot): void {
    this.render(snapshot);
  }

  private lines({ execution, now }: Snapshot): string[] {
    const c = this.colors;
    const { steps } = execution;
    const elapsed = formatDuration((ms(execution.finishedAt) ?? now) - ms(execution.createdAt)!);
    const header = `${c.bold(this.title)} ${c.dim(shortId(execution.executionId))}  ${statusColor(c, execution.status)(execution.status)}  ${elapsed}`;
    const rows = Math.max(6, (this.stream.rows || 40) - 3);
    const width = Math.min(32, Math.max(...steps.map((s) => s.id.length)));
    const line = (s: StepSummary) => {
      const spin = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏'[this.frame % 10]!;
      const icon = s.status === 'running' ? spin : STEP_ICONS[s.status];
      const color = statusColor(c, s.status);
      const attempt = s.attempts > 1 ? `attempt ${s.attempts}` : '';
      const time =
        s.startedAt !== undefined
          ? formatDuration((ms(s.finishedAt) ?? now) - ms(s.startedAt)!)
          : (s.status === 'queued' || s.status === 'ready') && s.queuedAt !== undefined
            ? `waiting ${formatDuration(now - ms(s.queuedAt)!)}`
            : '';
      const why =
        s.status === 'failed' && s.error
          ? c.red(` ${s.error.code}: ${s.error.message}`)
          : s.status === 'skipped' && s.skipReason
            ? c.dim(` ${s.skipReason}`)
            : '';
      return `  ${color(icon)} ${s.id.padEnd(width)}  ${color(s.status.padEnd(9))} ${attempt.padEnd(10)} ${c.dim(time)}${why}`;
    };
    if (steps.length + 1 <= rows) return [header, ...steps.map(line)];
    // Too many steps for the terminal: counts, then the steps worth watching.
    const counts = new Map<string, number>();
    for (const s of steps) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
    const summary = `  ${[...counts].map(([status, n]) => `${statusColor(c, status as StepSummary['status'])(status)} ${n}`).join('  ')}  of ${steps.length} steps`;
    const interesting = steps.filter(
      (s) => s.status === 'running' || s.status === 'failed' || (s.status === 'queued' && s.attempts > 1),
    );
    const room = rows - 2;
    const shown = interesting.slice(0, room).map(line);
    if (interesting.length > room) shown.push(c.dim(`  … ${interesting.length - room} more`));
    return [header, summary, ...shown];
  }
}

/** Plain lines for logs and pipes: one line per thing that happened, from the events history. */
export class PlainProgress implements ProgressRenderer {
  constructor(private readonly stream: NodeJS.WritableStream) {}

  render({ execution, events }: Snapshot): void {
    for (const event of events) {
      const line = describeEvent(event);
      if (line !== undefined)
        this.stream.write(
          `[${formatDuration(Date.parse(event.at) - Date.parse(execution.createdAt)).padStart(7)}] ${line}\n`,
        );
    }
  }

  finish(snapshot: Snapshot): void {
    this.render(snapshot);
  }
}

function describeEvent(event: EventView): string | undefined {
  const step = event.stepId ?? '';
  const data = event.data ?? {};
  const error = data.error as { code?: string; message?: string } | undefined;
  switch (event.type) {
    case 'job.started':
      return `${step}: running (attempt ${event.attempt ?? 1})`;
    case 'step.completed':
      return `${step}: completed`;
    case 'step.skipped':
      return `${step}: skipped (${String(data.reason)})`;
    case 'step.retry_scheduled':
      return `${step}: attempt ${(event.attempt ?? 2) - 1} failed (${error?.code}: ${error?.message}); retrying in ${formatDuration(Number(data.delayMs))}`;
    case 'step.failed':
      return `${step}: failed (${error?.code}: ${error?.message})`;
    case 'job.expired':
      return `${step}: attempt ${event.attempt} expired (${error?.code})`;
    case 'execution.retried':
      return `execution retried from ${String(data.from)}`;
    default:
      if (event.type.startsWith('execution.') && event.type !== 'execution.started') {
        return `execution ${event.type.slice('execution.'.length)}${error ? ` (${error.code}: ${error.message})` : ''}`;
      }
      return undefined;
  }
}

function truncate(line: string, columns: number): string {
  // Count visible characters only; cut before the terminal wraps, which would break the redraw.
  let visible = 0;
  let out = '';
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (visible >= columns - 1) break;
    out += line[i];
    visible++;
  }
  return out + (visible >= columns - 1 ? '\x1b[0m' : '');
}
