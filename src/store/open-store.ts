import { join } from 'node:path';
import { StoreError } from './errors.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface StoreOptions {
  /** Where the embedded database and other local state live. Default: ./.verity */
  dataDir: string;
  /** `postgres://…` to use PostgreSQL instead of the embedded SQLite database. */
  databaseUrl?: string | undefined;
  sqliteSynchronous?: 'normal' | 'full';
}

/** Opens (and migrates) the store the options name: PostgreSQL when a URL is given, else SQLite in dataDir. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const url = options.databaseUrl?.trim();
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) {
      throw new StoreError(
        'invalid_url',
        `unsupported database URL scheme in "${url.split(':')[0]}:"; use postgres://…`,
      );
    }
    return PostgresStore.open({ url });
  }
  return SqliteStore.open({
    file: join(options.dataDir, 'verity.db'),
    ...(options.sqliteSynchronous && { synchronous: options.sqliteSynchronous }),
  });
}
