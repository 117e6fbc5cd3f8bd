/**
 * What every system in `npm run bench:peers` runs, and how a child process measures it: the same 50-step
 * chain (step i depends on step i-1; each step is a no-op that passes its input on), started on the same
 * small JSON input, timed from the start of the workflow to its result. Imports nothing but Node, so that
 * the peers' scripts and Verity's share it.
 */
export const STEPS = 50;

export interface ChainInput {
  run: number;
  text: string;
}

export const inputFor = (run: number): ChainInput => ({ run, text: 'a small JSON input, passed on by every step' });

/** What the parent passes a child as its one argument (JSON). */
export interface ChildOptions {
  warmup: number;
  runs: number;
  /** Per system: a database URL, a data directory, a queue name… */
  [setting: string]: unknown;
}

/** What a child prints as its last line (JSON). */
export interface ChildResult {
  /** Wall time of each measured run divided by STEPS, in milliseconds. */
  per_step_ms: number[];
  /** The settings that matter for durability, as the child applied them. */
  settings: string;
}

/**
 * Runs the chain `warmup + runs` times, one run after the other, and returns the measured runs' time per
 * step. A run counts only if its result is the input it was given: a system that dropped the data on the
 * way would otherwise look fast.
 */
export async function measureChain(
  options: ChildOptions,
  once: (input: ChainInput) => Promise<unknown>,
): Promise<number[]> {
  const perStep: number[] = [];
  for (let run = 0; run < options.warmup + options.runs; run++) {
    const input = inputFor(run);
    const start = performance.now();
    const result = await once(input);
    const ms = performance.now() - start;
    if (!sameInput(result, input)) {
      throw new Error(`run ${run}: the chain returned ${JSON.stringify(result)}, not its input`);
    }
    if (run >= options.warmup) perStep.push(ms / STEPS);
  }
  return perStep;
}

function sameInput(result: unknown, input: ChainInput): boolean {
  if (typeof result !== 'object' || result === null) return false;
  const r = result as Partial<ChainInput>;
  return r.run === input.run && r.text === input.text && Object.keys(r).length === 2;
}

/**
 * A child's entry: reads its options from argv[2], runs, prints one JSON line, and exits (some clients keep
 * sockets or timers that would hold the process open after their own shutdown).
 */
export function childMain(run: (options: ChildOptions) => Promise<ChildResult>): void {
  const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;
  run(options).then(
    (result) => {
      process.stdout.write(`\n${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
