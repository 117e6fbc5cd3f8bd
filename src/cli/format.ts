import type { ExecutionStatus, StepStatus } from '../store/records.js';

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return minutes < 60
    ? `${minutes}m${String(seconds).padStart(2, '0')}s`
    : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function shortId(id: string): string {
  return id.length > 13 ? `${id.slice(0, 13)}…` : id;
}

const useColor = (stream: NodeJS.WriteStream) => stream.isTTY && !process.env.NO_COLOR;

export function colorize(stream: NodeJS.WriteStream) {
  const wrap = (code: string) => (text: string) => (useColor(stream) ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { green: wrap('32'), red: wrap('31'), yellow: wrap('33'), cyan: wrap('36'), dim: wrap('2'), bold: wrap('1') };
}

export type Colors = ReturnType<typeof colorize>;

export function statusColor(colors: Colors, status: StepStatus | ExecutionStatus): (text: string) => string {
  switch (status) {
    case 'completed':
      return colors.green;
    case 'failed':
    case 'timed_out':
    case 'budget_exceeded':
      return colors.red;
    case 'cancelled':
    case 'skipped':
      return colors.yellow;
    case 'running':
    case 'queued':
      return colors.cyan;
    default:
      return colors.dim;
  }
}

export const STEP_ICONS: Record<StepStatus, string> = {
  pending: '·',
  ready: '◦',
  queued: '○',
  running: '▶',
  completed: '✓',
  skipped: '↷',
  failed: '✗',
  cancelled: '⊘',
};

/** Left-aligned columns: rows of cells, padded to the widest cell of each column. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : pad(cell, widths[i]!))).join('  '))
    .join('\n');
}

function visibleLength(text: string): number {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, '').length;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleLength(text)));
}
