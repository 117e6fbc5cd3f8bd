import { StoreError } from '../errors.js';
import type { SqlConnection } from './sql-store.js';

export interface Migration {
  version: number;
  name: string;
  statements: readonly string[];
}

/**
 * Applies the migrations a database lacks, each in its own transaction, in version order. The caller's
 * `transaction` must exclude concurrent migrators (SQLite's write lock, PostgreSQL's advisory lock), so
 * two processes starting at once on one database do not both migrate.
 */
export async function migrate(
  migrations: readonly Migration[],
  transaction: (fn: (conn: SqlConnection) => Promise<void>) => Promise<void>,
): Promise<number[]> {
  const applied: number[] = [];
  const latest = migrations.at(-1)?.version ?? 0;
  for (const migration of migrations) {
    await transaction(async (conn) => {
      await conn.run(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const rows = await conn.all('SELECT MAX(version) AS v FROM schema_migrations');
      const current = Number(rows[0]?.v ?? 0);
      if (current > latest) {
        throw new StoreError(
          'schema_too_new',
          `the database schema is at version ${current}, newer than this Verity knows (${latest}); upgrade Verity`,
        );
      }
      if (current >= migration.version) return;
      try {
        for (const statement of migration.statements) await conn.run(statement);
      } catch (error) {
        throw new StoreError(
          'migration_failed',
          `migration ${migration.version} (${migration.name}) failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      await conn.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        Date.now(),
      ]);
      applied.push(migration.version);
    });
  }
  return applied;
}
