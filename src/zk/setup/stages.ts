import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { describeError } from '../../errors.js';
import { ZkError } from '../../attest/zk/errors.js';
import { exists } from './files.js';
import { formatSeconds } from './progress.js';
import type { LogLine } from './progress.js';
import type { StageRecord, StageRecords } from './state.js';
import type { StageName } from './transcript.js';

/** What a stage returns besides its output file. */
export type StageResult = Omit<StageRecord, 'seconds' | 'at'>;

export interface ChainStage {
  name: StageName;
  title: string;
  /** The file the stage writes (by temp name and rename): its existence is what "done" means. */
  output: string;
  run(): Promise<StageResult>;
}

/** Numbers, times and logs the stages of one setup, and remembers which ran and which were skipped. */
export class StageRunner {
  private index = 0;
  readonly ran: StageName[] = [];
  readonly skipped: StageName[] = [];

  constructor(
    private readonly total: number,
    private readonly log: LogLine,
    private readonly signal?: AbortSignal,
  ) {}

  /** The prefix a stage's lines carry: "[3/10] ". */
  get prefix(): string {
    return `[${this.index}/${this.total}] `;
  }

  skip(name: StageName, title: string, why: string): void {
    this.index++;
    this.skipped.push(name);
    this.log(`${this.prefix}${title}: skipped (${why})`);
  }

  async run(name: StageName, title: string, work: () => Promise<StageResult>): Promise<StageRecord> {
    if (this.signal?.aborted)
      throw new ZkError('setup_failed', 'setup interrupted: run it again to resume where it stopped', {
        cause: this.signal.reason,
      });
    this.index++;
    this.log(`${this.prefix}${title}`);
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started) / 1000;
    let result: StageResult;
    try {
      result = await work();
    } catch (error) {
      this.log(`${this.prefix}failed after ${formatSeconds(elapsed())}`);
      if (error instanceof ZkError) throw error;
      // snarkjs throws plain errors (and strings): say which stage, keep the original as the cause.
      throw new ZkError('setup_failed', `${title} failed: ${describeError(error)}`, {
        cause: error,
        context: { stage: name },
      });
    }
    const seconds = elapsed();
    this.ran.push(name);
    this.log(
      `${this.prefix}done in ${formatSeconds(seconds)}${result.contribution ? ` (contribution hash ${result.contribution.hash.slice(0, 16)}…)` : ''}`,
    );
    return { ...result, seconds, at: new Date().toISOString() };
  }

  /**
   * Runs a chain of stages, each reading the previous one's output. Resumes after the last stage whose
   * output and record both exist; everything after it is removed first and redone, so a file left by an
   * older run never passes for the product of a newer one. Returns whether any stage ran.
   */
  async chain(
    stages: readonly ChainStage[],
    records: StageRecords,
    save: () => Promise<void>,
    redoAll = false,
  ): Promise<boolean> {
    let done = -1;
    if (!redoAll) {
      for (let i = stages.length - 1; i >= 0; i--) {
        const stage = stages[i] as ChainStage;
        if (records[stage.name] && (await exists(stage.output))) {
          done = i;
          break;
        }
      }
    }
    // Earlier outputs may be gone (a finished setup removes them): the last one stands for them all.
    const reached = stages[done];
    for (const stage of stages.slice(0, done + 1))
      this.skip(stage.name, stage.title, `${basename((reached as ChainStage).output)} exists`);
    const todo = stages.slice(done + 1);
    for (const stage of todo) {
      delete records[stage.name];
      await rm(stage.output, { force: true });
    }
    for (const stage of todo) {
      records[stage.name] = await this.run(stage.name, stage.title, () => stage.run());
      await save();
    }
    return todo.length > 0;
  }
}
