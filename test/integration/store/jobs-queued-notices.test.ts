import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/open-store.js';
import { backendAvailable, createBackend } from '../../support/backends.js';
import { T0, job, seedOne, sleep, useBackend } from './fixtures.js';

/**
 * PostgreSQL tells other processes on the same database (and schema) when jobs are queued, so their idle
 * workers claim at once; a process is not told of its own jobs, and another schema's jobs are not news.
 */
describe.skipIf(!(await backendAvailable('postgres')))('notices of queued jobs (postgres)', () => {
  const h = useBackend('postgres', 'jobs-notices');

  it('tells the other store of a committed insert, with the earliest availableAt, and not the one that wrote', async () => {
    const here = await h.open();
    const there = await h.open();
    const heardHere: number[] = [];
    const heardThere: number[] = [];
    here.onJobsQueued!((at) => heardHere.push(at));
    there.onJobsQueued!((at) => heardThere.push(at));
    await sleep(300); // LISTEN is in place

    const exec = await seedOne(here);
    await here.transaction(async (tx) => {
      await tx.insertJob(job(exec, { status: 'queued', availableAt: T0 + 5_000 }));
      await tx.insertJob(job(exec, { status: 'queued', availableAt: T0 + 1_000 }));
    });
    await until(() => heardThere.length > 0);
    // Both inserts were one transaction: one notice per insert statement, identical ones folded at commit.
    expect(heardThere).toContain(T0 + 1_000);
    expect(heardHere).toEqual([]);

    // A rolled-back insert announces nothing.
    heardThere.length = 0;
    await here
      .transaction(async (tx) => {
        await tx.insertJob(job(exec, { status: 'queued', availableAt: T0 + 7 }));
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await sleep(300);
    expect(heardThere).toEqual([]);
  });

  it('hears nothing of another schema of the same database', async () => {
    const mine = await h.open();
    const heard: number[] = [];
    mine.onJobsQueued!((at) => heard.push(at));
    const elsewhere = await createBackend('postgres', 'jobs-notices-other');
    const theirs = await openStore({ dataDir: elsewhere.dataDir, databaseUrl: elsewhere.databaseUrl });
    try {
      const sameSchema = await h.open();
      await sleep(300);
      const exec = await seedOne(theirs);
      await theirs.transaction((tx) => tx.insertJob(job(exec, { status: 'queued' })));
      // A job in this schema, after the other one: once it is heard, the other would have been too.
      const ours = await seedOne(sameSchema);
      await sameSchema.transaction((tx) => tx.insertJob(job(ours, { status: 'queued', availableAt: T0 + 42 })));
      await until(() => heard.length > 0);
      expect(heard).toEqual([T0 + 42]);
    } finally {
      await theirs.close();
      await elsewhere.cleanup();
    }
  });
});

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('not heard in time');
    await sleep(20);
  }
}
