import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { T0, execution, workflow } from './fixtures.js';

/**
 * WAL checkpoints run on a thread of their own once a store has committed 200 transactions, so that no
 * commit of the step path pays for one; the writer keeps its own checkpoint only as a backstop.
 */
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function until<T>(probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the SQLite checkpointer thread', () => {
  it('starts after 200 commits, checkpoints the whole WAL beside the writer, and leaves the data intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-checkpointer-'));
    dirs.push(dir);
    const file = join(dir, 'verity.db');
    const store = await SqliteStore.open({ file });
    const wf = workflow();
    await store.transaction((tx) => tx.putWorkflow(wf));
    const ids: string[] = [];
    const commit = async (i: number) => {
      const record = execution(wf, { createdAt: T0 + i, inputs: { i, padding: 'x'.repeat(4000) } });
      ids.push(record.id);
      await store.transaction((tx) => tx.insertExecution(record));
    };
    for (let i = 0; i < 150; i++) await commit(i);
    expect(store.checkpointThread).toBeUndefined();
    for (let i = 150; i < 400; i++) await commit(i);
    const thread = store.checkpointThread;
    expect(thread).toBeDefined();

    // The thread checkpoints every frame while the writer goes on; nothing waits for it.
    const done = await until(() =>
      thread!.last && thread!.last.log > 0 && thread!.last.checkpointed === thread!.last.log ? thread!.last : undefined,
    );
    expect(done.checkpointed).toBeGreaterThan(0);
    // It keeps up while the writer goes on: checkpoints keep completing between commits.
    const before = thread!.last;
    for (let i = 400; i < 700; i++) await commit(i);
    await until(() => {
      const last = thread!.last!;
      return last !== before && last.log > 0 && last.checkpointed === last.log ? true : undefined;
    });

    await store.close();
    const reopened = new Database(file, { readonly: true });
    try {
      expect((reopened.prepare('SELECT COUNT(*) AS n FROM executions').get() as { n: number }).n).toBe(ids.length);
      expect(reopened.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      reopened.close();
    }
  });

  it('a store that commits little (a CLI command) starts no thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-checkpointer-'));
    dirs.push(dir);
    const store = await SqliteStore.open({ file: join(dir, 'verity.db') });
    await store.transaction((tx) => tx.putWorkflow(workflow()));
    expect(store.checkpointThread).toBeUndefined();
    await store.close();
  });

  it('close() waits for the thread in a process with nothing else to do (it does not exit halfway)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-checkpointer-'));
    dirs.push(dir);
    const child = fileURLToPath(new URL('./sqlite-checkpointer.child.ts', import.meta.url));
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', child, join(dir, 'verity.db')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out).toBe('closed\n');
  });
});
