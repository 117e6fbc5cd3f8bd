import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/*
 * SQLite copies the WAL back into the database (a checkpoint) at the commit that takes the WAL past
 * `wal_autocheckpoint` pages, and that commit pays for the copy and its fsync: measured on a 50-step chain,
 * 2% of commits took 10–60 ms and together cost about 0.3 ms a step, a fifth of it. Here a thread with a
 * connection of its own runs PASSIVE checkpoints (they wait for no one and no one waits for them) every
 * INTERVAL_MS, and the writer's automatic checkpoint stays as a backstop at BACKSTOP_PAGES, for a thread that
 * falls behind or dies. Durability is unchanged: what a commit makes durable does not depend on which
 * connection checkpoints. The thread is plain CommonJS passed as source, so it runs the same from src/ under
 * vitest and from dist/.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 0 });
const timer = setInterval(() => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ log: result.log, checkpointed: result.checkpointed });
  } catch {}
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

const INTERVAL_MS = 200;
/** The writer's own checkpoint once a checkpointer runs: 10,000 pages of 4 KiB, about 40 MB of WAL. */
export const BACKSTOP_PAGES = 10_000;

/** What one checkpoint found: frames in the WAL, and how many of them are now in the database. */
export interface CheckpointResult {
  log: number;
  checkpointed: number;
}

/** PASSIVE checkpoints of one database file on a thread of their own. */
export class SqliteCheckpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  /** The last checkpoint's result, for diagnostics. */
  last: CheckpointResult | undefined;

  /** `onFailure` runs if the thread dies (the caller then restores the writer's own checkpoints). */
  constructor(file: string, onFailure: (error: Error) => void) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { file, driver, intervalMs: INTERVAL_MS } });
    // It must never keep the process alive, nor take it down.
    this.worker.unref();
    this.worker.on('error', onFailure);
    this.worker.on('message', (result: CheckpointResult) => (this.last = result));
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Stops the thread after its current checkpoint, and waits for it to close its connection. */
  async close(): Promise<void> {
    // Held while it closes: an unreferenced thread would let a process with nothing else to do exit before
    // the thread has closed its connection (and before close() returns).
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
