/**
 * Commits enough to start the checkpointer thread, closes the store, and only then prints `closed`: run as
 * its own process by sqlite-checkpointer.test.ts, since a process whose only pending work is that close is
 * what exits early if the thread does not hold it open while it stops.
 * Usage: node --import tsx sqlite-checkpointer.child.ts <file>
 */
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { execution, workflow } from './fixtures.js';

const [file] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: sqlite-checkpointer.child.ts <file>');
const store = await SqliteStore.open({ file });
const wf = workflow();
await store.transaction((tx) => tx.putWorkflow(wf));
for (let i = 0; i < 250; i++) await store.transaction((tx) => tx.insertExecution(execution(wf)));
if (!store.checkpointThread) throw new Error('the checkpointer thread did not start');
await store.close();
process.stdout.write('closed\n');
