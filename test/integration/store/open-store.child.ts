/**
 * Opens (and so migrates) a store, then closes it: run as a separate process by migrations.test.ts, so that
 * several processes migrate one fresh database at the same time, as replicas starting together do.
 * Usage: node --import tsx open-store.child.ts <dataDir> [databaseUrl]
 */
import { openStore } from '../../../src/store/open-store.js';

const [dataDir, databaseUrl] = process.argv.slice(2);
if (dataDir === undefined) throw new Error('usage: open-store.child.ts <dataDir> [databaseUrl]');
const store = await openStore({ dataDir, databaseUrl: databaseUrl || undefined });
await store.close();
